"""`[customer] inference = "mcmc"`: BG/NBD's posterior through pymc-marketing, checked against the
published maximum likelihood estimates (a second implementation: with 2,357 customers the
posterior sits on the likelihood's peak, as wide as its curvature)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pymc_marketing", reason="the mcmc extra: pip install 'bakeoff[mcmc]'")

CDNOW = Path(__file__).parent / "fixtures" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"


def cdnow() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = pd.read_csv(CDNOW)
    return tuple(data[c].to_numpy(float) for c in ("x", "t_x", "T"))


@pytest.fixture(scope="module")
def posterior():
    from bakeoff.tasks.customer.posterior import sample_bgnbd

    return sample_bgnbd(*cdnow(), seed=1)


def test_bgnbd_posterior_is_centred_on_the_published_estimates(posterior):
    from bakeoff.tasks.customer.estimation import fit_bgnbd

    x, t_x, T = cdnow()
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee (2005)
    for name, value in published.items():
        assert abs(posterior.params[name] - value) < 0.5 * posterior.std_errors[name] + 0.02 * value, name
    mle = fit_bgnbd(x, t_x, T)
    ratio = np.array([posterior.std_errors[k] / mle.std_errors[k] for k in published])
    assert np.all((ratio > 0.7) & (ratio < 1.5)), ratio  # the posterior's width is the likelihood's curvature
    assert posterior.method == "mcmc" and posterior.log_likelihood == pytest.approx(-9582.43, abs=1.0)


def test_mcmc_predictions_average_over_the_posterior_as_pymc_marketing_does(posterior):
    """The model's expected purchases and P(alive) are pymc-marketing's own posterior means over
    the same draws (its formulas, a second implementation), not the plug-in at the means."""
    import arviz as az
    import xarray as xr
    from pymc_marketing.clv import BetaGeoModel

    from bakeoff.tasks.customer.data import Summaries
    from bakeoff.tasks.customer.ladder import ProbabilityModel, Spend

    x, t_x, T = cdnow()
    fit = posterior
    frame = pd.DataFrame({"customer_id": np.arange(len(x)), "frequency": x, "recency": t_x, "T": T})
    theirs = BetaGeoModel(data=frame)
    theirs.build_model()
    theirs.idata = az.InferenceData(posterior=xr.Dataset(
        {k: (("chain", "draw"), v[None, :]) for k, v in fit.draws.items()}))
    nan = np.full(len(x), np.nan)
    customers = Summaries(np.arange(len(x)), x, t_x, T, nan, nan, nan, nan, 0.0)
    mine = ProbabilityModel("bg_nbd", fit, Spend(customers))
    expected = theirs.expected_purchases(frame, future_t=39).mean(("chain", "draw")).values
    alive = theirs.expected_probability_alive(frame).mean(("chain", "draw")).values
    assert np.allclose(mine.expected(customers, 39), expected, rtol=1e-6)
    assert np.allclose(mine.p_active(customers, 39), alive, rtol=1e-6)
    plug_in = ProbabilityModel("bg_nbd", dataclasses.replace(fit, draws=None), Spend(customers))
    assert not np.allclose(plug_in.p_active(customers, 39), alive, rtol=1e-3)  # the average is no plug-in
