"""A dishonest compressor cannot pass: each channel by which pixels could reach the decoder outside the counted bytes
(memory left by fit, a bytes subclass, a server on the loopback), a lossless level that is not, and processes or
threads left behind. The network and process checks run under every containment a machine may allow (namespaces,
a seccomp filter, an audit hook alone). A real run decodes from bitstreams and declared state only."""
import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from conftest import processes_with, run_cli, synthetic_images, write_config

from storagebench.compressors import containment, validation
from storagebench.compressors.state import pack_state
from storagebench.compressors.validation import Limits, validate

CHEATS = Path(__file__).parent / "fixtures" / "bad_compressors.py"
LIMITS = Limits(call_seconds=20.0, memory_mb=2048)
DECODES_ALONE = "decodes from the bytes and declared state alone"
CONTAINED = "runs contained (encode process)"


@pytest.fixture(params=["namespaces", "seccomp", "hook"])
def contained(request, monkeypatch):
    """Each containment a machine may allow: namespaces (and the seccomp filter where it loads); the seccomp filter
    alone; only the audit hook and clean-up (the weakest)."""
    found = containment.isolation()
    if request.param != "namespaces":
        weaker = containment.Isolation((), request.param == "seccomp", f"{request.param} only, forced by the test")
        monkeypatch.setattr(containment, "isolation", lambda: weaker)
        monkeypatch.setattr(validation, "isolation", lambda: weaker)
    if (request.param == "namespaces" and not found.prefix) or (request.param == "seccomp" and not found.seccomp):
        pytest.skip(f"this machine cannot do {request.param}: {found.description}")
    return request.param


def images():
    return list(synthetic_images(3, seed=4)[0])


def check(name, params=None):
    return validate(f"{CHEATS}:{name}", params or {}, images(), ["lossless", 1.0], LIMITS,
                    fit_images=np.stack(images()))


def failed(report):
    return [(c.name, c.detail) for c in report.checks if not c.ok]


@pytest.mark.parametrize("name, check_name, needle", [
    ("Memorises", DECODES_ALONE, "raised AttributeError"),
    ("BytesSubclass", "encode returns exactly bytes", ".Carrier; a bitstream must be exactly bytes"),
    ("LossyLossless", "lossless level reproduces the pixels", "level named 'lossless' changed"),
])
def test_each_cheat_is_rejected_with_its_reason(name, check_name, needle):
    report = check(name)
    assert not report.passed
    ((found, detail),) = failed(report)
    assert found == check_name and needle in detail, report.format()


COURIER_MARK = "PORT = 47391"  # in the command line of every courier process


def test_pixels_sent_over_the_loopback_do_not_reach_the_decoder(contained):
    report = check("LoopbackCourier")
    assert not report.passed
    ((found, detail),) = failed(report)
    # namespaces: no loopback to carry them; seccomp: no socket at all; the hook alone: the courier process is
    # killed with the encoder, before the decoder asks it
    assert found == (DECODES_ALONE if contained == "hook" else CONTAINED), report.format()
    assert "CalledProcessError" in detail, report.format()
    assert not processes_with(COURIER_MARK)


def test_the_loopback_courier_works_outside_the_sandbox():
    """The channel is real: two plain processes on this machine pass an image through it."""
    image = images()[0]
    code = (f"import io, sys, numpy as np; sys.path.insert(0, {str(CHEATS.parent)!r}); "
            f"import bad_compressors as c; codec = c.LoopbackCourier(c.NoParams())")
    try:
        key = subprocess.run([sys.executable, "-c", f"{code}; image = np.load(io.BytesIO(sys.stdin.buffer.read())); "
                                                    f"sys.stdout.write(codec.encode(image, 1.0).hex())"],
                             input=_npy(image), capture_output=True, check=True, timeout=60).stdout
        decoded = subprocess.run([sys.executable, "-c", f"{code}; np.save(sys.stdout.buffer, codec.decode("
                                                        f"bytes.fromhex({key.decode()!r}), 1.0))"],
                                 capture_output=True, check=True, timeout=60).stdout
        assert len(bytes.fromhex(key.decode())) == 4
        assert np.array_equal(np.load(__import__("io").BytesIO(decoded)), image)
    finally:
        for pid in processes_with(COURIER_MARK, settle=0):
            subprocess.run(["kill", "-9", str(pid)])


