"""Adding a storage-curve scheme or a law form is one class: registered from outside storagebench (here, this test
module), each is used end to end — the fit compares the new form with the built-in ones in fits.json, and
`curves` builds, trains, stores and tabulates the new scheme beside the others."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli, write_config

from storagebench.benchmarks.harness.schemes import SCHEMES, CurveScheme, default_schemes, parse_scheme
from storagebench.benchmarks.law.forms import FORMS, LawForm, form_names
from storagebench.benchmarks.law.scaling_law import ScalingLaw


class StorageOnly(LawForm):
    """E* + A·(n·L)^-α: error as a function of total bytes alone."""

    order, kinds = 9, "cce"

    def predict(self, law, n, L):  # noqa: ANN001, ANN201
        return law.e_star + law.A * (n * L) ** -law.alpha

    def columns(self, n, L, alpha, beta):  # noqa: ANN001, ANN201
        return np.column_stack([np.ones_like(n), (n * L) ** -alpha])

    def from_coefficients(self, coef, alpha, beta):  # noqa: ANN001, ANN201
        return ScalingLaw(float(coef[0]), float(coef[1]), float(alpha), 0.0, 1.0, self.name)

    def pack(self, law):  # noqa: ANN001, ANN201
        return np.array([law.e_star, law.A, law.alpha])

    def unpack(self, p):  # noqa: ANN001, ANN201
        return ScalingLaw(float(p[0]), float(p[1]), float(p[2]), 0.0, 1.0, self.name)

    def gradient(self, p, n, L):  # noqa: ANN001, ANN201
        e_star, a, alpha = p
        term = (n * L) ** -alpha
        return np.column_stack([np.ones_like(n), term, -a * term * np.log(n * L)])


class HalfOriginal(CurveScheme):
    """Original-format images filling half the budget: a deliberately wasteful scheme."""

    order = 5

    def build(self, builder, seed, budget):  # noqa: ANN001, ANN201
        return builder.fill(seed, budget / 2, builder.plan.codec.original_level)


@pytest.fixture
def registered():
    FORMS.register("storage-only")(StorageOnly)
    SCHEMES.register("half-original")(HalfOriginal)
    yield
    FORMS.unregister("storage-only")
    SCHEMES.unregister("half-original")


def test_a_law_form_registered_outside_is_fitted_and_compared(registered):
    from storagebench.benchmarks.law.fit import fit_robust
    from storagebench.benchmarks.law.uncertainty import compare_forms

    assert form_names() == ["additive", "no-floor", "multiplicative", "storage-only"]
    n, L = np.meshgrid([100.0, 200, 400, 800, 1600], [150.0, 250, 400])
    n, L = n.ravel(), L.ravel()
    err = 0.05 + 3.0 * (n * L) ** -0.3
    law = fit_robust(n, L, err, "storage-only")
    assert law.form == "storage-only" and abs(law.alpha - 0.3) < 0.02 and abs(law.e_star - 0.05) < 0.005
    forms = compare_forms(n, L, err)
    assert list(forms) == form_names()  # (the multiplicative form with α = β is this law too: both fit it)
    assert forms["storage-only"]["held_out_rmse_log"] < 1e-3 < forms["additive"]["held_out_rmse_log"]


def test_a_scheme_registered_outside_builds_trains_and_is_tabulated(registered, tmp_path, cli_env, monkeypatch):
    from storagebench.benchmarks.analysis.curves import write_curves
    from storagebench.benchmarks.analysis.fits import current_law
    from storagebench.benchmarks.harness.curves import run_curves

    assert parse_scheme("half-original").label == "half-original"
    from storagebench.benchmarks.harness.knob import ContinuousKnob

    jpegxl_distances = ContinuousKnob(0.5, 25.0, distance_like=True)
    assert default_schemes([6.0], jpegxl_distances) == ["original", "optimal", "naive-d6", "randomized",
                                                        "half-original"]
    config = write_config(tmp_path / "tiny.toml", n="[40, 80, 160]", train_levels='["lossless", 3, 9]')
    assert run_cli(["run", str(config), "--out", "out"], cli_env, tmp_path).returncode == 0
    for key, value in cli_env.items():
        monkeypatch.setenv(key, value)
    out, budget = tmp_path / "out", 60e3
    rows, law = run_curves(out, [budget], [], 1, tmp_path / "cache", current_law)
    half = [r for r in rows if r.scheme == "half-original"]
    assert len(half) == 1 and 0.45 * budget < half[0].bytes_total <= budget / 2 and half[0].level == "lossless"
    original = next(r for r in rows if r.scheme == "original")
    assert original.n > 1.8 * half[0].n
    summary, json_path, _ = write_curves(out, rows, law)
    assert list(summary["table"][f"{budget:g}"])[-1] == "half-original"  # listed in its declared order
    assert any(r["scheme"] == "half-original" for r in json.loads(json_path.read_text())["rows"])


def test_an_unknown_scheme_or_form_is_one_error_naming_the_known_ones():
    from storagebench.benchmarks.law.forms import law_form
    from storagebench.errors import StorageBenchError

    with pytest.raises(StorageBenchError, match='unknown storage-curve scheme .*"original".*"naive-d<D>"'):
        parse_scheme("nave-d3", "[compare].schemes")
    with pytest.raises(StorageBenchError, match="unknown law form 'quadratic'; known: additive, no-floor"):
        law_form("quadratic")
    with pytest.raises(StorageBenchError, match="unknown law form"):
        law_form("os:system")  # a name from a fits.json is never imported as a spec
