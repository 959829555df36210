import numpy as np
import pytest

from storagebench.benchmarks.fit import ScalingLaw, fit_scaling_law
from storagebench.errors import StorageBenchError


def grid(law, noise=0.0, seed=0):
    n, L = np.meshgrid([500, 1000, 2000, 5000, 10000, 30000], [150, 220, 300, 420, 600, 900])
    n, L = n.ravel().astype(float), L.ravel().astype(float)
    err = law.predict(n, L) * np.exp(np.random.default_rng(seed).normal(0, noise, n.shape))
    return n, L, err


@pytest.mark.parametrize("truth", [ScalingLaw(0.05, 2.0, 0.35, 800.0, 1.2), ScalingLaw(0.0, 6.7, 0.33, 1355.3, 1.06)])
def test_recovers_a_known_law(truth):
    fit = fit_scaling_law(*grid(truth))
    assert fit.law.alpha == pytest.approx(truth.alpha, rel=0.02)
    assert fit.law.beta == pytest.approx(truth.beta, rel=0.02)
    assert fit.law.e_star == pytest.approx(truth.e_star, abs=2e-3)
    assert fit.r2 > 0.999


def test_noisy_data_still_close():
    truth = ScalingLaw(0.08, 3.0, 0.4, 2000.0, 1.3)
    fit = fit_scaling_law(*grid(truth, noise=0.01))
    assert abs(fit.law.alpha - truth.alpha) < 0.08 and abs(fit.law.beta - truth.beta) < 0.25
    assert fit.law.nu == pytest.approx(fit.law.alpha * fit.law.beta / (fit.law.alpha + fit.law.beta))


def test_refuses_data_that_cannot_identify_the_law():
    with pytest.raises(StorageBenchError, match="distinct L"):
        fit_scaling_law([100, 200, 300, 400, 500], [300] * 5, [0.3, 0.25, 0.2, 0.18, 0.17])