def _npy(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_a_declared_pool_passes_but_its_bytes_are_measured():
    report = check("DeclaresPool")
    assert report.passed, report.format()
    pool = np.stack(images()).nbytes
    assert all(size >= pool for size in report.decoder_bytes.values()), report.decoder_bytes
    assert report.checks[-1].name == "declared state measured" and f"{report.decoder_bytes['1']:,} bytes" in \
        report.checks[-1].detail


@pytest.mark.parametrize("own_session", [False, True])
def test_processes_a_codec_starts_end_with_validation(contained, own_session):
    tag = f"{4000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    report = check("LeavesChild", {"tag": tag, "own_session": own_session})
    assert report.passed, report.format()
    assert not processes_with(f"sleep {tag}")


def test_threads_a_codec_leaves_do_not_hold_validation(contained):
    report = check("LeavesThread")
    assert report.passed, report.format()
    assert report.seconds < 60  # the threads sleep for hours


def run_with(tmp_path, cli_env, name):
    config = write_config(tmp_path / "cheat.toml", n="[40, 80]", train_levels='["lossless", 1]')
    config.write_text(config.read_text().replace('name = "jpegxl"\neffort = 3', f'name = "{CHEATS}:{name}"')
                      .replace('test_levels = ["lossless", 8]', 'test_levels = ["lossless"]'))
    return run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path)


@pytest.mark.parametrize("name, needle", [
    ("KeyedForgets", "keyedforgets: decoding items 0..79 in a contained process failed: it raised AttributeError"),
    ("LossyLossless", "its 'lossless' level changed the pixels of 80 of 80 train images"),
    ("BytesSubclass", "a bitstream must be exactly bytes"),
])
def test_a_real_run_decodes_only_from_bitstreams_and_declared_state(tmp_path, cli_env, name, needle):
    result = run_with(tmp_path, cli_env, name)
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr.strip().splitlines()[-1] and "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "results.sqlite").exists() or not sqlite3.connect(
        tmp_path / "out" / "results.sqlite").execute("SELECT COUNT(*) FROM cells").fetchone()[0]


def test_declared_state_decodes_in_a_real_run_and_its_bytes_are_recorded(tmp_path, cli_env, fashion_dir):
    from storagebench.tasks import DATASETS
    from storagebench.tasks.subsets import stratified_order

    result = run_with(tmp_path, cli_env, "Keyed")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        recorded = {level: size for level, size in db.execute("SELECT train_level, decoder_bytes FROM cells")}
    train = DATASETS.create("fashion-mnist", {"path": str(fashion_dir)}, "x").load().train
    pool = np.sort(stratified_order(train.labels, 0)[:80])  # the images fit() learned from
    key = int(train.images[pool].astype(np.int64).sum() % 251) + 1
    assert recorded == {"lossless": len(pack_state({"key": key})), "1": len(pack_state({"key": key}))}
    assert json.loads(sqlite3.connect(tmp_path / "out" / "results.sqlite").execute(
        "SELECT value FROM meta WHERE key = 'compressor'").fetchone()[0]) == {"name": "keyed", "version": "1"}


def test_a_codec_that_cheats_only_outside_validation_cannot_decode_in_a_run(tmp_path, cli_env):
    """Honest when watched, it passes validation; in the run (one worker: encoding in storagebench's own process)
    it keeps pixels in a module global. A run decodes a codec that is not a built-in in contained processes too."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("watched_fixture", CHEATS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    image = images()[0]
    stream = module.BehavesWhenWatched(module.NoParams()).encode(image, 1.0)
    fresh = module.BehavesWhenWatched(module.NoParams())  # a fresh instance in the same process would be fooled
    assert len(stream) == 4 and np.array_equal(fresh.decode(stream, 1.0), image)
    config = write_config(tmp_path / "tiny.toml", n="[40]")
    result = run_cli(["submit", f"{CHEATS}:BehavesWhenWatched", "--config", str(config), "--levels", "lossless",
                      "--test-levels", "lossless", "--workers", "1", "--out", "out"], cli_env, tmp_path)
    assert "validation of" in result.stdout and ": passed" in result.stdout, result.stdout
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert "behaveswhenwatched: decoding items 0..39 in a contained process failed: it raised KeyError" in message
    assert "Traceback" not in result.stderr
