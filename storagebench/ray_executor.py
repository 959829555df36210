"""Run storagebench's parallel work as Ray tasks: on a cluster (``--address``) or on a Ray instance it starts here.

Each ``parallel_map`` puts its shared ``job`` in Ray's object store once (numpy arrays are read zero-copy by the
workers on a node) and submits one task per item, asking for one CPU, and for GPU work a share of a GPU when the
cluster has GPUs. Results come back to the driver, which alone writes them, so a killed worker or driver loses no
finished cell. A task whose worker dies is retried by Ray (``max_retries``).
"""
from __future__ import annotations

import os
import sys
from typing import Any, Iterator

from storagebench.errors import StorageBenchError
from storagebench.parallel import Work

MAX_RETRIES = 3  # times Ray re-runs a task whose worker process or node died


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise StorageBenchError("--executor ray: Ray is not installed; pip install 'storagebench[ray]'") from None
    return ray


def run_item(fn: Work, job: Any, item: Any) -> Any:
    return fn(job, item)


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None, gpus_per_task: float | None = None):
        """Connect to the cluster at ``address`` (``auto``: the one this machine belongs to), or start a local Ray
        instance with ``num_cpus`` CPUs (default: all). ``gpus_per_task`` is the GPU share each GPU task asks for
        (default: 1 when the cluster has GPUs, else none)."""
        ray = self.ray = _import_ray()
        self.address, self.owns = address, not ray.is_initialized()  # close() stops (or disconnects) what it began
        if not ray.is_initialized():
            # after the first failed task the driver stops and cancels the rest; their errors are not news
            os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
            try:
                ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                         log_to_driver=False, configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise StorageBenchError(f"--address {address}: cannot connect to a Ray cluster: {exc}") from None
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        self.gpus_per_task = (1.0 if has_gpus else 0.0) if gpus_per_task is None else gpus_per_task
        self._remote = ray.remote(max_retries=MAX_RETRIES)(run_item)

    def _share_plugins(self) -> None:
        """Compressors, tasks and datasets loaded from ``path/to/file.py`` are not importable on the workers: send
        their modules by value."""
        from ray import cloudpickle

        for name, module in list(sys.modules.items()):
            if name.startswith("storagebench_plugin_"):
                cloudpickle.register_pickle_by_value(module)

    def map(self, fn: Work, job: Any, items: list, *, workers: int, ordered: bool, gpu: bool) -> Iterator:
        ray = self.ray
        self._share_plugins()  # the command may have loaded plug-ins since the last map
        job_ref = ray.put(job)
        options = {"num_cpus": 1, "num_gpus": self.gpus_per_task if gpu else 0}
        pending = [self._remote.options(**options).remote(fn, job_ref, item) for item in items]
        try:
            while pending:
                if ordered:
                    done = pending.pop(0)
                else:
                    (done,), pending = ray.wait(pending, num_returns=1)
                yield self._result(done)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            del job_ref

    def _result(self, ref: Any) -> Any:
        """The task's value; a StorageBenchError raised in it is raised here as itself (its message is for the
        user, not Ray's traceback)."""
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, StorageBenchError):
                raise exc.cause from None
            raise

    def describe(self) -> dict[str, Any]:
        resources = self.ray.cluster_resources()
        return {"executor": self.name, "address": self.address or "local",
                "nodes": len([n for n in self.ray.nodes() if n.get("Alive")]), "cpus": resources.get("CPU", 0),
                "gpus": resources.get("GPU", 0), "ray": self.ray.__version__}

    def close(self) -> None:
        if self.owns and self.ray.is_initialized():
            self.ray.shutdown()

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
