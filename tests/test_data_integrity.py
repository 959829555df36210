"""Numbers are only written when they are real, and paths from data stay inside their root: 16-bit images, image
bombs, COCO files with repeated ids or bad boxes, cache entries under the wrong key, stray files in a stored set,
training that diverges, and names that would write outside their folder."""
import json
import os
import socket
import struct
import zlib

import imagecodecs
import numpy as np
import pytest
from conftest import synthetic_images
from PIL import Image
from test_coco import write_coco

from storagebench.benchmarks.harness.reduced_store import ReducedStore
from storagebench.benchmarks.harness.store import CompressedSetStore
from storagebench.compressors import COMPRESSORS, ReducedSet
from storagebench.errors import StorageBenchError
from storagebench.tasks import DATASETS, TASKS
from storagebench.tasks.dataset import ImageSet
from storagebench.tasks.training import TrainingDiverged


def folder_dataset(root):
    return DATASETS.create("image-folder", {"path": str(root)}, "[dataset]")


def write_folder(root, images):
    for split in ("train", "test"):
        for label, image in enumerate(images):
            (root / split / f"c{label}").mkdir(parents=True, exist_ok=True)
            (root / split / f"c{label}" / "0.png").write_bytes(imagecodecs.png_encode(image))


def test_16_bit_png_is_scaled_to_8_bits_not_clipped(tmp_path):
    wide = (np.arange(28 * 28, dtype=np.uint32) * 83 % 65536).astype(np.uint16).reshape(28, 28)
    write_folder(tmp_path, [wide, wide[::-1]])
    splits = folder_dataset(tmp_path).load()
    expected = ((wide.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    assert np.array_equal(splits.train.images[0], expected)
    assert (splits.train.images == 255).mean() < 0.01  # clipping sent 99 % of these pixels to 255
    assert splits.train.images.max() == 253 and splits.train.images.min() == 0


def png_header_only(width, height):
    """A PNG whose header claims width × height and whose pixel data is missing: what a bomb looks like to a
    reader that checks before decoding."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side, needle", [(13000, "13000×13000 is more than"), (40000, "too many pixels")])
def test_huge_images_are_refused_from_their_header(tmp_path, side, needle):
    write_folder(tmp_path, [np.zeros((28, 28), np.uint8)] * 2)
    bomb = tmp_path / "train" / "c0" / "1.png"
    bomb.write_bytes(png_header_only(side, side))
    with pytest.raises(StorageBenchError, match=f"1.png: refused, .*{needle}"):
        folder_dataset(tmp_path).load()


def test_a_truncated_image_is_one_error_naming_it(tmp_path):
    write_folder(tmp_path, [np.zeros((28, 28), np.uint8)] * 2)
    (tmp_path / "train" / "c1" / "1.png").write_bytes(png_header_only(300, 300))  # undecodable past its header
    with pytest.raises(StorageBenchError, match=r"c1/1.png: not a readable image"):
        folder_dataset(tmp_path).load()


def coco(tmp_path):
    return DATASETS.create("coco", {"path": str(tmp_path)}, "[dataset]")


def edit_coco(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("change, needle", [
    (lambda d: d["images"][1].update(id=d["images"][0]["id"]), "image id 1 is given twice (images/0.png and "
                                                               "images/1.png); image ids must be unique"),
    (lambda d: d["annotations"][0].update(bbox=[1, 1, float("nan"), 2]), "bbox [1, 1, nan, 2] is not finite"),
    (lambda d: d["annotations"][0].update(bbox=[1, 1, "4", 2]), "bbox must be [x, y, width, height] (4 numbers)"),
    (lambda d: d["images"][0].update(width="40"), "width and height must be positive integers"),
    (lambda d: d["images"][0].update(id="a"), "image id 'a' of 'images/0.png' must be an integer"),
])
def test_coco_files_with_repeated_ids_or_bad_boxes_are_refused(tmp_path, change, needle):
    path = write_coco(tmp_path, "train")
    write_coco(tmp_path, "test")
    edit_coco(path, change)
    with pytest.raises(StorageBenchError) as error:
        coco(tmp_path).load()
    assert str(error.value).startswith(str(path)) and needle in str(error.value)


@pytest.mark.parametrize("file_name", ["../../outside.png", "/etc/hostname", "images/../../../outside.png"])
def test_coco_file_names_stay_inside_the_dataset_root(tmp_path, file_name):
    root = tmp_path / "data"
    path = write_coco(root, "train")
    write_coco(root, "test")
    Image.new("L", (40, 30)).save(tmp_path / "outside.png")
    edit_coco(path, lambda d: d["images"][0].update(file_name=file_name))
    with pytest.raises(StorageBenchError, match="leaves the dataset root"):
        coco(root).load()


@pytest.fixture
def images():
    return ImageSet(*[a.astype(t) for a, t in zip(synthetic_images(20, seed=5), (np.uint8, np.int64))])


def encode(store, images, level, indices=np.arange(10)):
    codec = COMPRESSORS.create("jpegxl", {"effort": 3}, "[compressor]")
    return store.ensure(images.images, indices, codec, level, fingerprint=images.fingerprint, split="train",
                        workers=1)[0]


def test_a_store_entry_copied_under_another_key_is_refused(tmp_path, images):
    store = CompressedSetStore(tmp_path)
    right, wrong = encode(store, images, 2.0), encode(store, images, 15.0)
    for name in ("manifest.json", "bitstreams.bin"):  # d = 15 bytes where d = 2 is looked up
        (right.path / name).write_bytes((wrong.path / name).read_bytes())
    with pytest.raises(StorageBenchError, match="its manifest describes another entry"):
        encode(store, images, 2.0)


def test_a_damaged_store_entry_is_rebuilt_or_named(tmp_path, images):
    store = CompressedSetStore(tmp_path)
    entry = encode(store, images, 2.0)
    (entry.path / "bitstreams.bin").unlink()
    with pytest.raises(StorageBenchError, match="bitstreams.bin missing from the cache entry; delete the folder"):
        encode(store, images, 2.0)
    (entry.path / "manifest.json").unlink()  # no manifest: not an entry; removed and encoded again
    again = encode(store, images, 2.0)
    assert again.path == entry.path and again.bitstreams_path.is_file()
    assert np.array_equal(again.sizes, entry.sizes)


def test_a_decoder_that_fails_is_one_error_naming_the_item(tmp_path, images):
    entry = encode(CompressedSetStore(tmp_path), images, 2.0)
    wrong = COMPRESSORS.create("png", {}, "[compressor]")  # not the codec that wrote these bytes
    with pytest.raises(StorageBenchError, match=r"png: decoding item 0 at level 2.0 failed \(.*a decoder is given "
                                                r"only the bitstream, the level and the state the codec declares"):
        entry.decode(wrong, workers=1)


def test_temporary_folders_of_dead_processes_are_removed(tmp_path):
    host = socket.gethostname()
    dead, alive = tmp_path / f".tmp-abc-{host}-999999999", tmp_path / f".tmp-def-{host}-{os.getpid()}"
    other_host = tmp_path / ".tmp-ghi-elsewhere-999999999"
    for folder in (dead, alive, other_host):
        folder.mkdir()
    CompressedSetStore(tmp_path)
    assert not dead.exists() and alive.exists() and other_host.exists()


def test_stray_files_in_a_stored_set_are_not_counted(tmp_path):
    reduced = ReducedSet(synthetic_images(10, seed=3)[0], np.arange(10) % 10)
    codec = COMPRESSORS.create("png", {}, "[compressor]")
    stored, _ = ReducedStore(tmp_path).ensure({"set": 1}, lambda: reduced, codec, "lossless", 10)
    before = stored.bytes_on_disk()
    (stored.payload / "images" / "stray.png").write_bytes(b"\0" * 100_000)
    (stored.payload / "extra.bin").write_bytes(b"\0" * 1000)
    again, made = ReducedStore(tmp_path).ensure({"set": 1}, lambda: reduced, codec, "lossless", 10)
    assert not made and again.bytes_on_disk() == before
    assert before["total"] == sum(f["bytes"] for f in stored.manifest["files"].values())
    assert len(again.load(codec).images) == 10


def test_a_diverging_recipe_fails_its_cell_instead_of_recording_chance():
    images, labels = synthetic_images(64, seed=1)
    task = TASKS.create("classification", {"width": 4, "epochs": 1, "lr": 1e30, "batch_size": 16}, "[task]")
    with pytest.raises(TrainingDiverged, match="the training loss became non-finite .* on n = 64"):
        task.train(images, labels.astype(np.int64), 10, seed=0)


@pytest.mark.parametrize("key, value, needle", [
    ("lr", float("inf"), "[task].lr: expected a finite number, got inf"),
    ("momentum", float("nan"), "[task].momentum: expected a finite number, got nan"),
    ("weight_decay", -1.0, "weight_decay must be ≥ 0"),
    ("momentum", 1.5, "momentum must be in [0, 1)"),
])
def test_non_finite_or_out_of_range_recipe_values_are_refused(key, value, needle):
    with pytest.raises(StorageBenchError) as error:
        TASKS.create("classification", {key: value}, "[task]")
    assert needle in str(error.value)
