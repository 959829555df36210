"""The layout is the architecture: data flows dataset → compressor → store → task → results → fit → leaderboard, and
every import follows it. Read from the source (every module, lazy imports inside functions included)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"storagebench": "storagebench", "tasks": "storagebench.tasks", "compressors": "storagebench.compressors",
           "benchmarks": "storagebench.benchmarks", "leaderboard": "storagebench.leaderboard"}
# room → the rooms it may import (its own always); longest module prefix decides a module's room
ROOMS = {
    "storagebench.benchmarks.cli": "cli",
    "storagebench.__main__": "cli",
    "storagebench.api": "api",
    "storagebench.leaderboard": "leaderboard",
    "storagebench.benchmarks.analysis": "analysis",
    "storagebench.benchmarks.harness": "harness",
    "storagebench.benchmarks.law": "law",
    "storagebench.benchmarks.definition": "definition",
    "storagebench.benchmarks.protocol": "definition",  # the [protocol] table of a definition
    "storagebench.benchmarks": "benchmarks",
    "storagebench.compressors": "compressors",
    "storagebench.tasks": "tasks",
    "storagebench": "shared",
}
ALLOWED = {
    "shared": set(),
    "tasks": {"shared"},
    "compressors": {"shared"},
    "definition": {"shared"},
    "law": {"shared"},
    "benchmarks": {"shared"},
    "harness": {"shared", "tasks", "compressors", "definition", "law"},
    "analysis": {"shared", "tasks", "compressors", "definition", "law", "harness"},
    "leaderboard": {"shared", "compressors", "definition", "law", "harness", "analysis"},
    "cli": {"shared", "tasks", "compressors", "definition", "law", "harness", "analysis", "leaderboard", "benchmarks"},
    "api": {"shared", "tasks", "compressors", "definition", "law", "harness", "analysis", "leaderboard", "benchmarks",
            "cli"},
}
# the package itself hands out the notebook API on first use (PEP 562 __getattr__): its one import of a front door
FRONT_DOOR = {"storagebench": {"storagebench.api"}}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def room(module: str) -> str:
    for prefix in sorted(ROOMS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return ROOMS[prefix]
    raise AssertionError(f"{module}: in no room")


def modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT / folder)
            if relative.parts[0] in ("perf", "entries"):  # the performance suite is not installed
                continue
            parts = [p for p in relative.with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
            found += [(node.lineno, name) for name in [node.module, *names]]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(line, name) for line, name in found if name == "storagebench" or name.startswith("storagebench.")]


def violations(known: dict[str, Path]) -> list[str]:
    """Every import in ``known`` (module name → file) against the allowed directions between rooms."""
    wrong: dict[str, str] = {}  # one report per import statement
    for module, path in known.items():
        here = room(module)
        for line, name in imports(path):
            target = name
            if target not in known and target.rsplit(".", 1)[0] in known:
                target = target.rsplit(".", 1)[0]  # `from package import name`: the name, or the package
            there = room(target)
            if target in FRONT_DOOR.get(module, ()):
                continue
            if there != here and there not in ALLOWED[here]:
                wrong.setdefault(f"{path.name}:{line}", f"{path.name}:{line}: {here} imports {name} ({there})")
    return sorted(wrong.values())


def test_every_import_follows_the_data_flow():
    wrong = violations(modules())
    assert not wrong, "imports against the data flow:\n" + "\n".join(wrong)


def test_the_checker_reports_backward_imports_lazy_ones_included(tmp_path):
    """The checker itself, on modules written here: a codec importing a task (inside a function), the harness
    importing the leaderboard and an analysis importing the CLI are reported; allowed imports are not."""
    sources = {
        "storagebench.compressors.bad": "def f():\n    from storagebench.tasks.training import to_tensor\n",
        "storagebench.benchmarks.harness.bad": "from storagebench.leaderboard import ranking\n",
        "storagebench.benchmarks.analysis.bad": "import storagebench.benchmarks.cli.fit\n",
        "storagebench.benchmarks.analysis.good": "from storagebench.benchmarks.harness.results import ResultsDB\n",
    }
    known = {}
    for module, text in sources.items():
        known[module] = tmp_path / f"{module}.py"
        known[module].write_text(text)
    wrong = violations(known)
    assert len(wrong) == 3, wrong
    assert any("compressors imports storagebench.tasks.training" in w for w in wrong)
    assert any("harness imports storagebench.leaderboard" in w for w in wrong)
    assert any("analysis imports storagebench.benchmarks.cli.fit" in w for w in wrong)


def test_modules_and_functions_stay_small():
    too_big = []
    for module, path in modules().items():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_big.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_big.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.name} is {length} lines")
    assert not too_big, "\n".join(too_big)


@pytest.mark.parametrize("folder", ["tasks", "compressors", "benchmarks", "leaderboard"])
def test_a_folder_imported_top_level_names_its_package(folder):
    """From the repository root, ``import tasks`` would build a second, empty registry: refused, naming the package."""
    done = subprocess.run([sys.executable, "-c", f"import {folder}"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0
    assert f"import storagebench.{folder}" in done.stderr.strip().splitlines()[-1]


def test_importing_the_packages_changes_nothing_in_the_process():
    """No import-time side effects: environment, matplotlib backend and malloc are set by the command, not on import."""
    probe = ("import os, sys; before = dict(os.environ); "
             "import storagebench.tasks, storagebench.compressors, storagebench.benchmarks.harness.runner, "
             "storagebench.benchmarks.analysis.fits, storagebench.benchmarks.analysis.curves_figure, "
             "storagebench.leaderboard.site, storagebench.leaderboard.figures; "
             "import storagebench.malloc as m; "
             "changed = sorted(k for k in set(os.environ) | set(before) if os.environ.get(k) != before.get(k)); "
             "print(changed, m.tune_malloc.cache_info().currsize)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT / "tests", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "0"]
    chosen = [f"{path.relative_to(ROOT)}" for path in modules().values() if "matplotlib.use(" in path.read_text()]
    assert not chosen, f"modules choosing the matplotlib backend on import: {chosen}"


def test_every_subpackage_is_installed():
    """A non-editable install gets exactly the packages pyproject.toml lists: none may be missing."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {module for module, path in modules().items() if path.name == "__init__.py"}
    assert packages - listed == set(), f"subpackages missing from pyproject.toml: {sorted(packages - listed)}"
