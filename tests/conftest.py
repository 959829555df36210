"""Tiny generated data and helpers shared by the tests: nothing here needs the network or a GPU."""
from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# The costly session results dirs several files read (~1.5 min each to build): under pytest-xdist the files that use
# them run together on one worker, so each dir is built once. tiny_reduction (~30 s) may be built on both workers.
SHARED_FIXTURES = ("leaderboard_results", "task_dirs")


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, when it is installed
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN001, ANN201
    """`make test` runs `-n auto --dist loadfile`: each test file runs whole on one worker (its module fixtures are
    built once, and test_ray_executor's Ray instances never meet another file's), and the files that read the shared
    session dirs run on one worker together. (xdist's own `loadgroup` marks do not reach its scheduler under
    pytest 9.2, whose node ids xdist can no longer suffix.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    shared = {path.name for path in Path(__file__).parent.glob("test_*.py")
              if any(name in path.read_text() for name in SHARED_FIXTURES)}

    class FilesSharingFixtures(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "shared session dirs" if Path(path).name in shared else path

    return FilesSharingFixtures(config, log)


@pytest.fixture(scope="session", autouse=True)
def share_cores_between_xdist_workers() -> None:
    """Under pytest-xdist each worker's own torch computes on its share of the cores: torch's default of one thread
    per core in every worker oversubscribes them (measured: a training test twice as slow beside another). The
    storagebench processes the tests start set their own threads."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


# The smallest model each task takes: tests that check the harness, not a recipe, train these.
SMALLEST_MODELS = {
    "classification": {"depth": 2, "width": 8},
    "segmentation": {"encoder_depth": 3, "decoder_width": 16},
    "detection": {"width": 8, "fpn_channels": 32, "head_convs": 1, "score_thresh": 0.2, "detections_per_img": 10},
}


SCENES_TOML = """
[benchmark]
name = "{name}"
n = {n}

[dataset]
name = "fashion-scenes"
target = "{target}"
root = "{root}"
{dataset}

[compressor]
name = "jpegxl"
effort = 3
train_levels = ["lossless", 6]
test_levels = ["lossless", 6]

[task]
name = "{task}"
epochs = 1
{steps}
{recipe}
"""


def scenes_config(task: str, target: str, root: Path, n: list[int], dataset: str, steps: str, recipe: str) -> str:
    """A tiny benchmark of ``task`` on fashion-scenes (``dataset``: its size keys) × two JPEG XL levels."""
    return SCENES_TOML.format(name=f"tiny-{task}", task=task, target=target, root=root, n=n, dataset=dataset,
                              steps=steps, recipe=recipe)


def toml_keys(table: dict) -> str:
    """``key = value`` lines of a flat table of numbers (for a config's [task] section)."""
    return "\n".join(f"{key} = {value}" for key, value in table.items())


def processes_with(text: str, settle: float = 10.0) -> list[int]:
    """PIDs whose command line holds ``text``, once they have had ``settle`` seconds to exit (a killed process on a
    busy machine takes a moment to be gone; one that outlives this lingers). ``settle = 0``: those running now."""
    deadline = time.monotonic() + settle
    while (found := _processes_with(text)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def _processes_with(text: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:  # gone meanwhile
            pass
    return found


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload, mtime=0))
    else:
        path.write_bytes(payload)
    return path


def synthetic_images(count: int, seed: int, classes: int = 10, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Class c is a faint bar near a class-specific height over strong noise: learnable in a few steps, but not
    perfectly, so errors stay strictly between 0 and 1 (as a log-log fit needs)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % classes
    rng.shuffle(labels)
    images = rng.normal(90, 45, size=(count, size, size))
    for i, c in enumerate(labels):
        top = 1 + int(c) * (size - 4) // classes + int(rng.integers(-2, 3))
        top = min(max(top, 0), size - 3)
        images[i, top:top + 3, 3:size - 3] += rng.uniform(40, 90)
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.uint8)


