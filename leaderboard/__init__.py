"""Rankings at equal storage, export, the static site and W&B publishing (built on results dirs)."""
if __name__ != "storagebench.leaderboard":  # this folder imported as a top-level package: a second set of registries
    raise ImportError("'leaderboard' is the folder of the package storagebench.leaderboard: "
                      "import storagebench.leaderboard (install it with `make setup` or `pip install -e .`)")
