"""The committed tables are exactly what tools/gen_dictionary.py makes from ../shared/standard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared/standard beside the checkout; RAWDICOM_STANDARD for a checkout elsewhere (a git worktree).
STANDARD = Path(os.environ.get("RAWDICOM_STANDARD", REPO.parent / "shared" / "standard"))
GENERATOR = REPO / "tools" / "gen_dictionary.py"
TABLES = ("elements.tsv", "uids.tsv", "transfer_syntaxes.tsv", "private.tsv", "GDCM-Copyright.txt")

pytestmark = pytest.mark.skipif(not STANDARD.is_dir(), reason=f"standard sources not found at {STANDARD}")

# Every element of PS3.6 2013 whose entry the standard changed by 2024b, by what changed.
# The DocBook-only tables must agree with the committed ones on every other 2013 element.
CHANGED_SINCE_2013 = {
    # URL/URI elements moved from UT/ST to the UR VR (CP-1366); View Orientation Modifier became a
    # code sequence; Component Type Code Sequence was mis-typed CS in 2013; the three item tags'
    # "See Note" now points at "See Note 2".
    "vr": {"00081190", "00287FE0", "0040E010", "006862F0", "0074100A", "00760034",
           "FFFEE000", "FFFEE00D", "FFFEE0DD"},
    # VM corrections (DICONDE ST 1-n -> 1, IQI and segment algorithm 1 -> 1-n, Frame Type 4 -> 4-5, ...).
    "vm": {"00089007", "00140023", "00140024", "00140025", "00140028", "00140042", "00140044",
           "00140045", "001440A0", "001440A1", "001440A2", "00189323", "00620009", "006862F0",
           "00800010", "00800011"},
    # Keyword renamed with the element (006862F0) or fixed in case (ThreatDetectionAlgorithmandVersion).
    "keyword": {"006862F0", "40101029"},
    # Names: 2013 text glued words where a line-break hint stood ("TimeRange"), editorial fixes.
    "name": {"00081163", "0008225C", "00181020", "00281104", "006862F0", "00741246", "52009230"},
    # Retired since 2013, or a 2013 RET mark later withdrawn (2100,0140; 2130,00A0; 300A,0088 ...).
    "retired": {"00082229", "00101000", "00101090", "00189324", "00380004", "00400300", "00400301",
                "0040030E", "00404005", "00404007", "00404020", "0040A136", "00480200", "00480201",
                "00480202", "00660023", "00660024", "00660025", "00660029", "21000140", "213000A0",
                "213000C0", "30040010", "30040012", "30060044", "30060045", "30060049", "30060085",
                "30060088", "3008002B", "300A000B", "300A0082", "300A0088", "300A0089", "300A008A",
                "300A008D", "300A008E", "300A008F"},
}
COLUMNS = ("vr", "vm", "keyword", "name", "retired")


def generate(out: Path, *extra: str) -> None:
    subprocess.run([sys.executable, str(GENERATOR), "--standard", str(STANDARD), "--out", str(out), *extra],
                   check=True, capture_output=True)


def rows(path: Path) -> dict[str, list[str]]:
    return {line.split("\t")[0]: line.split("\t")[1:] for line in path.read_text(encoding="utf-8").splitlines()[2:]}


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    generate(tmp_path)
    for name in TABLES:
        assert (tmp_path / name).read_bytes() == (REPO / "dictionaries" / name).read_bytes(), name


def test_docbook_alone_agrees_except_for_listed_changes(tmp_path: Path) -> None:
    generate(tmp_path, "--docbook-only")
    old, new = rows(tmp_path / "elements.tsv"), rows(REPO / "dictionaries" / "elements.tsv")
    assert len(old) > 3700
    assert old.keys() <= new.keys(), "an element of 2013 vanished from the newer edition"
    changed: dict[str, set[str]] = {column: set() for column in COLUMNS}
    for tag, values in old.items():
        for column, before, after in zip(COLUMNS, values, new[tag]):
            if before != after:
                changed[column].add(tag)
    assert changed == CHANGED_SINCE_2013


def test_docbook_alone_uid_registry_is_the_committed_one_minus_the_supplement(tmp_path: Path) -> None:
    generate(tmp_path, "--docbook-only")
    supplement = {line.split("\t")[0] for line in
                  (REPO / "tools" / "sources" / "uids_since_2013.tsv").read_text(encoding="utf-8").splitlines()
                  if line.startswith("1.")}
    old, new = rows(tmp_path / "uids.tsv"), rows(REPO / "dictionaries" / "uids.tsv")
    assert {u: v for u, v in new.items() if u not in supplement} == old
    assert supplement <= new.keys()


def test_generator_strips_line_break_hints(tmp_path: Path) -> None:
    generate(tmp_path)
    for name in TABLES:
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "\u200b" not in text and "\u00ad" not in text and "\r" not in text


def test_private_dictionary_accounts_for_every_gdcm_entry(tmp_path: Path) -> None:
    """Every <entry> of privatedicts.xml is in private.tsv or counted, by reason, in its header."""
    import re

    source = (STANDARD / "gdcm" / "privatedicts.xml").read_text(encoding="utf-8")
    header = (REPO / "dictionaries" / "private.tsv").read_text(encoding="utf-8").splitlines()[0]
    used = int(re.search(r"; (\d+) entries, ", header)[1])
    unused = sum(int(n) for n in re.findall(r"[(;] ?(\d+) [a-z]", header.split(" not used ")[1]))
    assert used == len((REPO / "dictionaries" / "private.tsv").read_text(encoding="utf-8").splitlines()) - 2
    assert used + unused == source.count("<entry")
    assert "commit 2cd05d13222b175e791b5ae3c08feeabcc1ed1f0" in header and "sha256 " in header
