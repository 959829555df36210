"""The stylized multiresolution model: deterministic equivalent vs simulation, limits, the fitted law, the plot."""
from __future__ import annotations

import json

import numpy as np
import pytest

from storagebench.benchmarks.analysis.theory import (
    StylizedModel,
    fit_theory,
    run_theory,
    theory_grid,
)

SMALL = StylizedModel(levels=9)


def test_storage_counts_kept_coordinates_times_bits():
    assert StylizedModel().storage(3) == 1 + 2 + 4
    assert StylizedModel(bits_per_coordinate=8.0).storage(4) == 8.0 * 15


def test_effective_ridge_solves_its_fixed_point():
    model, n, m = StylizedModel(), 300.0, 10
    kappa = model.effective_ridge(n, m)
    sigma = np.repeat(model.p ** -np.arange(m, dtype=float), [2**l for l in range(m)])
    assert kappa == pytest.approx(model.ridge + kappa / n * np.sum(sigma / (sigma + kappa)), rel=1e-9)


@pytest.mark.parametrize(("n", "m", "r", "repeats"), [(300, 5, 0.99, 40), (1000, 8, 0.99, 10), (400, 7, 0.7, 10)])
def test_deterministic_equivalent_matches_monte_carlo(n, m, r, repeats):
    model = StylizedModel(levels=9, r=r)
    theory = model.risk(n, m)
    simulated = model.monte_carlo_risk(n, m, repeats=repeats, seed=7)
    assert simulated == pytest.approx(theory, rel=0.05)
    # The learned part alone (risk above noise + discarded signal) is the sharper check of the formula.
    floor = model.tau**2 + model.discarded_energy(m)
    assert simulated - floor == pytest.approx(theory - floor, rel=0.2)


def test_risk_decreases_with_n_down_to_noise_plus_discarded_energy():
    for m in (3, 8, 12):
        risks = [StylizedModel().risk(n, m) for n in np.geomspace(1e2, 1e6, 9)]
        assert np.all(np.diff(risks) < 0)
        floor = 1.0 + sum(0.99**l for l in range(m, 14))
        assert StylizedModel().discarded_energy(m) == pytest.approx(floor - 1.0)
        assert StylizedModel(ridge=1e-9).risk(1e12, m) == pytest.approx(floor, rel=1e-5)


def test_fixed_ridge_keeps_its_own_bias_at_infinite_n():
    model, m = StylizedModel(), 12
    sigma, energy = model.p ** -np.arange(m, dtype=float), model.r ** np.arange(m, dtype=float)
    ridge_bias = np.sum(energy * (model.ridge / (sigma + model.ridge)) ** 2)
    limit = model.tau**2 + model.discarded_energy(m) + ridge_bias
    assert model.risk(1e12, m) == pytest.approx(limit, rel=1e-6)


def test_run_theory_writes_outputs_and_fits_the_documented_exponents(tmp_path):
    summary = run_theory(tmp_path)
    saved = json.loads((tmp_path / "theory.json").read_text())
    assert (tmp_path / "theory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert saved["params"]["levels"] == 14 and len(saved["rows"]) == 13 * 11
    assert set(saved["rows"][0]) == {"n", "m", "L", "risk", "excess"}
    fit = summary["fit"]
    # the README's numbers for the defaults: α = 0.52, β = 0.18, R²(log) = 0.87
    assert fit["alpha"] == pytest.approx(0.52, abs=0.01) and fit["beta"] == pytest.approx(0.18, abs=0.01)
    assert fit["r2_log"] == pytest.approx(0.87, abs=0.01)
    assert summary["more_bits_hurt"]["holds_at_smallest_n"]


def test_fit_recovers_a_law_it_was_given():
    rows = [
        {"n": n, "L": L, "excess": 0.05 + 3.0 * n**-0.4 + 2.0 * L**-0.7}
        for n in np.geomspace(1e2, 1e5, 8)
        for L in np.geomspace(10, 1e4, 8)
    ]
    fit = fit_theory(rows)
    assert fit["alpha"] == pytest.approx(0.4, rel=1e-3) and fit["beta"] == pytest.approx(0.7, rel=1e-3)
    assert fit["r2_log"] > 0.9999


def _excess_by_m(model: StylizedModel, n: float, ms) -> list[float]:
    return [row["excess"] for row in theory_grid(model, [n], ms)]


def test_more_bits_hurt_at_small_n_but_not_at_large_n_with_defaults():
    model, ms = StylizedModel(), range(2, 13)
    small = _excess_by_m(model, 100, ms)
    assert small[7 - 2] > 1.5 * small[4 - 2]  # the interpolation peak once 2^m passes n
    assert np.all(np.diff(_excess_by_m(model, 1e5, ms)) < 0)


def test_more_bits_hurt_for_good_when_fine_levels_carry_little_signal():
    excess = _excess_by_m(StylizedModel(r=0.5), 1000, range(1, 15))
    assert int(np.argmin(excess)) + 1 == 5
    assert excess[-1] > 2.0 * min(excess)


def test_theory_command(tmp_path):
    import subprocess
    import sys

    command = [sys.executable, "-m", "storagebench", "theory", "--out", str(tmp_path / "t")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "α = " in result.stdout and "β = " in result.stdout and (tmp_path / "t" / "theory.png").exists()
    bad = subprocess.run(command + ["--ridge", "0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "ridge" in bad.stderr and "Traceback" not in bad.stderr
