"""Butteraugli distances from libjxl: the Debian ``libjxl0.7`` library through ctypes, else its
``butteraugli_main`` program (Debian ``libjxl-devtools``). Images are uint8 sRGB; gray is replicated to RGB (the
library aborts the process on one channel); the intensity target is 80 nits, libjxl's default viewing condition.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from storagebench.errors import StorageBenchError

INTENSITY_TARGET = 80.0
LIBRARY_NAMES = ("libjxl.so.0.7", "libjxl.so.0.7.0")
PROGRAM = "butteraugli_main"
JXL_TYPE_UINT8 = 2
JXL_NATIVE_ENDIAN = 0
MISSING = ("Butteraugli needs libjxl 0.7's library or its butteraugli_main program: "
           "sudo apt-get install libjxl0.7 libjxl-devtools (the set-up commands do this when run as root)")


class _PixelFormat(ctypes.Structure):
    _fields_ = [("num_channels", ctypes.c_uint32), ("data_type", ctypes.c_int), ("endianness", ctypes.c_int),
                ("align", ctypes.c_size_t)]


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        raise ValueError(f"Butteraugli compares uint8 images, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"Butteraugli compares gray or RGB images, got shape {image.shape}")
    return np.ascontiguousarray(image)


class LibraryButteraugli:
    """``JxlButteraugliCompute`` of libjxl 0.7 through ctypes (about 3 ms for a 28×28 pair)."""

    def __init__(self, path: str):
        lib = ctypes.CDLL(path)
        lib.JxlButteraugliApiCreate.restype = ctypes.c_void_p
        lib.JxlButteraugliApiCreate.argtypes = [ctypes.c_void_p]
        lib.JxlButteraugliApiSetIntensityTarget.argtypes = [ctypes.c_void_p, ctypes.c_float]
        lib.JxlButteraugliCompute.restype = ctypes.c_void_p
        lib.JxlButteraugliCompute.argtypes = [
            ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(_PixelFormat), ctypes.c_void_p,
            ctypes.c_size_t, ctypes.POINTER(_PixelFormat), ctypes.c_void_p, ctypes.c_size_t]
        lib.JxlButteraugliResultGetMaxDistance.restype = ctypes.c_float
        lib.JxlButteraugliResultGetMaxDistance.argtypes = [ctypes.c_void_p]
        lib.JxlButteraugliResultDestroy.argtypes = [ctypes.c_void_p]
        self.lib, self.source = lib, path
        self.api = lib.JxlButteraugliApiCreate(None)
        lib.JxlButteraugliApiSetIntensityTarget(self.api, INTENSITY_TARGET)
        self.format = _PixelFormat(3, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0)

    def distance(self, reference: np.ndarray, distorted: np.ndarray) -> float:
        a, b = _rgb(reference), _rgb(distorted)
        if a.shape != b.shape:
            raise ValueError(f"Butteraugli needs images of one shape, got {a.shape} and {b.shape}")
        result = self.lib.JxlButteraugliCompute(self.api, a.shape[1], a.shape[0], ctypes.byref(self.format),
                                                a.ctypes.data, a.nbytes, ctypes.byref(self.format), b.ctypes.data,
                                                b.nbytes)
        if not result:
            raise StorageBenchError(f"{self.source}: JxlButteraugliCompute failed on {a.shape} images")
        try:
            return float(self.lib.JxlButteraugliResultGetMaxDistance(result))
        finally:
            self.lib.JxlButteraugliResultDestroy(result)


class ProgramButteraugli:
    """``butteraugli_main reference.png distorted.png``: the same metric, a process per pair (slower)."""

    def __init__(self, path: str):
        self.source = path

    def distance(self, reference: np.ndarray, distorted: np.ndarray) -> float:
        import imagecodecs

        with tempfile.TemporaryDirectory() as tmp:
            paths = [Path(tmp) / "reference.png", Path(tmp) / "distorted.png"]
            for path, image in zip(paths, (reference, distorted)):
                path.write_bytes(imagecodecs.png_encode(_rgb(image)))
            result = subprocess.run([self.source, *map(str, paths), "--intensity_target", f"{INTENSITY_TARGET:g}"],
                                    capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise StorageBenchError(f"{self.source} failed: {result.stderr.strip()[-300:]}")
        return float(result.stdout.split()[0])


def _library_path() -> str | None:
    for name in LIBRARY_NAMES:
        try:
            ctypes.CDLL(name)
            return name
        except OSError:
            continue
    return None


@functools.cache
def butteraugli(prefer: str = "library") -> LibraryButteraugli | ProgramButteraugli:
    """The library binding, or the program when the library is missing (or ``prefer="program"``)."""
    library, program = _library_path(), shutil.which(PROGRAM)
    if prefer == "library" and library:
        return LibraryButteraugli(library)
    if program:
        return ProgramButteraugli(program)
    if library:
        return LibraryButteraugli(library)
    raise StorageBenchError(MISSING)


def butteraugli_distance(reference: np.ndarray, distorted: np.ndarray) -> float:
    """The max-norm Butteraugli distance of ``distorted`` from ``reference`` (1.0 ≈ just noticeable)."""
    return butteraugli().distance(reference, distorted)
