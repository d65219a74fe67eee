"""Knowledge of vendors' private data that is not the standard's.

Scanners keep some of what a volume needs only in private elements whose
values are vendor formats of their own: Siemens' CSA header
(:mod:`rawdicom.vendor.siemens`) and the protocol text inside it
(:mod:`rawdicom.vendor.ascconv`).  These parsers need the standard library
only and are bounded like the reader: bad bytes give a
:class:`rawdicom.DicomError`, never another exception.
"""