def make_fashion_dir(root: Path, n_train: int = 400, n_test: int = 200, compress: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for split, prefix, count, seed in (("train", "train", n_train, 1), ("test", "t10k", n_test, 2)):
        images, labels = synthetic_images(count, seed)
        write_idx(root / f"{prefix}-images-idx3-ubyte", images, compress)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", labels, compress)
    return root


# A compressor that exists only in a file: for `path/to/file.py:Invert` specs.
INVERT_PLUGIN = '''
import numpy as np
from storagebench.compressors import ImageCodec
from dataclasses import dataclass

@dataclass(frozen=True)
class Params:
    shift: int = 0

class Invert(ImageCodec):
    """Stores 255 − pixels, raw."""
    Params = Params
    default_levels = ("lossless",)
    default_test_levels = ("lossless",)
    def parse_level(self, value):
        return value
    def encode(self, image, level):
        return np.ascontiguousarray(255 - image).tobytes()
    def decode(self, data, level):
        return 255 - np.frombuffer(data, np.uint8).reshape(28, 28)
'''


TINY_CONFIG = """
[benchmark]
name = "{name}"
seeds = {seeds}
n = {n}

[dataset]
name = "fashion-mnist"

[compressor]
name = "jpegxl"
effort = 3
train_levels = {train_levels}
test_levels = ["lossless", 8]

[task]
name = "classification"
width = 8
epochs = 2
min_steps = {min_steps}
batch_size = 32
lr = 0.05
"""


def write_config(path: Path, *, name: str = "tiny", seeds: str = "[0]", n: str = "[40, 80, 120]",
                 train_levels: str = '["lossless", 4]', min_steps: int = 20) -> Path:
    path.write_text(TINY_CONFIG.format(name=name, seeds=seeds, n=n, train_levels=train_levels,
                                       min_steps=min_steps))
    return path


@pytest.fixture
def no_full_collections(monkeypatch: pytest.MonkeyPatch) -> None:
    """statsmodels' Holm correction ends with gc.collect(), ~0.1 s in a test process: statistics tests rank hundreds
    of boards. Only the speed changes."""
    import gc

    monkeypatch.setattr(gc, "collect", lambda *args: 0)


@pytest.fixture(scope="session", autouse=True)
def cache_outside_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """What in-process tests cache (a user folder's file digests, say) goes to a temporary folder, not ~/.cache;
    a test's own STORAGEBENCH_CACHE (``cli_env``) still wins for the commands it runs."""
    if "STORAGEBENCH_CACHE" not in os.environ:
        os.environ["STORAGEBENCH_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def fashion_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fashion_dir(tmp_path_factory.mktemp("fashion"))


@pytest.fixture
def cli_env(tmp_path: Path, fashion_dir: Path) -> dict[str, str]:
    return {**os.environ, "STORAGEBENCH_CACHE": str(tmp_path / "cache"), "STORAGEBENCH_DATA": str(fashion_dir)}


def run_cli(args: list[str], env: dict[str, str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:  # noqa: ANN003
    return subprocess.run([sys.executable, "-m", "storagebench", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600, **kwargs)


def before_and_after_training(task, train: tuple, test: tuple, num_classes: int) -> tuple[dict, dict]:  # noqa: ANN001
    """A task's test metrics for its untrained model (built with seed 0) and after ``task.train`` with seed 0;
    ``train`` and ``test`` are (images, targets)."""
    import torch

    images = test[0]
    torch.manual_seed(0)
    untrained = task.build(1 if images.ndim == 3 else images.shape[3], num_classes, images.shape[1:3])
    before = task.evaluate(untrained, *test)
    return before, task.evaluate(task.train(*train, num_classes, seed=0), *test)



@pytest.fixture(scope="session")
def leaderboard_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny results dirs (jpegxl run with --wandb, webp) on one benchmark definition with budgets."""
    from leaderboard_data import make_results

    return make_results(tmp_path_factory.mktemp("leaderboard"))


@pytest.fixture(scope="session")
def tiny_reduction(tmp_path_factory: pytest.TempPathFactory, fashion_dir: Path) -> tuple:
    """A tiny reduction benchmark's run: (config, results dir, environment, completed process)."""
    from reduction_data import make_reduction

    return make_reduction(tmp_path_factory.mktemp("reduction"), fashion_dir)


@pytest.fixture(scope="session")
def task_dirs(tmp_path_factory: pytest.TempPathFactory, fashion_dir: Path) -> dict[str, Path]:
    """Three tiny results dirs of one set of scenes as labels, masks and boxes (2 seeds, fitted, curves where the
    fit allocates): {task: results dir}."""
    from tasks_data import make_task_dirs

    root = tmp_path_factory.mktemp("tasks")
    return make_task_dirs(root, {**os.environ, "STORAGEBENCH_CACHE": str(root / "cache"),
                                 "STORAGEBENCH_DATA": str(fashion_dir)})
