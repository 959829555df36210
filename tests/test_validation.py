"""Compressor validation: every built-in passes; each bad fixture is rejected with its own reason."""
from pathlib import Path

import pytest
from conftest import synthetic_images

from storagebench.compressors import COMPRESSORS
from storagebench.compressors.validation import Limits, validate

BAD = Path(__file__).parent / "fixtures" / "bad_compressors.py"
LIMITS = Limits(call_seconds=3.0, memory_mb=2048)


def images():
    return list(synthetic_images(3, seed=4)[0])


def check(name):
    return validate(f"{BAD}:{name}", {}, images(), ["lossless", 1.0], LIMITS)


def test_honest_fixture_passes():
    report = check("Raw")
    assert report.passed, report.format()
    assert [c.name for c in report.checks] == [
        "runs contained (encode process)", "encode returns exactly bytes", "round trip keeps shape and dtype",
        "lossless level reproduces the pixels", "encoding is deterministic",
        "decodes from the bytes and declared state alone", "fit and encoding are deterministic across processes",
        "declared state measured"]
    assert report.decoder_bytes == {"lossless": 0, "1": 0}


@pytest.mark.parametrize("name, check_name, needles", [
    ("GlobalState", "decodes from the bytes and declared state alone", ["raised KeyError",
                                                                        "must not need state left by encode"]),
    ("FileState", "decodes from the bytes and declared state alone", ["raised FileNotFoundError"]),
    ("Hangs", "runs contained (encode process)", ["encode of image 0 at level 'lossless' did not return within 3 s"]),
    ("ChangesShape", "round trip keeps shape and dtype", ["(28, 28) decoded to uint8 (27, 28)"]),
    ("Nondeterministic", "encoding is deterministic", ["different bytes when encoded twice"]),
    ("Crashes", "runs contained (encode process)", ["crashed (killed by SIGSEGV) in decode of image 0"]),
    ("Hoards", "runs contained (encode process)", ["ran out of memory (limit 2048 MiB) in encode of image 0"]),
])
def test_bad_compressors_are_rejected_with_their_reason(name, check_name, needles):
    report = check(name)
    assert not report.passed
    failed = [c for c in report.checks if not c.ok]
    assert [c.name for c in failed] == [check_name], report.format()
    for needle in needles:
        assert needle in failed[0].detail, report.format()


@pytest.mark.parametrize("name", ["jpeg", "webp", "avif", "png", "downscale", "jpegxl", "jpegxl-butteraugli", "randomized"])
def test_builtin_classic_codecs_pass(name):
    cls = COMPRESSORS.get(name)
    report = validate(name, {}, images(), list(cls.default_levels), LIMITS)
    assert report.passed, report.format()
