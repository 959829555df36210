"""Learned codecs (CompressAI, trained on the benchmark's own images): real bitstreams, decoded back for training."""
import hashlib
import io
import json
import sqlite3

import numpy as np
import pytest
import torch
from conftest import run_cli, synthetic_images, write_config

from storagebench.benchmarks.harness.store import StoredSet
from storagebench.compressors import COMPRESSORS
from storagebench.compressors.decoding import decoder_for
from storagebench.compressors.learned import HEADER
from storagebench.compressors.validation import Limits, validate
from storagebench.tasks.subsets import stratified_order

TINY = {"N": 16, "M": 24, "steps": 40, "batch_size": 8}


def learned_config(tmp_path, name, extra=""):
    config = write_config(tmp_path / "learned.toml", n="[30, 90]", train_levels='["lossless", 3]')
    text = config.read_text().replace('name = "jpegxl"\neffort = 3', f'name = "{name}"\nN = 16\nM = 24\nsteps = 40\n'
                                      f'batch_size = 8{extra}').replace('test_levels = ["lossless", 8]',
                                                                        'test_levels = ["lossless", 3]')
    config.write_text(text)
    return config


def test_stored_bytes_are_real_bitstreams_and_decode_to_the_trained_pixels(tmp_path, cli_env, fashion_dir):
    config = learned_config(tmp_path, "bmshj2018-factorized")
    result = run_cli(["run", str(config), "--out", "out", "--workers", "2"], cli_env, tmp_path)
    assert result.returncode == 0, result.stderr
    checkpoints = list((tmp_path / "cache" / "store" / "codecs").glob("*.pt"))
    assert len(checkpoints) == 1  # one level besides lossless
    codec = COMPRESSORS.create("bmshj2018-factorized", TINY, "x")  # the encoder, as fit() leaves it
    codec.checkpoints = {"3": {"path": str(checkpoints[0]),
                               "sha256": hashlib.sha256(checkpoints[0].read_bytes()).hexdigest()}}
    decoder, sizes = decoder_for(codec, [3.0])
    from storagebench.tasks import DATASETS
    train = DATASETS.create("fashion-mnist", {"path": str(fashion_dir)}, "x").load().train
    entries = [StoredSet(p.parent, json.loads(p.read_text()))
               for p in (tmp_path / "cache" / "store").glob("*/manifest.json")]
    (pool,) = [e for e in entries if e.manifest["split"] == "train" and e.manifest["level"] == 3.0]
    streams = pool.bitstreams()
    assert sum(map(len, streams)) == pool.bitstreams_path.stat().st_size
    model = codec._model(3.0)
    for i in (0, 5):  # each stored item is a header plus exactly the strings CompressAI's compress() returns
        image = train.images[pool.dataset_index[i]]
        strings = model.compress(codec._to_tensor(image))["strings"]
        assert len(streams[i]) == HEADER.size + len(strings[0][0]) and streams[i] == codec.encode(image, 3.0)
    decoded = np.stack([decoder.decode(s, 3.0) for s in streams])  # from the synthesis side alone
    assert np.array_equal(decoded, pool.decode(decoder, workers=1))
    assert np.array_equal(decoded[:5], np.stack([codec.decode(s, 3.0) for s in streams[:5]]))  # as the full model
    assert "g_a.0.weight" not in torch.load(io.BytesIO(codec.fitted_state(3.0)["weights"]), weights_only=True)
    assert 0 < sizes["3"] < checkpoints[0].stat().st_size
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        cells = db.execute("SELECT n, train_sha256, decoder_bytes FROM cells WHERE train_level = '3'").fetchall()
    for n, recorded, decoder_bytes in cells:
        positions = np.searchsorted(pool.dataset_index, stratified_order(train.labels, 0)[:n])
        digest = hashlib.sha256(np.ascontiguousarray(decoded[positions]).data)
        digest.update(np.ascontiguousarray(train.labels[stratified_order(train.labels, 0)[:n]], dtype=np.int64).data)
        assert digest.hexdigest() == recorded
        assert decoder_bytes == sizes["3"]  # measured by the harness: the serialized declared state


