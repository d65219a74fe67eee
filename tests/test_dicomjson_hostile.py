"""``from_json`` on hostile input: a Dataset or a JSONModelError, nothing else, and no I/O.

Before JSONModelError, 2,936 of 20,000 mutated real objects (tools/fuzz_json.py, seed 1) gave
RecursionError (a sequence nested 900 deep), TypeError (an unhashable "vr", a PN group that
is a number), IndexError (an empty Value array) or AttributeError (a Specific Character Set
of numbers); the regressions below are one of each, and the property tests keep the promise
for objects no one listed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rawdicom
from rawdicom import DicomError, JSONModelError, Limits
from rawdicom.dicomjson import from_json, loads

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fuzz_json  # noqa: E402

NO_IO = fuzz_json.NoIO()  # one audit hook for the module: hooks cannot be removed


def _outcome(obj: Any) -> str:
    return fuzz_json.outcome(obj, NO_IO)


def test_the_error_is_one_exported_class_both_value_error_and_dicom_error():
    assert rawdicom.JSONModelError is JSONModelError
    assert issubclass(JSONModelError, ValueError) and issubclass(JSONModelError, DicomError)
    with pytest.raises(JSONModelError, match=r"\(0010,0010\)") as caught:
        from_json({"00100010": {"vr": "XX"}})
    assert caught.value.offset is None


@pytest.mark.parametrize("obj, message", [
    ({"00100010": {"vr": ["PN"]}}, "'vr'"),                                 # was TypeError
    ({"00100010": {"vr": "PN", "Value": [{"Alphabetic": 5}]}}, "PN"),       # was TypeError
    ({"00100010": {"vr": "PN", "Value": []}}, None),                        # was IndexError
    ({"00080060": {"vr": "CS", "Value": []}}, None),                        # was IndexError
    ({"00080005": {"vr": "CS", "Value": [7]}}, "strings expected"),         # was AttributeError
    ({"00280009": {"vr": "AT", "Value": ["1FFFFFFFF"]}}, "tag"),            # was struct.error
    ({"00280010": {"vr": "US", "Value": [70000]}}, "US"),                   # out of range
    ({"00280010": {"vr": "US", "Value": [True]}}, "integers"),
    ({"00100010": {"vr": "PN", "Value": "Doe"}}, "array"),
    ({"7FE00010": {"vr": "OB", "InlineBinary": 12}}, "base64 string"),
    ({"FFFEE000": {"vr": "SQ"}}, "item or delimiter"),
    ({"00100010": {"vr": "PN"}, "0010001a": {"vr": "LO"}, "0010001A": {"vr": "LO"}},
     "given twice"),
    ({"00100010": {"vr": "LO", "Value": [[[[[[[["x"]]]]]]]]}}, "strings expected"),
])
def test_each_malformed_object_is_a_json_model_error(obj: dict, message: str | None):
    try:
        ds = from_json(obj)
    except JSONModelError as exc:
        assert message is None or message in str(exc), str(exc)
        assert len(str(exc)) < 600  # the message is bounded, whatever the value holds
    else:
        assert message is None, f"{obj} was read: {ds}"


def _nested(depth: int) -> dict:
    obj: dict = {}
    for _ in range(depth):
        obj = {"00081115": {"vr": "SQ", "Value": [obj]}}
    return obj


def test_nesting_is_bounded_by_limits():
    from_json(_nested(128))  # the default Limits.max_depth
    for depth in (129, 900, 100_000):  # 900 was a RecursionError
        with pytest.raises(JSONModelError, match="Limits.max_depth"):
            from_json(_nested(depth))
    with pytest.raises(JSONModelError, match="deeper than 3"):
        from_json(_nested(4), limits=Limits(max_depth=3))
    assert len(from_json(_nested(4), limits=Limits(max_depth=4))) == 1


def test_loads_refuses_text_that_is_not_json_or_too_deep():
    with pytest.raises(JSONModelError, match="not JSON"):
        loads("{'00100010': 1}")
    with pytest.raises(JSONModelError, match="too deep"):
        loads("[" * 200_000)


def test_bulk_data_uris_are_never_fetched_by_from_json(tmp_path: Path):
    target = tmp_path / "secret.raw"
    target.write_bytes(b"\0" * 8)
    for uri in (target.as_uri(), str(target), "http://127.0.0.1:9/bulk"):
        obj = {"7FE00010": {"vr": "OB", "BulkDataURI": uri}}
        assert _outcome(obj) == "JSONModelError"
    # The hook sees I/O: a loader that opens the file is counted as such.
    NO_IO.seen.clear()
    NO_IO.active = True
    try:
        from_json({"7FE00010": {"vr": "OB", "BulkDataURI": str(target)}},
                  bulk_data=lambda uri: Path(uri).read_bytes())
    finally:
        NO_IO.active = False
    assert NO_IO.seen == [f"open {target}"]


def test_mutated_real_objects_give_a_dataset_or_json_model_error_and_do_no_io():
    """The fuzzer's mutations of real files' JSON (tools/fuzz_json.py), a CI-sized run."""
    objects = fuzz_json.corpus()
    outcomes: dict[str, int] = {}
    for index in range(1500):
        name = _outcome(fuzz_json.mutant(objects, 7, index))
        outcomes[name] = outcomes.get(name, 0) + 1
    assert set(outcomes) <= {"ok", "JSONModelError"}, outcomes
    assert outcomes.get("ok", 0) > 20 and outcomes["JSONModelError"] > 500, outcomes


# -- properties ------------------------------------------------------------------------------
_VRS = sorted(fuzz_json._VRS) + ["xx"]
_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
            | st.sampled_from(["NaN", "Infinity", "00100010", "AAAA", "1.5", "-0", "\\"]))
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=30)
_TAGS = st.sampled_from(["00080005", "00100010", "00280010", "00280009", "7FE00010",
                         "00081115", "00200032", "FFFEE000", "00100000", "0010001a"]) | st.text(
    alphabet="0123456789abcdefABCDEF", min_size=7, max_size=9)


@st.composite
def _attribute(draw: st.DrawFn, depth: int = 0) -> dict:
    attribute: dict[str, Any] = {"vr": draw(st.sampled_from(_VRS))}
    kind = draw(st.sampled_from(("Value", "InlineBinary", "BulkDataURI", "items", None)))
    if kind == "items" and depth < 3:
        attribute["vr"] = "SQ"
        attribute["Value"] = draw(st.lists(_dataset(depth + 1), max_size=2))
    elif kind is not None:
        attribute[kind] = draw(_JSON)
    return attribute


def _dataset(depth: int = 0) -> st.SearchStrategy:
    return st.dictionaries(_TAGS, _attribute(depth), max_size=5)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_dataset())
def test_any_dicom_shaped_object_gives_a_dataset_or_json_model_error(obj: dict):
    assert _outcome(obj) in ("ok", "JSONModelError")


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_any_json_value_gives_a_dataset_or_json_model_error(obj: Any):
    assert _outcome(obj) in ("ok", "JSONModelError")
