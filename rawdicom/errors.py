"""The errors rawdicom raises when the bytes of a file are wrong.

Every failure caused by a file's content is a :class:`DicomError`, so a caller
that parses untrusted input needs exactly one ``except`` clause.  Messages
name the tag and the byte offset where the problem was found, in the form

    (7FE0,0010) at offset 0x1A4: length 4294967280 runs past the end of the data (812 bytes)

Errors that are *not* caused by a file (a wrong argument, a missing optional
package) use the ordinary Python exceptions (``TypeError``, ``KeyError``,
``ImportError``) so they are never confused with bad input.
"""

from __future__ import annotations

__all__ = [
    "DicomError",
    "NotDicomError",
    "NotRegularFileError",
    "TruncatedError",
    "MalformedElementError",
    "LimitExceededError",
    "UnsupportedTransferSyntaxError",
    "ValueDecodeError",
    "PixelDataError",
    "JSONModelError",
    "DicomWarning",
    "format_tag",
]


def format_tag(tag: int) -> str:
    """``0x7FE00010`` -> ``"(7FE0,0010)"``, the way the standard writes tags."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


class DicomError(Exception):
    """Base of every error caused by the bytes of a DICOM file.

    ``offset`` is the byte offset (in the decoded stream: for a deflated file,
    the offset in the inflated dataset) and ``tag`` the element being read,
    each ``None`` when not applicable.

    ``partial`` is what was read before the defect, so that a caller can
    still use the header of a damaged file: for an error raised by
    :func:`rawdicom.read`, the Dataset read so far (its ``file_meta``,
    ``transfer_syntax`` and ``preamble`` as far as they were read), ``None``
    where nothing was read (data that is not DICOM at all); for an error
    raised later, when a sequence is parsed on first use, the dataset that
    holds the sequence.  Errors raised while decoding a value or pixels carry
    ``None``.
    """

    def __init__(self, message: str, *, offset: int | None = None, tag: int | None = None,
                 partial: object = None) -> None:
        self.reason = message
        self.offset = offset
        self.tag = tag
        self.partial = partial
        where = []
        if tag is not None:
            where.append(format_tag(tag))
        if offset is not None:
            where.append(f"at offset 0x{offset:X}")
        prefix = " ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class NotDicomError(DicomError):
    """The data is not DICOM at all (a PNG, a text file, an empty file)."""


class NotRegularFileError(NotDicomError):
    """The path names a FIFO, a socket or a device, not a file: it is never read (a FIFO
    would block the reader forever, ``/dev/zero`` never end)."""


class TruncatedError(DicomError):
    """The data ends before a header or a value that it announces."""


class MalformedElementError(DicomError):
    """An element header, item or delimiter that the standard does not allow."""


class LimitExceededError(DicomError):
    """A configured safety bound was reached (nesting depth, inflated size, ...)."""


class UnsupportedTransferSyntaxError(DicomError):
    """The transfer syntax cannot be read or decoded by rawdicom."""


class ValueDecodeError(DicomError):
    """An element's value bytes cannot be decoded for its VR (strict mode)."""


class PixelDataError(DicomError):
    """Pixel data that is missing, inconsistent with its attributes, or undecodable."""


class JSONModelError(DicomError, ValueError):
    """A DICOM JSON object (PS3.18 Annex F) that ``from_json`` cannot make a Dataset of.

    A DicomError because it is the same kind of failure as a bad file: untrusted data
    describing a dataset is wrong, and a caller (the command line, a job over many inputs)
    that catches DicomError for bad input catches this too, with one clause. A ValueError
    because the object is a Python value handed to a function, and ``from_json`` has always
    raised ValueError for a malformed one. ``offset`` is None (JSON has no byte offsets);
    the message names the attribute by its path of tags and items.
    """


class DicomWarning(UserWarning):
    """A lenient reading: the data breaks a rule but was read anyway."""
