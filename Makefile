# The README's two commands: `make run` (the embedded default benchmark) and `make test`. Both set up first.
.PHONY: setup run test perf entries scenes clean

setup:
	@bash scripts/bootstrap

run: setup
	.venv/bin/storagebench run

# one pytest worker per core; a test file stays on one worker (tests/conftest.py)
test: setup
	.venv/bin/python -m pytest -q -n auto --dist loadfile tests

# the performance suite: every ratio of the README's Performance section, in one run (about 8 minutes on 2 cores)
perf: setup
	.venv/bin/python benchmarks/perf/compress.py
	.venv/bin/python benchmarks/perf/training.py
	.venv/bin/python benchmarks/perf/precision.py
	.venv/bin/python benchmarks/perf/end_to_end.py --ray
	.venv/bin/python benchmarks/perf/store_index.py
	.venv/bin/python benchmarks/perf/streaming.py

# leaderboard/entries/: the ten built-ins submitted on benchmarks/leaderboard.toml (grid, protocol, entry)
entries: setup
	bash scripts/leaderboard-entries

# the three tasks' standard benchmarks on one set of scenes, their storage curves, and the comparison
scenes: setup
	bash scripts/scenes-benchmarks

clean:
	rm -rf .venv results
