"""Benchmarks: the TOML definitions in this folder and ``definition`` (their one parser), with the rooms that use them:
``harness`` (runs them), ``law`` (the scaling law's numbers), ``analysis`` (reads results dirs back) and ``cli``."""
if __name__ != "storagebench.benchmarks":  # this folder imported as a top-level package: a second set of registries
    raise ImportError("'benchmarks' is the folder of the package storagebench.benchmarks: "
                      "import storagebench.benchmarks (install it with `make setup` or `pip install -e .`)")
