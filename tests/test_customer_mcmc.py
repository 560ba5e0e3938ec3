"""`[customer] inference = "mcmc"`: BG/NBD's posterior through pymc-marketing, checked against the
published maximum likelihood estimates (a second implementation: with 2,357 customers the
posterior sits on the likelihood's peak, as wide as its curvature)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pymc_marketing", reason="the mcmc extra: pip install 'bakeoff[mcmc]'")

CDNOW = Path(__file__).parent / "fixtures" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"


def test_bgnbd_posterior_is_centred_on_the_published_estimates():
    from bakeoff.tasks.customer.estimation import fit_bgnbd
    from bakeoff.tasks.customer.posterior import sample_bgnbd

    data = pd.read_csv(CDNOW)
    x, t_x, T = (data[c].to_numpy(float) for c in ("x", "t_x", "T"))
    posterior = sample_bgnbd(x, t_x, T, seed=1)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee (2005)
    for name, value in published.items():
        assert abs(posterior.params[name] - value) < 0.5 * posterior.std_errors[name] + 0.02 * value, name
    mle = fit_bgnbd(x, t_x, T)
    ratio = np.array([posterior.std_errors[k] / mle.std_errors[k] for k in published])
    assert np.all((ratio > 0.7) & (ratio < 1.5)), ratio  # the posterior's width is the likelihood's curvature
    assert posterior.method == "mcmc" and posterior.log_likelihood == pytest.approx(-9582.43, abs=1.0)
