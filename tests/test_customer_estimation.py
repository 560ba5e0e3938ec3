"""Customer models by maximum likelihood: the published CDNOW estimates, reproduced."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bakeoff.tasks.customer.estimation import (
    bgnbd_log_likelihood,
    fit_bgnbd,
    fit_gammagamma,
    fit_paretonbd,
    paretonbd_log_likelihood,
)

CDNOW = Path(__file__).parent / "fixtures" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(CDNOW)


def test_bgnbd_reproduces_fader_hardie_and_lee_on_cdnow(cdnow):
    fit = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])  # published: 0.243, 4.414, 0.793, 2.426; LL -9582.4
    assert fit.params == pytest.approx({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, abs=6e-4)
    assert fit.log_likelihood == pytest.approx(-9582.43, abs=0.01) and fit.customers == 2357
    assert all(0 < e < v for e, v in zip(fit.std_errors.values(), fit.params.values()))


def test_paretonbd_reproduces_the_published_estimates_on_cdnow(cdnow):
    fit = fit_paretonbd(cdnow["x"], cdnow["t_x"], cdnow["T"])  # published: r 0.553, α 10.58, s 0.606, β 11.66
    assert fit.params["r"] == pytest.approx(0.553, abs=6e-4) and fit.params["alpha"] == pytest.approx(10.58, abs=6e-3)
    assert fit.params["s"] == pytest.approx(0.606, abs=6e-4)
    assert fit.params["beta"] == pytest.approx(11.66, abs=0.05)  # weakly identified: its error is large
    assert fit.std_errors["beta"] > 10 * fit.std_errors["r"]


def test_gammagamma_reproduces_the_published_estimates_on_cdnow(cdnow):
    fit = fit_gammagamma(cdnow["x"], cdnow["zbar"])  # published: p 6.25, q 3.74, v 15.44 (946 repeat buyers)
    assert fit.params == pytest.approx({"p": 6.25, "q": 3.74, "v": 15.44}, abs=0.01)
    assert fit.customers == int((cdnow["x"] > 0).sum()) == 946


def test_the_likelihoods_agree_with_their_closed_forms_by_hand():
    # a customer with no repeat purchase: BG/NBD is P(no purchase in T) = (α/(α+T))^r
    r, alpha, a, b, T = 0.5, 3.0, 0.8, 2.0, 10.0
    assert bgnbd_log_likelihood(r, alpha, a, b, np.array([0.0]), np.array([0.0]), np.array([T]))[0] == pytest.approx(
        r * np.log(alpha / (alpha + T)))
    # Pareto/NBD with α = β: the hypergeometric terms vanish, leaving a closed form (FHL 2005 note, eq. 22)
    s, x, t_x = 0.7, 3.0, 6.0
    from scipy.special import gammaln

    head = gammaln(r + x) - gammaln(r) + (r + s) * np.log(alpha)
    alive = 1 / (alpha + T) ** (r + s + x)
    dropped = s / (r + s + x) * (1 / (alpha + t_x) ** (r + s + x) - 1 / (alpha + T) ** (r + s + x))
    assert paretonbd_log_likelihood(r, alpha, s, alpha, np.array([x]), np.array([t_x]), np.array([T]))[0] == \
        pytest.approx(head + np.log(alive + dropped))


def test_summaries_from_the_cdnow_log_are_the_published_ones(cdnow):
    from bakeoff.tasks.customer.summaries import customer_summaries

    log = Path(__file__).parents[1] / "examples" / "cdnow_spend" / "cdnowElog.csv"  # the log, with its SOURCE.md
    mine = customer_summaries(f"read_csv_auto('{log}')", id="sampleid",
                              day="strptime(CAST(date AS VARCHAR), '%Y%m%d')::DATE", amount="sales",
                              calibration_end="1997-09-30")  # 39 weeks after the cohort's first day
    assert mine["id"].tolist() == cdnow["ID"].tolist() and mine["x"].tolist() == cdnow["x"].tolist()
    for ours, theirs in (("t_x", "t_x"), ("T", "T"), ("mean_spend", "zbar")):  # published to 2 decimals
        assert np.allclose(mine[ours].fillna(0), cdnow[theirs], rtol=0, atol=0.0051), ours
    fit = fit_bgnbd(mine["x"], mine["t_x"], mine["T"])  # from the raw log to the published estimates
    assert fit.params["r"] == pytest.approx(0.243, abs=1e-3) and fit.params["b"] == pytest.approx(2.426, abs=6e-3)


def test_bgnbd_predictions_agree_with_a_simulation_of_the_model_and_with_the_papers_algebra():
    from bakeoff.tasks.customer.estimation import (
        bgnbd_expected_purchases,
        bgnbd_p_alive,
        gammagamma_expected_spend,
    )

    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    rng = np.random.default_rng(0)
    n, horizon = 400_000, 39.0
    rate = rng.gamma(params["r"], 1 / params["alpha"], n)  # the model as a story: a purchase rate per customer,
    drop = rng.beta(params["a"], params["b"], n)  # a chance of leaving after each purchase
    purchases, clock, active = np.zeros(n), np.zeros(n), np.ones(n, bool)
    for _ in range(60):
        clock = clock + rng.exponential(1 / np.maximum(rate, 1e-12))
        bought = active & (clock <= horizon)
        purchases += bought
        active = bought & (rng.random(n) >= drop)
    simulated = purchases.mean()
    assert float(bgnbd_expected_purchases(params, horizon)) == pytest.approx(simulated, rel=0.02)
    # P(alive) by the paper's algebra: 1 with no repeat purchase; odds a/(b+x-1) ((α+T)/(α+t_x))^(r+x)
    odds = 0.793 / (2.426 + 2 - 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ** (0.243 + 2)
    assert bgnbd_p_alive(params, [0, 2], [0, 30.43], [38.86, 38.86]) == pytest.approx([1.0, 1 / (1 + odds)])
    # Gamma-Gamma: (q-1)/(px+q-1) of the population mean pv/(q-1), the rest the customer's own mean
    p, q, v = 6.25, 3.74, 15.44
    shrunk = (q - 1) / (p * 2 + q - 1) * p * v / (q - 1) + p * 2 / (p * 2 + q - 1) * 30.0
    assert float(gammagamma_expected_spend({"p": p, "q": q, "v": v}, 2, 30.0)) == pytest.approx(shrunk)


PARETO = {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.66}  # the published CDNOW estimates


def test_paretonbd_expected_purchases_of_a_new_customer_agree_with_a_simulation_of_the_model():
    from bakeoff.tasks.customer.estimation import paretonbd_expected_purchases

    rng = np.random.default_rng(1)
    n, horizon = 400_000, 39.0
    rate = rng.gamma(PARETO["r"], 1 / PARETO["alpha"], n)  # the model as a story: a purchase rate,
    dropout = rng.gamma(PARETO["s"], 1 / PARETO["beta"], n)
    lifetime = rng.exponential(1 / dropout)  # an exponential lifetime
    simulated = rng.poisson(rate * np.minimum(lifetime, horizon)).mean()
    expected = float(paretonbd_expected_purchases(PARETO, horizon))
    assert expected == pytest.approx(simulated, rel=0.02)


def _paretonbd_by_quadrature(params, x, t_x, T, t):
    """P(alive) and E[purchases in t] by numerical integration of the individual-level story:
    dying at τ in (t_x, T) integrated over τ; alive, λ ~ Γ(r+x, α+T), μ ~ Γ(s, β+T), and the
    expected purchases λ ∫_0^t E[e^(-μu)] du."""
    from scipy.integrate import quad

    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    alive = (alpha / (alpha + T)) ** r / (alpha + T) ** x * (beta / (beta + T)) ** s
    dropped = quad(lambda tau: (alpha / (alpha + tau)) ** r / (alpha + tau) ** x
                   * s / beta * (beta / (beta + tau)) ** (s + 1), t_x, T, epsabs=0, epsrel=1e-11)[0]
    p_alive = alive / (alive + dropped)
    survive = quad(lambda u: ((beta + T) / (beta + T + u)) ** s, 0, t, epsabs=0, epsrel=1e-11)[0]
    return p_alive, p_alive * (r + x) / (alpha + T) * survive


@pytest.mark.parametrize("params", [PARETO, {"r": 0.9, "alpha": 4.0, "s": 1.0, "beta": 20.0},
                                    {"r": 2.0, "alpha": 30.0, "s": 1.7, "beta": 5.0}])
def test_paretonbd_p_alive_and_expected_purchases_agree_with_numerical_integration(params):
    from bakeoff.tasks.customer.estimation import paretonbd_expected_purchases, paretonbd_p_alive

    x, t_x = np.array([0.0, 1.0, 2.0, 7.0, 20.0]), np.array([0.0, 1.71, 30.43, 10.0, 38.0])
    T = np.full(5, 38.86)
    expected = np.array([_paretonbd_by_quadrature(params, *row, 52.0) for row in zip(x, t_x, T)])
    assert paretonbd_p_alive(params, x, t_x, T) == pytest.approx(expected[:, 0], rel=1e-8)
    purchases = paretonbd_expected_purchases(params, 52.0, x, t_x, T)
    assert purchases == pytest.approx(expected[:, 1], rel=1e-8)
    bought_today = paretonbd_p_alive(params, [3.0], [38.86], [38.86])
    assert bought_today == pytest.approx([1.0])


def test_paretonbd_expected_purchases_are_continuous_through_s_equal_one():
    from bakeoff.tasks.customer.estimation import paretonbd_expected_purchases

    near = [float(paretonbd_expected_purchases(dict(PARETO, s=s), 39.0, 2, 30.43, 38.86))
            for s in (1 - 1e-7, 1.0, 1 + 1e-7)]
    assert near[0] == pytest.approx(near[1], rel=1e-6)
    assert near[2] == pytest.approx(near[1], rel=1e-6)


def _central_differences(log_likelihood, params, data, step=1e-6):
    columns = []
    for k in range(len(params)):
        up, down = list(params), list(params)
        up[k], down[k] = params[k] * (1 + step), params[k] * (1 - step)
        difference = log_likelihood(*up, *data) - log_likelihood(*down, *data)
        columns.append(difference / (2 * step * params[k]))
    return np.array(columns)


@pytest.mark.parametrize("model, params", [
    ("bgnbd", (0.243, 4.414, 0.793, 2.426)), ("paretonbd", (0.553, 10.58, 0.606, 11.66)),
    ("paretonbd", (0.553, 12.0, 0.606, 9.0)), ("paretonbd", (2.0, 3.0, 1.5, 30.0)),
    ("gammagamma", (6.25, 3.74, 15.44))])
def test_the_analytic_gradients_agree_with_finite_differences_of_the_likelihoods(cdnow, model,
                                                                                 params):
    from bakeoff.tasks.customer import estimation

    data = [cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(), cdnow["T"].to_numpy()]
    if model == "gammagamma":
        repeat = cdnow["x"] > 0
        data = [cdnow["x"][repeat].to_numpy(float), cdnow["zbar"][repeat].to_numpy()]
    log_likelihood = getattr(estimation, f"{model}_log_likelihood")
    value, gradient = getattr(estimation, f"{model}_value_and_gradient")(*params, *data)
    assert np.allclose(value, log_likelihood(*params, *data), rtol=1e-12)
    numerical = _central_differences(log_likelihood, params, data)
    assert np.allclose(gradient, numerical, rtol=1e-5, atol=1e-6)


def test_the_paretonbd_terms_at_the_distinct_pairs_are_those_of_each_customer(cdnow):
    from bakeoff.tasks.customer.estimation import _Pairs, paretonbd_value_and_gradient

    data = [cdnow["x"].to_numpy(float), cdnow["t_x"].to_numpy(), cdnow["T"].to_numpy()]
    pairs = _Pairs.of(*data, merge=True)
    assert len(pairs.t) < len(data[0])  # 2,357 customers, twice: far fewer distinct (x, t)
    each, merged = (paretonbd_value_and_gradient(*PARETO.values(), *data, pairs=p)
                    for p in (None, pairs))
    assert np.allclose(each[0], merged[0], rtol=1e-14)
    assert np.allclose(each[1], merged[1], rtol=1e-14)
