"""Decoding in a child process: a crash, hang or memory blow-up there is a PixelDataError here."""

from __future__ import annotations

import faulthandler
import os
import signal
import time

import pytest

np = pytest.importorskip("numpy")

import rawdicom  # noqa: E402
from rawdicom.cli import example_path  # noqa: E402
from rawdicom.pixels.isolated import pixel_array_isolated, run_isolated  # noqa: E402


def _crash() -> None:
    # A crash on purpose: the child inherits pytest's faulthandler, which would print
    # "Fatal Python error: Segmentation fault" and a stack to the terminal (past pytest's
    # capture, on the file descriptor it saved), so that a passing suite looked like a crash.
    faulthandler.disable()
    os.kill(os.getpid(), signal.SIGSEGV)


def _hang() -> None:
    time.sleep(30)


def _allocate() -> bytes:
    return bytes(1 << 30)


def test_same_array_as_in_process():
    expected = rawdicom.pixel_array(rawdicom.read(example_path()))
    assert np.array_equal(pixel_array_isolated(example_path()), expected)
    with open(example_path(), "rb") as f:
        assert np.array_equal(pixel_array_isolated(f.read(), frame=None), expected)


def test_dicom_errors_come_back_as_they_are():
    with pytest.raises(rawdicom.NotDicomError):
        pixel_array_isolated(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)


def test_a_crash_in_the_child_is_a_pixel_data_error():
    with pytest.raises(rawdicom.PixelDataError, match="crashed"):
        run_isolated(_crash, (), timeout=30, max_memory=None)


def test_a_hang_in_the_child_is_stopped():
    start = time.monotonic()
    with pytest.raises(rawdicom.PixelDataError, match="longer than"):
        run_isolated(_hang, (), timeout=1, max_memory=None)
    assert time.monotonic() - start < 10


def test_memory_is_capped_in_the_child():
    with pytest.raises(rawdicom.PixelDataError, match="more than"):
        run_isolated(_allocate, (), timeout=30, max_memory=512 << 20)
