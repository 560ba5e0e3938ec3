"""Maximum likelihood for the customer models of the ladder's rung 2: BG/NBD (Fader, Hardie & Lee
2005), Pareto/NBD (Schmittlein, Morrison & Colombo 1987) and Gamma-Gamma (Fader, Hardie & Lee
2005, "RFM and CLV"), vectorised over the distinct customer summaries with their counts as weights.

A customer summary is (x, t_x, T): repeat purchases, the time of the last one and the time since
the first, in `time_unit`s. Log-likelihoods are computed in log space (gammaln, logaddexp); the
Pareto/NBD's Gauss hypergeometric terms are taken on the side of the larger of α and β, where
their argument stays in [0, 1). Parameters are fitted on the log scale (they are positive) with
scipy's L-BFGS-B; standard errors come from the inverse of the negative log-likelihood's Hessian
(statsmodels' numerical one) at the estimate, by the delta method on the natural scale.

Example, CDNOW's 2,357 customers (39 weeks of calibration)::

    fit = fit_bgnbd(x, t_x, T)
    fit.params   # {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, fit.log_likelihood -9582.43
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1


@dataclass(frozen=True)
class Fit:
    """Estimates, their standard errors, and the maximised log-likelihood over all customers."""

    params: dict[str, float]
    std_errors: dict[str, float]
    log_likelihood: float
    customers: int


def distinct(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of the columns and how many customers share each (the weights).

    >>> rows, counts = distinct(np.array([0, 0, 2]), np.array([0.0, 0.0, 5.0]))
    >>> [r.tolist() for r in rows], counts.tolist()
    ([[0.0, 2.0], [0.0, 5.0]], [2, 1])
    """
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, k] for k in range(unique.shape[1])], counts


def bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """Each customer's BG/NBD log-likelihood (Fader, Hardie & Lee 2005, equation 6)."""
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    dropped = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
                       -np.inf)
    return head + np.logaddexp(alive, dropped)


def paretonbd_log_likelihood(r, alpha, s, beta, x, t_x, T) -> np.ndarray:
    """Each customer's Pareto/NBD log-likelihood (Fader, Hardie & Lee 2005, "A note on deriving the
    Pareto/NBD model and related expressions", equation 22)."""
    head, alive, dropped = _paretonbd_terms(r, alpha, s, beta, x, t_x, T)
    return head + np.logaddexp(alive, dropped)


def _paretonbd_terms(r, alpha, s, beta, x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The likelihood's logs: the common head, still alive at T, dropped between t_x and T; the
    hypergeometric terms taken with the larger of α and β so that their argument is in [0, 1)."""
    rsx = r + s + x
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    if alpha >= beta:
        larger, b_term = alpha, s + 1
    else:
        larger, b_term = beta, r + x
    gap = abs(alpha - beta)

    def term(t):  # log of 2F1(r+s+x, b; r+s+x+1; gap/(larger+t)) / (larger+t)^(r+s+x)
        return np.log(hyp2f1(rsx, b_term, rsx + 1, gap / (larger + t))) - rsx * np.log(larger + t)

    early, late = term(t_x), term(T)
    with np.errstate(divide="ignore"):  # t_x = T: nothing left between them, log(0) = -inf, as it should
        dropped = np.log(s) - np.log(rsx) + early + np.log1p(-np.exp(np.minimum(late - early, 0.0)))
    return head, alive, dropped


def gammagamma_log_likelihood(p, q, v, x, mean_spend) -> np.ndarray:
    """Each repeat customer's Gamma-Gamma log-likelihood of their mean spend per purchase over x
    purchases (Fader, Hardie & Lee 2005, "RFM and CLV", the appendix's equation)."""
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1) * np.log(mean_spend)
            + px * np.log(x) - (px + q) * np.log(x * mean_spend + v))


def _fit(log_likelihood, names: tuple[str, ...], start: tuple[float, ...], data: list[np.ndarray],
         weights: np.ndarray) -> Fit:
    """Maximise `log_likelihood(*params, *data)` weighted by `weights` over positive params."""
    from scipy.optimize import minimize
    from statsmodels.tools.numdiff import approx_hess

    def negative(log_params: np.ndarray) -> float:
        values = log_likelihood(*np.exp(log_params), *data)
        total = float(np.dot(weights, values))
        return -total if np.isfinite(total) else 1e300

    found = minimize(negative, np.log(start), method="L-BFGS-B", options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9})
    estimate = np.exp(found.x)
    errors = _std_errors(lambda params: negative(np.log(params)), estimate, approx_hess)
    return Fit(dict(zip(names, estimate.tolist())), dict(zip(names, errors.tolist())), -float(found.fun),
               int(weights.sum()))


