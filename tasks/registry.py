"""Registries of the ``tasks/`` folder: dataset readers and task adapters."""
from storagebench.registry import Registry

DATASETS: Registry = Registry("dataset", "storagebench.datasets")
TASKS: Registry = Registry("task", "storagebench.tasks")
