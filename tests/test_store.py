import json

import imagecodecs
import numpy as np
import pytest
from conftest import synthetic_images

from storagebench.benchmarks.harness.store import CompressedSetStore
from storagebench.compressors import COMPRESSORS
from storagebench.errors import StorageBenchError
from storagebench.tasks.dataset import ImageSet


@pytest.fixture
def images():
    return ImageSet(*[a.astype(t) for a, t in zip(synthetic_images(150, seed=5), (np.uint8, np.int64))])


@pytest.fixture
def codec():
    return COMPRESSORS.create("jpegxl", {"effort": 3}, "[compressor]")


def ensure(store, images, codec, level, indices, workers=2):
    return store.ensure(images.images, indices, codec, level, fingerprint=images.fingerprint, split="train",
                        workers=workers)


def test_manifest_bytes_equal_stored_bitstreams_and_decode_reproduces(tmp_path, images, codec):
    store = CompressedSetStore(tmp_path)
    indices = np.arange(10, 140)
    entry, encoded = ensure(store, images, codec, 4.0, indices)
    assert encoded
    manifest = json.loads((entry.path / "manifest.json").read_text())
    assert sum(manifest["sizes"]) == manifest["total_bytes"] == entry.bitstreams_path.stat().st_size
    assert manifest["dataset_index"] == indices.tolist()
    streams = entry.bitstreams()
    expected = np.stack([imagecodecs.jpegxl_decode(s) for s in streams])
    assert np.array_equal(entry.decode(codec, workers=2), expected)
    assert np.array_equal(entry.decode(codec, workers=1), expected)
    # Bytes are exactly what a plain imagecodecs call makes for those images.
    assert streams[0] == imagecodecs.jpegxl_encode(images.images[10], distance=4.0, effort=3, numthreads=1)


def test_second_ensure_reuses_and_workers_do_not_change_bytes(tmp_path, images, codec):
    indices = np.arange(100)
    one, _ = ensure(CompressedSetStore(tmp_path / "a"), images, codec, 2.0, indices, workers=1)
    store = CompressedSetStore(tmp_path / "b")
    two, encoded = ensure(store, images, codec, 2.0, indices, workers=2)
    assert encoded and one.bitstreams_path.read_bytes() == two.bitstreams_path.read_bytes()
    again, encoded_again = ensure(store, images, codec, 2.0, indices)
    assert not encoded_again and again.path == two.path
    assert [p.name for p in (tmp_path / "b").iterdir()] == [two.path.name]  # no temporary folders left


def test_key_changes_with_level_params_indices_and_data(tmp_path, images, codec):
    store = CompressedSetStore(tmp_path)
    base = store.key(images.fingerprint, "train", np.arange(5), codec, 2.0)
    other_codec = COMPRESSORS.create("jpegxl", {"effort": 4}, "[compressor]")
    variants = [store.key(images.fingerprint, "train", np.arange(5), codec, 3.0),
                store.key(images.fingerprint, "train", np.arange(6), codec, 2.0),
                store.key("0" * 64, "train", np.arange(5), codec, 2.0),
                store.key(images.fingerprint, "train", np.arange(5), other_codec, 2.0)]
    assert all(v != base for v in variants)


def test_corrupt_entry_is_detected(tmp_path, images, codec):
    entry, _ = ensure(CompressedSetStore(tmp_path), images, codec, 4.0, np.arange(20))
    blob = bytearray(entry.bitstreams_path.read_bytes())
    blob[5] ^= 0xFF
    entry.bitstreams_path.write_bytes(bytes(blob))
    with pytest.raises(StorageBenchError, match="does not match its sha256"):
        entry.decode(codec, workers=1)
    entry.bitstreams_path.write_bytes(bytes(blob[:-3]))
    with pytest.raises(StorageBenchError, match="corrupt cache entry"):
        entry.decode(codec, workers=1)