def test_decoder_bytes_can_be_counted_in_storage(tmp_path, cli_env):
    config = learned_config(tmp_path, "bmshj2018-hyperprior", "\ncount_decoder_bytes = true")
    result = run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        rows = db.execute("SELECT train_level, n, train_bytes_total, train_bytes_per_image, decoder_bytes "
                          "FROM cells").fetchall()
    for level, n, total, per_image, decoder in rows:
        assert (decoder > 0) == (level == "3") and per_image == total / n
        if decoder:
            assert total > decoder  # images plus the decoder's weights


@pytest.mark.parametrize("name", ["bmshj2018-factorized", "bmshj2018-hyperprior"])
def test_learned_codecs_pass_validation(tmp_path, name):
    codec = COMPRESSORS.create(name, TINY, "x")
    images, _ = synthetic_images(40, seed=2)
    codec.fit(images, [1.0, 5.0], tmp_path, workers=1)  # cached: the contained processes' fit finds it
    report = validate(name, TINY, list(images[:3]), ["lossless", 1.0, 5.0], Limits(call_seconds=20.0),
                      fit_images=images, cache=tmp_path)
    assert report.passed, report.format()
    assert report.decoder_bytes["lossless"] == 0 and report.decoder_bytes["1"] > 10_000


def test_protocol_counts_a_decoders_state_and_shows_it_amortized(tmp_path, cli_env):
    """A learned codec's decoder state counts toward s: at a budget it alone fills there is no ranked set (the board
    says why); where it fits, the set's images and state together stay within s. The amortized view has its own
    sets (state not counted) at every budget."""
    config = learned_config(tmp_path, "bmshj2018-factorized")
    text = config.read_text().replace("n = [30, 90]", 'n = [30, 90]\nbudgets = ["60k", "400k"]')
    config.write_text(text + "\n[protocol]\nseeds = [0, 1, 2]\n")
    for command in (["run", str(config), "--out", "out"], ["protocol", "out"],
                    ["leaderboard", "out", "--out", "site"]):
        done = run_cli(command, cli_env, tmp_path)
        assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        rows = db.execute("SELECT scheme, budget, bytes_total, decoder_bytes FROM curve_cells").fetchall()
    state = {r[1]: r[3] for r in rows if r[0] == "optimal"}
    assert sorted(state) == [400e3] and 60e3 < state[400e3]  # the state alone is larger than 60 kB
    assert all(total + decoder <= budget for scheme, budget, total, decoder in rows)
    assert sorted({(r[0], r[1]) for r in rows if r[0] == "optimal-amortized"}) == [
        ("optimal-amortized", 60e3), ("optimal-amortized", 400e3)]
    board = json.loads((tmp_path / "site" / "leaderboard.json").read_text())["boards"][0]
    (counted,) = board["rankings"]["60000"]["entries"]
    assert counted["rank"] is None and "decoder state" in counted["measured_by"] and "alone exceeds s" in \
        counted["measured_by"]
    (amortized,) = board["rankings_amortized"]["60000"]["entries"]
    assert amortized["rank"] == 1 and amortized["decoder_bytes"] == 0 and amortized["seeds"] == 3
    assert board["rankings"]["400000"]["entries"][0]["decoder_bytes"] == state[400e3]
    # ranked sets an older `curves` trained without counting the state: the protocol refuses to reuse them, the
    # board leaves them unranked
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        db.execute("UPDATE curve_cells SET decoder_bytes = 0 WHERE scheme = 'optimal'")
    done = run_cli(["protocol", "out"], cli_env, tmp_path)
    assert done.returncode != 0 and "trained without counting the decoder state" in done.stderr, done.stderr
    done = run_cli(["leaderboard", "out", "--out", "stale"], cli_env, tmp_path)
    assert done.returncode == 0, done.stderr
    (stale,) = json.loads((tmp_path / "stale" / "leaderboard.json").read_text())["boards"][0]["rankings"]["400000"][
        "entries"]
    assert stale["rank"] is None and "did not count the decoder state" in stale["measured_by"]
