"""The paper's setups as benchmark files (benchmarks/paper/): each runs end to end on a tiny stand-in of its dataset,
written in exactly that dataset's on-disk layout, with weights = "none"; "DEFAULT" weights without internet are one
clear error before anything is written."""
import json
import sqlite3
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from conftest import run_cli
from PIL import Image

from storagebench.errors import StorageBenchError
from storagebench.tasks import DATASETS

PAPER = Path(__file__).resolve().parents[1] / "benchmarks" / "paper"
FOOD_CLASSES = ("apple_pie", "baby_back_ribs", "ramen")


def write_food101(root: Path, per_class: dict[str, int]) -> Path:
    """torchvision's layout: food-101/meta/{classes,train,test}.txt and food-101/images/<class>/<id>.jpg, photographs
    of many sizes."""
    food, rng = root / "food-101", np.random.default_rng(0)
    (food / "meta").mkdir(parents=True)
    (food / "meta" / "classes.txt").write_text("\n".join(FOOD_CLASSES) + "\n")
    number = 1000
    for split, count in per_class.items():
        lines = []
        for c, name in enumerate(FOOD_CLASSES):
            (food / "images" / name).mkdir(parents=True, exist_ok=True)
            for _ in range(count):
                number += 1
                h, w = rng.integers(40, 90, 2)
                pixels = np.clip(rng.normal(60 + 60 * c, 30, (h, w, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(food / "images" / name / f"{number}.jpg", quality=90)
                lines.append(f"{name}/{number}")
        (food / "meta" / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return root


def test_food101_reader_splits_the_train_list_and_keeps_photographs_at_their_sizes(tmp_path):
    write_food101(tmp_path, {"train": 10, "test": 2})
    splits = DATASETS.create("food101", {"path": str(tmp_path)}, "[dataset]").load()
    assert len(splits.train) == 24 and len(splits.test) == 6 and splits.classes == FOOD_CLASSES
    assert len({image.shape for image in splits.train.images}) > 5 and splits.train.images[0].shape[2] == 3
    again = DATASETS.create("food101", {"path": str(tmp_path / "food-101")}, "[dataset]").load()
    assert again.train.fingerprint == splits.train.fingerprint  # the folder itself, or the one holding it
    (tmp_path / "food-101" / "meta" / "test.txt").write_text("ramen/../../../etc/passwd\n")
    with pytest.raises(StorageBenchError, match="leaves the dataset root"):
        DATASETS.create("food101", {"path": str(tmp_path)}, "[dataset]").load()


def paper_config(tmp_path: Path, name: str, path: Path, n: tuple = (12, 24), **task) -> Path:
    """The paper's file with the dataset at ``path``, a grid a test affords and the [task] changes given."""
    config = tomllib.loads((PAPER / f"{name}.toml").read_text())
    config["benchmark"].update(seeds=[0], n=list(n))
    config["dataset"]["path"] = str(path)
    config["compressor"].update(effort=3, train_levels=["lossless", 7], test_levels=["lossless", 7])
    config["task"].update(task)
    out = tmp_path / f"{name}.toml"
    out.write_text(tomli_w.dumps(config))
    return out


def test_paper_food101_runs_on_its_stand_in(tmp_path, cli_env):
    write_food101(tmp_path / "data", {"train": 10, "test": 2})
    config = paper_config(tmp_path, "food101", tmp_path / "data", weights="none", resize=28, crop=24,
                          batch_size=12, epochs=1)
    result = run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        rows = db.execute("SELECT n, train_level, test_level, error FROM results").fetchall()
    assert len(rows) == 8 and all(0 <= error <= 1 for *_, error in rows)


def write_cityscapes(root: Path) -> Path:
    """Cityscapes' layout: leftImg8bit/{train,val}/<city>/<name>_leftImg8bit.png and the gtFine label ids beside."""
    rng = np.random.default_rng(0)
    ids = np.array([0, 7, 8, 11, 21, 23, 26], dtype=np.uint8)  # unlabeled, road, sidewalk, building, ... car
    for split, cities in (("train", ("aachen", "bremen")), ("val", ("lindau",))):
        for city in cities:
            for k in range(6 if split == "train" else 4):
                h, w = (int(v) for v in rng.integers(32, 72, 2))
                name = f"{city}_{k:06d}_000019"
                for folder, suffix, array in (
                        ("leftImg8bit", "_leftImg8bit.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8)),
                        ("gtFine", "_gtFine_labelIds.png", ids[rng.integers(0, len(ids), (h, w))])):
                    (root / folder / split / city).mkdir(parents=True, exist_ok=True)
                    Image.fromarray(array).save(root / folder / split / city / f"{name}{suffix}")
    return root


def test_cityscapes_reader_maps_label_ids_to_the_19_train_ids(tmp_path):
    root = write_cityscapes(tmp_path)
    splits = DATASETS.create("cityscapes", {"path": str(root)}, "[dataset]").load()
    assert len(splits.train) == 12 and len(splits.test) == 4 and len(splits.classes) == 19
    image, mask = splits.train.images[0], splits.train.targets()[0]
    assert image.shape[:2] == mask.shape and image.shape[2] == 3
    assert set(np.unique(mask).tolist()) <= {0, 1, 2, 8, 10, 13, 255}  # road 0 … car 13; id 0 → ignored
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    (outside / "bonn").mkdir(parents=True)
    (root / "leftImg8bit" / "val" / "bonn").symlink_to(outside / "bonn")
    Image.new("RGB", (4, 4)).save(outside / "bonn" / "bonn_000000_000019_leftImg8bit.png")
    with pytest.raises(StorageBenchError, match="leaves the dataset root"):
        DATASETS.create("cityscapes", {"path": str(root)}, "[dataset]").load()
    (root / "leftImg8bit" / "val" / "bonn").unlink()
    stray = next((root / "gtFine" / "val" / "lindau").iterdir())
    Image.new("L", (5, 5)).save(stray)
    with pytest.raises(StorageBenchError, match=r"_gtFine_labelIds.png: 5×5 pixels, its image lindau_\S+_leftImg8bit.png \d+×\d+"):
        DATASETS.create("cityscapes", {"path": str(root)}, "[dataset]").load()


def test_paper_cityscapes_runs_on_its_stand_in(tmp_path, cli_env):
    config = paper_config(tmp_path, "cityscapes", write_cityscapes(tmp_path / "data"), n=(6, 12), encoder="mit_b0",
                          encoder_weights="none", decoder_width=32, steps=3, batch_size=4, resize=32, crop=32)
    result = run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        rows = db.execute("SELECT n, error, metrics FROM results").fetchall()
    assert len(rows) == 8 and all(0 <= error <= 1 and "miou" in metrics for _, error, metrics in rows)


def test_default_weights_without_internet_are_one_error_before_anything_is_written(tmp_path, cli_env):
    write_food101(tmp_path / "data", {"train": 10, "test": 2})
    config = paper_config(tmp_path, "food101", tmp_path / "data")  # weights = "DEFAULT", as the paper
    offline = {**cli_env, "TORCH_HOME": str(tmp_path / "torch"), "HTTPS_PROXY": "http://127.0.0.1:9",
               "https_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    result = run_cli(["run", str(config), "--out", "out"], offline, tmp_path)
    assert result.returncode != 0 and result.stderr.count("\n") == 1, result.stderr
    assert 'weights = "DEFAULT": the ImageNet weights of resnet50 could not be loaded' in result.stderr
    assert not (tmp_path / "out").exists()


def test_pretrained_segformer_encoder_offline_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # what a machine without internet meets, at once
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    from storagebench.tasks import TASKS

    task = TASKS.create("segmentation", {"architecture": "segformer", "encoder": "mit_b0",
                                         "encoder_weights": "imagenet"}, "[task]")
    with pytest.raises(StorageBenchError, match=r"encoder_weights = 'imagenet': the pretrained mit_b0 encoder could not"
                                                r" be loaded .* encoder_weights = \"none\""):
        task.fetch_weights()


ISAID_CATEGORIES = [{"id": 1, "name": "ship"}, {"id": 2, "name": "storage_tank"}]


def write_isaid(root: Path) -> Path:
    """The iSAID devkit's patch layout: {train,val}/images/*.png and instancesonly_filtered_{split}.json (COCO, polygon
    outlines), patches of a few sizes with a bright square (ship) or disc-like octagon (storage tank) per object."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 12), ("val", 4)):
        (root / split / "images").mkdir(parents=True)
        images, annotations = [], []
        for k in range(count):
            h, w = (int(v) for v in rng.integers(40, 64, 2))
            pixels = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
            name = f"P{k:04d}_0_{w}_0_{h}.png"
            for _ in range(int(rng.integers(1, 3))):
                category, x, y, s = int(rng.integers(1, 3)), *(int(v) for v in rng.integers(2, 30, 2)), 8
                pixels[y:y + s, x:x + s] = 200 if category == 1 else 120
                outline = [x, y, x + s, y, x + s, y + s, x, y + s] if category == 1 else \
                    [x + 2, y, x + 6, y, x + 8, y + 2, x + 8, y + 6, x + 6, y + 8, x + 2, y + 8, x, y + 6, x, y + 2]
                annotations.append({"id": len(annotations) + 1, "image_id": k + 1, "category_id": category,
                                    "bbox": [x, y, s, s], "area": s * s, "iscrowd": 0, "segmentation": [outline]})
            Image.fromarray(pixels).save(root / split / "images" / name)
            images.append({"id": k + 1, "file_name": name, "width": w, "height": h})
        (root / split / f"instancesonly_filtered_{split}.json").write_text(json.dumps(
            {"images": images, "annotations": annotations, "categories": ISAID_CATEGORIES}))
    return root


def test_isaid_reader_keeps_boxes_and_outlines_and_reads_patches_on_access(tmp_path):
    from storagebench.images import is_lazy

    root = write_isaid(tmp_path)
    splits = DATASETS.create("isaid", {"path": str(root)}, "[dataset]").load()
    assert len(splits.train) == 12 and len(splits.test) == 4 and splits.classes == ("background", "ship",
                                                                                    "storage_tank")
    assert is_lazy(splits.train.images) and splits.train.target.kind == "instances"
    first = splits.train.targets()[0]
    assert len(first.polygons) == len(first.boxes) >= 1 and first.areas()[0] > 0
    annotations = json.loads((root / "val" / "instancesonly_filtered_val.json").read_text())
    annotations["annotations"][0]["segmentation"] = {"counts": "abc", "size": [8, 8]}
    (root / "val" / "instancesonly_filtered_val.json").write_text(json.dumps(annotations))
    with pytest.raises(StorageBenchError, match=r"instancesonly_filtered_val.json: annotation 1 of image P0000\S+: "
                                                r"segmentation must be a list of polygons"):
        DATASETS.create("isaid", {"path": str(root)}, "[dataset]").load()


def test_paper_isaid_runs_on_its_stand_in(tmp_path, cli_env):
    config = paper_config(tmp_path, "isaid", write_isaid(tmp_path / "data"), n=(6, 12), weights="none", steps=2,
                          batch_size=2, warmup_steps=1, lr=0.002, resize=48, rois_per_image=32, eval_batch_size=4)
    result = run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as db:
        rows = db.execute("SELECT error, metrics FROM results").fetchall()
    assert len(rows) == 8
    for error, metrics in rows:  # the paper's error: small objects' AP, with mAP beside it
        metrics = json.loads(metrics)
        assert 0 <= error <= 1 and error == pytest.approx(1 - metrics["aps"]) and "map" in metrics


def test_a_truncated_photograph_found_while_encoding_is_one_error_and_leaves_no_results_dir(tmp_path, cli_env):
    write_food101(tmp_path / "data", {"train": 10, "test": 2})
    food = tmp_path / "data" / "food-101"
    photo = food / "images" / f"{(food / 'meta' / 'test.txt').read_text().split()[-1]}.jpg"  # every test image is used
    photo.write_bytes(photo.read_bytes()[:300])  # the header reads; the pixels do not
    config = paper_config(tmp_path, "food101", tmp_path / "data", weights="none", resize=28, crop=24, epochs=1)
    result = run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path)
    assert result.returncode != 0 and result.stderr.count("\n") == 1, result.stderr
    assert f"{photo}: not a readable image" in result.stderr
    assert not (tmp_path / "out").exists()


def test_jpeg_sources_keep_their_transcoding_as_the_original_format(tmp_path):
    import imagecodecs

    from storagebench.benchmarks.harness.store import CompressedSetStore, decode_verified
    from storagebench.compressors import COMPRESSORS, LOSSLESS
    from storagebench.tasks.file_images import FileImages

    write_food101(tmp_path / "data", {"train": 4, "test": 1})
    train = DATASETS.create("food101", {"path": str(tmp_path / "data")}, "[dataset]").load().train
    store, everything = CompressedSetStore(tmp_path / "cache"), np.arange(len(train))
    codecs = {mode: COMPRESSORS.create("jpegxl", {"effort": 3, "original_jpeg": mode}, "[compressor]")
              for mode in ("pixels", "transcode")}
    entries = {mode: store.ensure(train.images, everything, codec, LOSSLESS, fingerprint=train.pixels_fingerprint,
                                  split="train", workers=1)[0] for mode, codec in codecs.items()}
    transcoded = entries["transcode"]
    for i, path in enumerate(train.names):  # each bitstream is the JPEG file itself, losslessly transcoded
        assert imagecodecs.jpegxl_decode_jpeg(transcoded.item_bytes(i)) == Path(path).read_bytes()
    assert transcoded.sizes.mean() < 0.5 * entries["pixels"].sizes.mean()  # far below lossless pixels
    decoded = decode_verified(transcoded, codecs["transcode"], train.images, workers=1)  # the lossless check
    assert all(np.array_equal(a, b) for a, b in zip(decoded, train.images))
    lossy = [store.ensure(train.images, everything, codec, 4.0, fingerprint=train.pixels_fingerprint, split="train",
                          workers=1)[0] for codec in codecs.values()]
    assert lossy[0].bitstreams() == lossy[1].bitstreams()  # lossy levels encode the decoded pixels either way
    pngs = []  # a source that is not a JPEG keeps lossless JPEG XL of its pixels
    for i, image in enumerate(train.images[:3]):
        pngs.append(tmp_path / f"{i}.png")
        Image.fromarray(image).save(pngs[-1])
    as_png = FileImages(pngs, "RGB")
    stored = [store.ensure(as_png, np.arange(3), codec, LOSSLESS, fingerprint="p" * 64, split="train",
                           workers=1)[0].bitstreams() for codec in codecs.values()]
    assert stored[0] == stored[1]


def test_file_digests_are_kept_and_only_changed_files_are_read_again(tmp_path, monkeypatch):
    import os

    import storagebench.tasks.file_images as file_images

    monkeypatch.setenv("STORAGEBENCH_CACHE", str(tmp_path / "cache"))
    write_food101(tmp_path / "data", {"train": 2, "test": 1})
    load = DATASETS.create("food101", {"path": str(tmp_path / "data")}, "[dataset]").load
    first = load().train.fingerprint
    reads = []
    real = file_images.Path.read_bytes
    monkeypatch.setattr(file_images.Path, "read_bytes", lambda self: reads.append(self) or real(self))
    assert load().train.fingerprint == first and reads == []  # sizes and times unchanged: nothing read
    photo = Path(load().train.names[0])
    photo.write_bytes(photo.read_bytes() + b"\0")  # a byte more: its size changed
    reads.clear()
    assert load().train.fingerprint != first and reads == [photo]
    os.utime(photo, ns=(1, 1))  # only the modification time changes: read again, same bytes
    reads.clear()
    load().train.fingerprint
    assert reads == [photo]
