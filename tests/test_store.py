import hashlib
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
    assert entry.sizes.sum() == manifest["total_bytes"] == entry.bitstreams_path.stat().st_size
    assert entry.dataset_index.tolist() == indices.tolist()
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


def test_one_item_reads_alone_and_an_edited_index_is_refused(tmp_path, images, codec):
    entry, _ = ensure(CompressedSetStore(tmp_path), images, codec, 4.0, np.arange(30))
    streams = entry.bitstreams()
    assert entry.item_bytes(17) == streams[17] and entry.item_bytes(0) == streams[0]
    index = bytearray((entry.path / "index.npy").read_bytes())
    index[-1] ^= 0xFF  # the last item's shape
    (entry.path / "index.npy").write_bytes(bytes(index))
    with pytest.raises(StorageBenchError, match="index.npy does not match its manifest's sha256"):
        CompressedSetStore(tmp_path).lookup(entry.manifest["key"]).sizes  # noqa: B018


def test_entries_of_format_1_with_json_lists_still_read(tmp_path, images, codec):
    """A cache written before the binary index: sizes, sha256, dataset indices and the shape in manifest.json."""
    entry, _ = ensure(CompressedSetStore(tmp_path), images, codec, 4.0, np.arange(12))
    old = {**entry.manifest, "format": 1, "sizes": entry.sizes.tolist(), "dataset_index": entry.dataset_index.tolist(),
           "sha256": [hashlib.sha256(s).hexdigest() for s in entry.bitstreams()],
           "item_shape": list(images.images.shape[1:])}
    del old["index_sha256"]
    (entry.path / "index.npy").unlink()
    (entry.path / "manifest.json").write_text(json.dumps(old))
    again = CompressedSetStore(tmp_path).lookup(entry.manifest["key"])
    assert again.manifest["format"] == 1 and again.item_bytes(5) == entry.bitstreams()[5]
    assert np.array_equal(again.decode(codec, workers=1), entry.decode(codec, workers=1))