def _std_errors(negative, estimate: np.ndarray, approx_hess) -> np.ndarray:
    """Square roots of the inverse Hessian's diagonal (NaN where it is not positive definite)."""
    try:
        covariance = np.linalg.inv(approx_hess(estimate, negative))
    except np.linalg.LinAlgError:
        return np.full(len(estimate), np.nan)
    diagonal = np.diag(covariance)
    return np.where(diagonal > 0, np.sqrt(np.abs(diagonal)), np.nan)


def fit_bgnbd(x, t_x, T) -> Fit:
    """BG/NBD's r, α, a, b by maximum likelihood over the customers' (x, t_x, T)."""
    data, weights = distinct(x, t_x, T)
    return _fit(bgnbd_log_likelihood, ("r", "alpha", "a", "b"), (1.0, 1.0, 1.0, 1.0), data, weights)


def fit_paretonbd(x, t_x, T) -> Fit:
    """Pareto/NBD's r, α, s, β by maximum likelihood over the customers' (x, t_x, T)."""
    data, weights = distinct(x, t_x, T)
    return _fit(paretonbd_log_likelihood, ("r", "alpha", "s", "beta"), (1.0, 1.0, 1.0, 1.0), data, weights)


def fit_gammagamma(x, mean_spend) -> Fit:
    """Gamma-Gamma's p, q, v over the customers with repeat purchases (x > 0) and their mean spend."""
    x, mean_spend = np.asarray(x, dtype=float), np.asarray(mean_spend, dtype=float)
    keep = (x > 0) & (mean_spend > 0)
    data, weights = distinct(x[keep], mean_spend[keep])
    return _fit(gammagamma_log_likelihood, ("p", "q", "v"), (1.0, 1.0, 1.0), data, weights)


def bgnbd_expected_purchases(params: dict[str, float], t, x=0.0, t_x=0.0, T=0.0) -> np.ndarray:
    """Expected purchases in the next `t` time units of a customer with summary (x, t_x, T)
    (Fader, Hardie & Lee 2005, equation 10); with the defaults, of a customer just arrived
    (equation 7, E[X(t)])."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, T, t = (np.asarray(v, dtype=float) for v in (x, t_x, T, t))
    ratio = (alpha + T) / (alpha + T + t)
    tail = 1 - np.exp((r + x) * np.log(ratio)) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    return (a + b + x - 1) / (a - 1) * tail * bgnbd_p_alive(params, x, t_x, T)


def bgnbd_p_alive(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """The probability that a customer with summary (x, t_x, T) is still active (Fader, Hardie &
    Lee 2008, "Computing P(alive) using the BG/NBD model"): 1 for a customer with no repeat purchase."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    odds = np.where(x > 0, a / np.maximum(b + x - 1, 1e-12) * np.exp((r + x) * np.log((alpha + T) / (alpha + t_x))), 0.0)
    return 1 / (1 + odds)


def gammagamma_expected_spend(params: dict[str, float], x, mean_spend) -> np.ndarray:
    """Expected spend per purchase of a customer with x repeat purchases of mean `mean_spend`: a
    weighted average of the population mean and their own (Fader, Hardie & Lee 2005, "RFM and CLV")."""
    p, q, v = (params[k] for k in ("p", "q", "v"))
    x, mean_spend = np.asarray(x, dtype=float), np.asarray(mean_spend, dtype=float)
    own = np.where(x > 0, mean_spend, 0.0)
    return (p * (v + x * own)) / (p * x + q - 1)


def paretonbd_p_alive(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """The probability that a customer with summary (x, t_x, T) is still active: the likelihood's
    alive term over alive + dropped (Fader, Hardie & Lee 2005 note, equation 18), in log space."""
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    _, alive, dropped = _paretonbd_terms(r, alpha, s, beta, x, t_x, T)
    return np.exp(alive - np.logaddexp(alive, dropped))


def paretonbd_expected_purchases(params: dict[str, float], t, x=0.0, t_x=0.0, T=0.0) -> np.ndarray:
    """Expected purchases in the next `t` time units of a customer with summary (x, t_x, T)
    (Schmittlein, Morrison & Colombo 1987; Fader & Hardie's note, equation 21):
    (r+x)/(α+T) · (β+T)/(s-1) · [1 - ((β+T)/(β+T+t))^(s-1)] · P(alive), with its limit
    (β+T) log((β+T+t)/(β+T)) at s = 1; with the defaults, of a customer just arrived (E[X(t)])."""
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    x, t_x, T, t = (np.asarray(v, dtype=float) for v in (x, t_x, T, t))
    log_ratio = np.log1p(t / (beta + T))  # log((β+T+t)/(β+T))
    k = s - 1
    span = log_ratio if k == 0 else -np.expm1(-k * log_ratio) / k  # [1 - ratio^(s-1)]/(s-1), → log at s=1
    return (r + x) / (alpha + T) * (beta + T) * span * paretonbd_p_alive(params, x, t_x, T)
