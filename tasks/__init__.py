"""Datasets (readers for real formats) and task adapters (train on decoded images, evaluate into an error)."""
if __name__ != "storagebench.tasks":  # this folder imported as a top-level package: a second set of registries
    raise ImportError("'tasks' is the folder of the package storagebench.tasks: "
                      "import storagebench.tasks (install it with `make setup` or `pip install -e .`)")
from storagebench.tasks import (  # noqa: F401  (registers the built-ins)
    classification,
    cityscapes,
    coco,
    detection,
    fashion_mnist,
    fashion_scenes,
    food101,
    image_folder,
    isaid,
    segmentation,
    segmentation_folder,
)
from storagebench.tasks.dataset import Dataset, ImageSet, LabelledSplits
from storagebench.tasks.registry import DATASETS, TASKS
from storagebench.tasks.task import Task

__all__ = ["DATASETS", "TASKS", "Dataset", "ImageSet", "LabelledSplits", "Task"]
