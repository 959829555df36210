"""The COCO-format detection reader: boxes read back, and one clear error per kind of bad input."""
import json

import numpy as np
import pytest
from PIL import Image

from storagebench.errors import StorageBenchError
from storagebench.tasks import DATASETS


def write_coco(root, split, annotations=None, categories=None, size=(40, 30)):
    folder = root / split
    (folder / "images").mkdir(parents=True)
    images = []
    for i in range(3):
        Image.new("L", size, color=40 * i).save(folder / "images" / f"{i}.png")
        images.append({"id": i + 1, "file_name": f"images/{i}.png", "width": size[0], "height": size[1]})
    if annotations is None:
        annotations = [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [2, 3, 10, 5], "area": 50, "iscrowd": 0},
                       {"id": 2, "image_id": 1, "category_id": 3, "bbox": [20, 10, 15, 15], "area": 225, "iscrowd": 0},
                       {"id": 3, "image_id": 3, "category_id": 7, "bbox": [0, 0, 40, 30], "area": 1200, "iscrowd": 0}]
    categories = categories or [{"id": 3, "name": "bag"}, {"id": 7, "name": "shoe"}]
    path = folder / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def load(root):
    return DATASETS.create("coco", {"path": str(root)}, "[dataset]").load()


def test_boxes_are_read_with_contiguous_classes(tmp_path):
    write_coco(tmp_path, "train")
    write_coco(tmp_path, "test")
    splits = load(tmp_path)
    assert splits.classes == ("background", "bag", "shoe")
    boxes = splits.train.targets()
    assert [len(b) for b in boxes] == [2, 0, 1]
    assert boxes[0].tolist() == [[2, 3, 12, 8, 2], [20, 10, 35, 25, 1]]  # xyxy, class = rank of category id + 1
    assert splits.train.labels.tolist() == [2, 0, 2]
    assert splits.train.target_sizes.min() > 0 and splits.train.images.shape == (3, 30, 40)


def test_crowd_regions_are_skipped(tmp_path):
    write_coco(tmp_path, "train", annotations=[
        {"id": 1, "image_id": 1, "category_id": 7, "bbox": [2, 3, 10, 5], "area": 50, "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 3, "bbox": [20, 10, 15, 15], "area": 225, "iscrowd": 1}])
    write_coco(tmp_path, "test")
    assert [len(b) for b in load(tmp_path).train.targets()] == [1, 0, 0]


def test_malformed_json(tmp_path):
    path = write_coco(tmp_path, "train")
    write_coco(tmp_path, "test")
    path.write_text(path.read_text()[:-20])
    with pytest.raises(StorageBenchError, match="train/annotations.json: malformed JSON"):
        load(tmp_path)
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(StorageBenchError, match="needs lists 'images', 'annotations' and 'categories'"):
        load(tmp_path)


def test_box_outside_its_image(tmp_path):
    write_coco(tmp_path, "train", annotations=[
        {"id": 9, "image_id": 2, "category_id": 3, "bbox": [30, 20, 15, 5], "area": 75, "iscrowd": 0}])
    write_coco(tmp_path, "test")
    with pytest.raises(StorageBenchError, match=r"annotation 9 of image images/1.png: box \[30, 20, 15, 5\] is "
                                                r"outside the 40×30 image"):
        load(tmp_path)


def test_image_sizes_disagreeing_with_the_json_are_refused_and_differing_ones_kept(tmp_path):
    path = write_coco(tmp_path, "train")
    write_coco(tmp_path, "test")
    Image.new("L", (41, 30)).save(tmp_path / "train" / "images" / "1.png")
    with pytest.raises(StorageBenchError, match=r"images/1.png: size \(41, 30\) differs from the size annotations.json gives \(40, 30\)"):
        load(tmp_path)
    data = json.loads(path.read_text())
    data["images"][1]["width"] = 41
    path.write_text(json.dumps(data))
    train = load(tmp_path).train  # images of different sizes are kept at their own sizes
    assert [image.shape for image in train.images] == [(30, 40), (30, 41), (30, 40)]
    del data["images"][1]["width"]
    path.write_text(json.dumps(data))
    with pytest.raises(StorageBenchError, match="needs id, file_name, width and height"):
        load(tmp_path)


def test_unknown_category_id(tmp_path):
    write_coco(tmp_path, "train", annotations=[
        {"id": 4, "image_id": 1, "category_id": 99, "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 0}])
    write_coco(tmp_path, "test")
    with pytest.raises(StorageBenchError, match=r"annotation 4 .*unknown category id 99 \(known: \[3, 7\]\)"):
        load(tmp_path)


def test_fashion_scenes_coco_json_reads_back(tmp_path, fashion_dir, monkeypatch):
    monkeypatch.setenv("STORAGEBENCH_DATA", str(fashion_dir))
    DATASETS.create("fashion-scenes", {"root": str(tmp_path), "train": 12, "test": 6, "size": 48}, "x").load()
    splits = load(tmp_path)
    assert len(splits.train) == 12 and len(splits.classes) == 11
    assert all(np.all(b[:, 2] <= 48) and np.all(b[:, 4] >= 1) for b in splits.train.targets())


@pytest.mark.parametrize("name", ["coco", "segmentation-folder", "image-folder"])
def test_user_folder_readers_need_a_path(name):
    with pytest.raises(StorageBenchError, match=r"\[dataset\].path \(or --data\) must name"):
        DATASETS.create(name, {}, "[dataset]").load()
