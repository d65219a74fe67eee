"""Byte builders for Siemens CSA headers (CSA1 and CSA2) and the datasets that carry them.

Laid out as real scanners write them (see rawdicom/vendor/siemens.py): an
element's value items as NUL-terminated text, each item's four int32 words
``[length, length, 77, length]`` (CSA1: the first word plus the first
element's item count), empty padding items ``[0, 0, 205, 0]`` up to six.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from rawdicom import Dataset

CSA2_MARK = b"SV10\x04\x03\x02\x01"


@dataclass
class Spec:
    """One CSA element to write; ``None`` fields take what a scanner would write."""

    name: str | bytes
    vr: str
    values: list[str | bytes] = field(default_factory=list)
    vm: int | None = None
    n_items: int | None = None
    syngodt: int = 0


def element(spec: Spec, *, layout: str = "CSA2", first_n_items: int = 0) -> bytes:
    """The 84-byte header of one element and its items."""
    values = [v.encode("latin-1") + b"\0" if isinstance(v, str) else v for v in spec.values]
    n_items = spec.n_items if spec.n_items is not None else max(6, len(values))
    vm = spec.vm if spec.vm is not None else max(1, len(values))
    name = spec.name.encode("ascii") if isinstance(spec.name, str) else spec.name
    out = bytearray(struct.pack("<64si4s3i", name.ljust(64, b"\0")[:64], vm,
                                spec.vr.encode("ascii"), spec.syngodt, n_items,
                                77 if values else 205))
    for number in range(n_items):
        data = values[number] if number < len(values) else b""
        first = len(data) + (first_n_items if layout == "CSA1" else 0)
        out += struct.pack("<4i", first, len(data), 77 if data else 205, len(data))
        out += data + b"\0" * (-len(data) % 4)
    return bytes(out)


def csa(specs: list[Spec], *, layout: str = "CSA2", n_tags: int | None = None) -> bytes:
    """A whole CSA header holding ``specs`` in order."""
    first = 0
    if specs:
        first = specs[0].n_items if specs[0].n_items is not None else max(6, len(specs[0].values))
    body = b"".join(element(s, layout=layout, first_n_items=first) for s in specs)
    head = struct.pack("<2I", len(specs) if n_tags is None else n_tags, 77)
    return (CSA2_MARK if layout == "CSA2" else b"") + head + body


def typical_image(layout: str = "CSA2") -> bytes:
    """An image header like a diffusion mosaic's: the fields the volume code reads."""
    return csa([
        Spec("EchoLinePosition", "IS", ["64      "]),
        Spec("ICE_Dims", "LO", ["X_1_1_1_2_1_1_48_1_1_1_1_201"]),
        Spec("B_value", "IS", ["1000"]),
        Spec("AcquisitionMatrixText", "SH", ["128p*128"]),
        Spec("NumberOfImagesInMosaic", "US", ["48"]),
        Spec("DiffusionGradientDirection", "FD", ["0.99997449", "0.00505012", "-0.00505012"]),
        Spec("SliceNormalVector", "FD", ["0.00000000", "0.00523632", "0.99998629"]),
        Spec("ImageGroup", "US", []),                       # declared, no value
        Spec("SarWholeBody", "DS", ["2.0", "0.26", ""], vm=3),  # empty item ends the values
        Spec("MosaicRefAcqTimes", "FD", ["6490.0", "6350.0", "6212.5"], vm=0, n_items=3),
        Spec("ImageType", "CS", ["ORIGINAL\\PRIMARY\\DIFFUSION\\NONE"]),
    ], layout=layout)


def protocol_text(lines: list[str]) -> str:
    """A MrPhoenixProtocol value: XProtocol text around an ASCCONV section."""
    return ('<XProtocol> \n{\n  <Name> "PhoenixMetaProtocol" \n}\n'
            "### ASCCONV BEGIN object=MrProtDataImpl@MrProtocolData version=41340006 ###\n"
            + "\n".join(lines) + "\n### ASCCONV END ###\n")


def typical_series(layout: str = "CSA2") -> bytes:
    """A series header with a protocol whose ASCCONV describes 3 transverse slices."""
    protocol = protocol_text([
        "ulVersion                                = 0x14b44b6",
        'tProtocolName                            = ""ep2d_diff""',
        "sSliceArray.lSize                        = 3",
        "sSliceArray.asSlice[0].sPosition.dSag    = -2.83333333",
        "sSliceArray.asSlice[0].sPosition.dTra    = -75.0976409",
        "sSliceArray.asSlice[0].dThickness        = 2.5",
        "sSliceArray.ucImageNumbTra               = 0x1",
    ])
    return csa([Spec("UsedPatientWeight", "IS", ["88"]),
                Spec("MrPhoenixProtocol", "UN", [protocol]),
                Spec("CoilString", "LO", ["T:HEA;HEP"])], layout=layout)


def siemens_dataset(image: bytes | None = None, series: bytes | None = None, *,
                    block: int = 0x10, creator: str = "SIEMENS CSA HEADER",
                    other_creator: str | None = None) -> Dataset:
    """A minimal MR dataset with the CSA headers under ``creator`` in block ``block``.

    ``other_creator``, when given, reserves block 0x10 first (and the CSA
    block must then be another one), as files with several creators in
    group 0029 do.
    """
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.Manufacturer = "SIEMENS"
    ds.Modality = "MR"
    if other_creator is not None:
        ds.set(0x00290010, other_creator, "LO")
        ds.set(0x00291010, b"not a CSA header", "OB")
    ds.set(0x00290000 | block, creator, "LO")
    if image is not None:
        ds.set(0x00290000 | block << 8 | 0x10, image, "OB")
    if series is not None:
        ds.set(0x00290000 | block << 8 | 0x20, series, "OB")
    return ds
