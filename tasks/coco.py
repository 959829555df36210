"""COCO-format detection data: ``ROOT/{train,test}/annotations.json`` (images, categories, boxes; with
``masks = true`` each object's polygon outline too, for Mask R-CNN) with image files relative to the split folder,
read with pycocotools and validated on load."""
from __future__ import annotations

import contextlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from storagebench.errors import StorageBenchError
from storagebench.paths import inside
from storagebench.tasks.dataset import Dataset, ImageSet, LabelledSplits
from storagebench.tasks.file_images import READ, FileImages, file_sets
from storagebench.tasks.registry import DATASETS
from storagebench.tasks.targets.boxes import Boxes
from storagebench.tasks.targets.instances import Instances


@dataclass(frozen=True)
class CocoParams:
    path: str = ""
    mode: str = "L"  # "L" (gray) or "RGB"
    masks: bool = False  # read each object's polygons (``segmentation``) as well as its box: instance targets
    read: str = "auto"  # "memory", "access" (from the files, as used), "auto": on access when too large for memory

    def check(self) -> str | None:
        if self.read not in READ:
            return f"read must be one of {', '.join(READ)}, got {self.read!r}"
        return None if self.mode in ("L", "RGB") else f"mode must be 'L' or 'RGB', got {self.mode!r}"


def load_coco(path: Path):  # noqa: ANN201  (a pycocotools COCO)
    """Parse, check and index ``path``: malformed JSON, a missing top-level list, an incomplete image entry or a
    repeated image id is one error naming the file."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise StorageBenchError(f"{path}: missing; a COCO split needs annotations.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StorageBenchError(f"{path}: malformed JSON ({exc})") from exc
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations",
                                                                                     "categories")):
        raise StorageBenchError(f"{path}: a COCO file needs lists 'images', 'annotations' and 'categories'")
    incomplete = next((i for i in data["images"] if not isinstance(i, dict) or not {"id", "file_name", "width",
                                                                                    "height"} <= i.keys()), None)
    if incomplete is not None:
        raise StorageBenchError(f"{path}: image entry {incomplete!r} needs id, file_name, width and height")
    seen: dict[int, str] = {}
    for image in data["images"]:
        _check_image_entry(image, path)
        if image["id"] in seen:  # pycocotools would keep only the last of them
            raise StorageBenchError(f"{path}: image id {image['id']} is given twice ({seen[image['id']]} and "
                                    f"{image['file_name']}); image ids must be unique")
        seen[image["id"]] = image["file_name"]
    try:
        return indexed_coco(data)
    except (KeyError, TypeError) as exc:
        raise StorageBenchError(f"{path}: malformed COCO entry (missing {exc})") from exc


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_image_entry(image: dict, path: Path) -> None:
    if not _whole(image["id"]):
        raise StorageBenchError(f"{path}: image id {image['id']!r} of {image['file_name']!r} must be an integer")
    if not isinstance(image["file_name"], str) or not image["file_name"]:
        raise StorageBenchError(f"{path}: image {image['id']}: file_name must be a non-empty string, got "
                                f"{image['file_name']!r}")
    if not all(_whole(image[k]) and image[k] > 0 for k in ("width", "height")):
        raise StorageBenchError(f"{path}: image {image['file_name']}: width and height must be positive integers, "
                                f"got {image['width']!r} and {image['height']!r}")


def indexed_coco(data: dict):  # noqa: ANN201  (a pycocotools COCO)
    """A pycocotools COCO over in-memory JSON, without its progress prints."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = data
        coco.createIndex()
    return coco


def _check_annotation(ann: dict, image: dict, categories: dict[int, int], path: Path) -> np.ndarray:
    """[x0, y0, x1, y1, class] with class = 1 + the category's rank among the category ids (0 is background)."""
    where = f"{path}: annotation {ann.get('id')} of image {image['file_name']}"
    if ann.get("category_id") not in categories:
        raise StorageBenchError(f"{where}: unknown category id {ann.get('category_id')!r} "
                                f"(known: {sorted(categories)})")
    bbox = ann.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox):
        raise StorageBenchError(f"{where}: bbox must be [x, y, width, height] (4 numbers), got {bbox!r}")
    x, y, w, h = map(float, bbox)
    if not all(map(math.isfinite, (x, y, w, h))):
        raise StorageBenchError(f"{where}: bbox {bbox} is not finite")
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > image["width"] or y + h > image["height"]:
        raise StorageBenchError(f"{where}: box {bbox} is outside the {image['width']}×{image['height']} image")
    return np.array([x, y, x + w, y + h, categories[ann["category_id"]]], dtype=np.float32)


