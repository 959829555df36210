"""Datasets (readers for real formats) and task adapters (train on decoded images, evaluate into an error)."""
from storagebench.tasks import classification, fashion_mnist, image_folder  # noqa: F401  (registers built-ins)
from storagebench.tasks.dataset import Dataset, ImageSet, LabelledSplits
from storagebench.tasks.registry import DATASETS, TASKS
from storagebench.tasks.task import Task

__all__ = ["DATASETS", "TASKS", "Dataset", "ImageSet", "LabelledSplits", "Task"]
