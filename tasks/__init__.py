"""Datasets (readers for real formats) and task adapters (train on decoded images, evaluate into an error)."""
from storagebench.tasks import (  # noqa: F401  (registers the built-ins)
    classification, coco, detection, fashion_mnist, fashion_scenes, image_folder, segmentation, segmentation_folder)
from storagebench.tasks.dataset import Dataset, ImageSet, LabelledSplits
from storagebench.tasks.registry import DATASETS, TASKS
from storagebench.tasks.task import Task

__all__ = ["DATASETS", "TASKS", "Dataset", "ImageSet", "LabelledSplits", "Task"]