def _outline(ann: dict, image: dict, path: Path) -> tuple[np.ndarray, ...]:
    """An annotation's polygons (``segmentation``: lists of x, y, … in pixels), each clamped to the image; polygons
    of fewer than three points are dropped (as pycocotools cannot draw them), and an object left with none is an
    error."""
    where = f"{path}: annotation {ann.get('id')} of image {image['file_name']}"
    segmentation = ann.get("segmentation")
    if not isinstance(segmentation, list) or not all(
            isinstance(p, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)
            for p in segmentation):
        raise StorageBenchError(f"{where}: segmentation must be a list of polygons (lists of x, y numbers) with "
                                f"[dataset].masks = true; got {type(segmentation).__name__} (RLE is not read)")
    size = np.array([image["width"], image["height"]], np.float32)
    outline = tuple(np.clip(np.array(p, np.float32).reshape(-1, 2), 0, size).ravel()
                    for p in segmentation if len(p) >= 6 and len(p) % 2 == 0)
    if not outline or not all(np.isfinite(p).all() for p in outline):
        raise StorageBenchError(f"{where}: no polygon of at least three finite points in its segmentation")
    return outline


def coco_targets(coco, path: Path, masks: bool) -> tuple[list[dict], Boxes]:  # noqa: ANN001  (a pycocotools COCO)
    """The image entries (by id) and their targets, checked before any image is read so a bad box fails fast."""
    categories = {c["id"]: c["name"] for c in coco.dataset["categories"]}
    class_of = {category: rank + 1 for rank, category in enumerate(sorted(categories))}
    infos = [coco.imgs[i] for i in sorted(coco.imgs)]
    if not infos:
        raise StorageBenchError(f"{path}: no images")
    boxes, outlines = [], []
    for info in infos:
        # Crowd regions (iscrowd = 1) are skipped: COCO scores them as "ignore", which K×5 boxes cannot express.
        anns = [a for a in coco.imgToAnns.get(info["id"], []) if not a.get("iscrowd")]
        boxes.append(np.stack([_check_annotation(a, info, class_of, path) for a in anns])
                     if anns else np.zeros((0, 5), np.float32))
        if masks:
            outlines.append(tuple(_outline(a, info, path) for a in anns))
    return infos, Instances(tuple(boxes), tuple(outlines)) if masks else Boxes(tuple(boxes))


def read_split(annotations: Path, image_root: Path, mode: str, masks: bool = False,
               read: str = "memory") -> tuple[ImageSet, dict[int, str]]:
    """One split: ``annotations`` (COCO JSON) naming images relative to ``image_root``, their sizes checked against
    the headers before any pixel is decoded; decoded into memory or read on access (``file_sets``)."""
    coco = load_coco(annotations)
    infos, target = coco_targets(coco, annotations, masks)
    files = [inside(image_root, info["file_name"], f"{annotations}: image {info['id']} file_name") for info in infos]
    lazy = FileImages(files, mode)  # the headers, read once
    for file, info, (h, w) in zip(files, infos, lazy.shapes[:, :2].tolist()):
        if (w, h) != (info["width"], info["height"]):  # before any pixel is decoded
            raise StorageBenchError(f"{file}: size {(w, h)} differs from the size {annotations.name} gives "
                                    f"{(info['width'], info['height'])}")
    (images,) = file_sets([lazy], read)
    labels = np.array([int(b[0, 4]) if len(b) else 0 for b in target.boxes], dtype=np.int64)
    categories = {c["id"]: c["name"] for c in coco.dataset["categories"]}
    return ImageSet(images, labels, target, tuple(map(str, files))), categories


def class_names(root: Path, train_categories: dict[int, str], test_categories: dict[int, str]) -> tuple[str, ...]:
    if train_categories != test_categories:
        raise StorageBenchError(f"{root}: train and test annotations list different categories")
    return ("background", *(train_categories[i] for i in sorted(train_categories)))


@DATASETS.register("coco")
class Coco(Dataset):
    """COCO-format detection data (annotations.json per split, images beside it), each image at its own size."""

    Params = CocoParams

    def load(self) -> LabelledSplits:
        root = self.required_root("the COCO root (train/ and test/ inside)")
        (train, train_categories), (test, test_categories) = (
            read_split(root / s / "annotations.json", root / s, self.params.mode, self.params.masks, self.params.read)
            for s in ("train", "test"))
        return LabelledSplits(train, test, class_names(root, train_categories, test_categories), str(root))
