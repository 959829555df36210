"""End-to-end wall time of a benchmark (default: the embedded ``benchmarks/quick.toml``), as a user runs it:

    python benchmarks/perf/end_to_end.py [CONFIG] [--workers W] [--ray] [--data DIR]

cold: empty store and results dir (encode, decode, train, fit); warm: the store cached, a new results dir (decode
and train only); resume: the finished results dir again (nothing to do). ``--ray`` adds a warm run on a local Ray
instance. Each run is the real CLI in a subprocess; the results of cold and warm must be the same numbers.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from storagebench.benchmarks.harness.results import ResultsDB


def run_cli(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "storagebench", "run", *args], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"storagebench run {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return time.perf_counter() - started


def errors(out: Path) -> list[tuple]:
    with ResultsDB(out / "results.sqlite", read_only=True) as db:
        return [(row.cell, row.test_level, row.error) for row in db.rows()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", help="benchmark TOML (default: the embedded quick.toml)")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--ray", action="store_true", help="also time a warm run with --executor ray")
    parser.add_argument("--data", help="dataset location (default: the benchmark's)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "STORAGEBENCH_CACHE": str(Path(tmp) / "cache")}
        common = [*([args.config] if args.config else []), "--workers", str(args.workers),
                  *(["--data", args.data] if args.data else [])]
        times = {"cold (empty store)": run_cli([*common, "--out", f"{tmp}/cold"], env),
                 "warm (store cached)": run_cli([*common, "--out", f"{tmp}/warm"], env),
                 "resume (all done)": run_cli([*common, "--out", f"{tmp}/warm"], env)}
        same = errors(Path(tmp) / "cold") == errors(Path(tmp) / "warm")
        if args.ray:
            times["warm, --executor ray"] = run_cli([*common, "--out", f"{tmp}/ray", "--executor", "ray"], env)
            same = same and errors(Path(tmp) / "ray") == errors(Path(tmp) / "cold")
    print(f"storagebench run {args.config or '(quick.toml)'}, {args.workers} workers")
    for name, seconds in times.items():
        print(f"{name:24s}: {seconds:7.1f} s")
    print(f"same numbers in every run : {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
