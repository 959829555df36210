"""A benchmark file may carry a published fit of its setup ([published]: the paper's A, B, α, β, E*); the fit report
prints it beside ours, and it changes nothing a results dir is identified by."""
import tomllib
from pathlib import Path

import numpy as np
import pytest

from storagebench.benchmarks.analysis.summary import analyse, describe
from storagebench.benchmarks.definition import parse_config
from storagebench.errors import StorageBenchError

PAPER = Path(__file__).resolve().parents[1] / "benchmarks" / "paper"


def test_the_paper_files_carry_the_published_fits_and_they_do_not_change_identity():
    path = PAPER / "food101.toml"
    data = tomllib.loads(path.read_text())
    config = parse_config(data, path)
    assert config.published == {"e_star": 0.0, "A": 6.70694, "alpha": 0.3333, "B": 1355.289, "beta": 1.06131}
    without = parse_config({k: v for k, v in tomllib.loads(path.read_text()).items() if k != "published"}, path)
    assert config.identity_hash() == without.identity_hash() and config.as_toml()["published"] == config.published
    cityscapes = parse_config(tomllib.loads((PAPER / "cityscapes.toml").read_text()), PAPER / "cityscapes.toml")
    assert cityscapes.published["beta"] == pytest.approx(1.60642)
    data["published"]["alpha"] = "a third"
    with pytest.raises(StorageBenchError, match=r"food101.toml: \[published\]: the fitted law's numbers"):
        parse_config(data, path)


def test_the_fit_report_prints_the_published_fit_beside_ours():
    rng = np.random.default_rng(0)
    n = np.repeat([250.0, 500.0, 1000.0, 2000.0], 3)
    L = np.tile([300.0, 600.0, 1200.0], 4)
    err = 0.05 + 2.0 * n ** -0.4 + 40.0 * L ** -0.8 + rng.normal(0, 0.002, len(n))
    summary = analyse(n, L, err, None, 20)
    summary["published"] = {"e_star": 0.0, "A": 6.70694, "alpha": 0.3333, "B": 1355.289, "beta": 1.06131}
    text = describe(summary)
    assert ("published fit (the benchmark's [published]): E* = 0.0000  A = 6.707  α = 0.3333  B = 1355  "
            "β = 1.0613") in text
