"""Maximum likelihood for the customer models of the ladder's rung 2: BG/NBD (Fader, Hardie & Lee
2005), Pareto/NBD (Schmittlein, Morrison & Colombo 1987) and Gamma-Gamma (Fader, Hardie & Lee
2005, "RFM and CLV"), vectorised over the distinct customer summaries with their counts as weights.

A customer summary is (x, t_x, T): repeat purchases, the time of the last one and the time since
the first, in `time_unit`s. Log-likelihoods are computed in log space (gammaln, logaddexp); the
Pareto/NBD's Gauss hypergeometric terms are taken on the side of the larger of α and β, where
their argument stays in [0, 1). Parameters are fitted on the log scale (they are positive) with
scipy's L-BFGS-B and the analytic gradient (exact but for the Pareto/NBD's 2F1 in its parameters,
by forward differences); standard errors come from the inverse of minus the Hessian on the natural
scale, by central differences of the gradient at the estimate.

Example, CDNOW's 2,357 customers (39 weeks of calibration)::

    fit = fit_bgnbd(x, t_x, T)
    fit.params   # {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, fit.log_likelihood -9582.43
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

STEP = 1e-7  # relative step of the forward differences of 2F1 in its parameters
HESSIAN_STEP = 1e-4  # relative step of the central differences of the gradient


@dataclass(frozen=True)
class Fit:
    """Estimates, their standard errors, and the maximised log-likelihood over all customers
    (with method "mcmc": posterior means and standard deviations, the log-likelihood at the means,
    and draws from the posterior: predictions are their average, not the plug-in at the means)."""

    params: dict[str, float]
    std_errors: dict[str, float]
    log_likelihood: float
    customers: int
    method: str = "mle"
    draws: dict[str, np.ndarray] | None = None  # with "mcmc": posterior draws each prediction averages over

    def averaged(self, formula, *args) -> np.ndarray:
        """`formula(params, *args)` at the estimates, or averaged over the posterior's draws."""
        if not self.draws:
            return formula(self.params, *args)
        names = list(self.draws)
        count = len(self.draws[names[0]])
        return np.mean([formula({k: self.draws[k][d] for k in names}, *args) for d in range(count)], axis=0)


def distinct(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of the columns and how many customers share each (the weights).

    >>> rows, counts = distinct(np.array([0, 0, 2]), np.array([0.0, 0.0, 5.0]))
    >>> [r.tolist() for r in rows], counts.tolist()
    ([[0.0, 2.0], [0.0, 5.0]], [2, 1])
    """
    unique, where = _unique_rows([np.asarray(c, dtype=float).ravel() for c in columns])
    return unique, np.bincount(where, minlength=len(unique[0]))


def _unique_rows(columns: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows in lexicographic order, and where each row is among them (np.unique with
    axis=0 gives the same, but sorts the rows as bytes: some ten times slower on a million)."""
    order = np.lexsort(columns[::-1])
    ordered = [c[order] for c in columns]
    new = np.zeros(len(order), dtype=bool)
    new[:1] = True
    for c in ordered:
        new[1:] |= c[1:] != c[:-1]
    where = np.empty(len(order), dtype=np.intp)
    where[order] = np.cumsum(new) - 1
    return [c[new] for c in ordered], where


def bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """Each customer's BG/NBD log-likelihood (Fader, Hardie & Lee 2005, equation 6)."""
    head, alive, dropped = _bgnbd_terms(r, alpha, a, b, x, t_x, T)
    return head + np.logaddexp(alive, dropped)


def _bgnbd_terms(r, alpha, a, b, x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The likelihood's logs: the common head, still alive at T, dropped after the last purchase."""
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    dropped = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0))
                       - (r + x) * np.log(alpha + t_x), -np.inf)
    return head, alive, dropped


def bgnbd_value_and_gradient(r, alpha, a, b, x, t_x, T) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's BG/NBD log-likelihood and its gradient in (r, α, a, b), shape
    (4, customers)."""
    head, alive, dropped = _bgnbd_terms(r, alpha, a, b, x, t_x, T)
    ab = digamma(a + b) - digamma(a + b + x)
    d_head = [digamma(r + x) - digamma(r) + np.log(alpha), r / alpha + 0 * x, ab,
              ab + digamma(b + x) - digamma(b)]
    d_alive = [-np.log(alpha + T), -(r + x) / (alpha + T), 0 * x, 0 * x]
    d_dropped = [-np.log(alpha + t_x), -(r + x) / (alpha + t_x), 1 / a + 0 * x,
                 -1 / np.where(x > 0, b + x - 1, 1.0)]
    return _mixture(head, alive, dropped, np.array(d_head), np.array(d_alive), np.array(d_dropped))


def _mixture(head, alive, dropped, d_head, d_alive, d_dropped) -> tuple[np.ndarray, np.ndarray]:
    """head + log(e^alive + e^dropped) and its gradient from those of its three terms."""
    total = np.logaddexp(alive, dropped)
    share = np.exp(dropped - total)  # the dropped term's share of the likelihood
    gradient = d_head + (1 - share) * d_alive + share * np.where(share > 0, d_dropped, 0.0)
    return head + total, gradient


def paretonbd_log_likelihood(r, alpha, s, beta, x, t_x, T) -> np.ndarray:
    """Each customer's Pareto/NBD log-likelihood (Fader, Hardie & Lee 2005, "A note on deriving the
    Pareto/NBD model and related expressions", equation 22)."""
    head, alive, dropped, _ = _paretonbd_terms(r, alpha, s, beta, x, t_x, T)
    return head + np.logaddexp(alive, dropped)


def _paretonbd_terms(r, alpha, s, beta, x, t_x, T, pairs: _Pairs | None = None) -> tuple:
    """The likelihood's logs: the common head, still alive at T, dropped between t_x and T; and
    the hypergeometric terms the last is made of, at `pairs` (each customer's, by default)."""
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    pairs = _Pairs.of(x, t_x, T) if pairs is None else pairs
    hyp = _Hypergeometric.of(r, alpha, s, beta, pairs.x)
    terms = hyp.log_term(pairs.t)
    early, late = pairs.early_late(terms)
    dropped = np.log(s) - np.log(r + s + x) + early + _log1m_exp(late - early)
    return head, alive, dropped, (hyp, pairs, terms)


def _log1m_exp(difference: np.ndarray) -> np.ndarray:
    """log(1 - e^difference) for difference <= 0; -inf at 0 (t_x = T: nothing left between them)."""
    with np.errstate(divide="ignore"):
        return np.log1p(-np.exp(np.minimum(difference, 0.0)))


def paretonbd_value_and_gradient(r, alpha, s, beta, x, t_x, T,
                                 pairs: _Pairs | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's Pareto/NBD log-likelihood and its gradient in (r, α, s, β), shape
    (4, customers); `pairs`, the hypergeometric terms' distinct (x, t), as the fit prepares them."""
    head, alive, dropped, (hyp, pairs, terms) = _paretonbd_terms(r, alpha, s, beta, x, t_x, T,
                                                                  pairs)
    early, late = pairs.early_late(terms)
    d_early, d_late = pairs.early_late(hyp.gradient(pairs.t, terms))
    d_head = [digamma(r + x) - digamma(r) + np.log(alpha), r / alpha + 0 * x, np.log(beta) + 0 * x,
              s / beta + 0 * x]
    d_alive = [-np.log(alpha + T), -(r + x) / (alpha + T), -np.log(beta + T), -s / (beta + T)]
    kept = np.exp(np.minimum(late - early, 0.0))  # the share of the early term the late one cancels
    with np.errstate(divide="ignore", invalid="ignore"):
        d_span = (d_early - kept * d_late) / (1 - kept)
    d_dropped = np.array([-1 / (r + s + x), 0 * x, 1 / s - 1 / (r + s + x), 0 * x]) + d_span
    return _mixture(head, alive, dropped, np.array(d_head), np.array(d_alive), d_dropped)


class _Pairs(NamedTuple):
    """The (x, t) the Pareto/NBD's hypergeometric terms are taken at, each customer's (x, t_x) and
    (x, T), and where those are; merged, only the distinct pairs: on a large log, far fewer than
    the customers, and the terms are the costly part."""

    x: np.ndarray
    t: np.ndarray
    early: np.ndarray
    late: np.ndarray
    shape: tuple[int, ...]

    @classmethod
    def of(cls, x, t_x, T, *, merge: bool = False) -> _Pairs:
        shape = np.broadcast(x, t_x, T).shape
        x, t_x, T = (np.ravel(np.broadcast_to(v, shape)) for v in (x, t_x, T))
        both, where = [np.concatenate([x, x]), np.concatenate([t_x, T])], np.arange(2 * x.size)
        if merge:
            both, where = _unique_rows(both)
        return cls(both[0], both[1], where[: x.size], where[x.size:], shape)

    def early_late(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each customer's values (last axis) at (x, t_x) and at (x, T)."""
        shape = values.shape[:-1] + self.shape
        return values[..., self.early].reshape(shape), values[..., self.late].reshape(shape)


class _Hypergeometric(NamedTuple):
    """The Pareto/NBD's terms 2F1(a, b; a+1; z) / (larger+t)^a with z = gap/(larger+t), taken on
    the side of the larger of α and β so that z stays in [0, 1): a = r+s+x, and b = s+1
    (α ≥ β) or r+x (α < β)."""

    a: np.ndarray
    b: np.ndarray
    alpha: float
    beta: float
    alpha_larger: bool

    @classmethod
    def of(cls, r, alpha, s, beta, x) -> _Hypergeometric:
        alpha_larger = alpha >= beta
        return cls(r + s + x, s + 1 + 0 * x if alpha_larger else r + x, alpha, beta, alpha_larger)

    def z(self, t) -> np.ndarray:
        return abs(self.alpha - self.beta) / (max(self.alpha, self.beta) + t)

    def log_term(self, t) -> np.ndarray:
        """log 2F1(a, b; a+1; z) - a log(larger + t)."""
        at = max(self.alpha, self.beta) + t
        return np.log(hyp2f1(self.a, self.b, self.a + 1, self.z(t))) - self.a * np.log(at)

    def gradient(self, t, log_term: np.ndarray) -> np.ndarray:
        """The log term's gradient in (r, α, s, β): in a and b by forward differences of 2F1
        (their derivatives have no closed form), in z exactly (ab/(a+1) 2F1(a+1, b+1; a+2; z))."""
        a, b, z, at = self.a, self.b, self.z(t), max(self.alpha, self.beta) + t
        log_f = log_term + a * np.log(at)
        a_up = a * (1 + STEP)
        d_a = (np.log(hyp2f1(a_up, b, a_up + 1, z)) - log_f) / (a * STEP) - np.log(at)
        d_b = (np.log(hyp2f1(a, b * (1 + STEP), a + 1, z)) - log_f) / (b * STEP)
        d_z = a * b / (a + 1) * hyp2f1(a + 1, b + 1, a + 2, z) / np.exp(log_f)
        alpha_t, beta_t = self.alpha + t, self.beta + t
        if self.alpha_larger:  # z = (α-β)/(α+t), b = s+1
            d_alpha = d_z * beta_t / alpha_t**2 - a / alpha_t
            return np.array([d_a, d_alpha, d_a + d_b, -d_z / alpha_t])
        return np.array([d_a + d_b, -d_z / beta_t, d_a, d_z * alpha_t / beta_t**2 - a / beta_t])


def gammagamma_log_likelihood(p, q, v, x, mean_spend) -> np.ndarray:
    """Each repeat customer's Gamma-Gamma log-likelihood of their mean spend per purchase over x
    purchases (Fader, Hardie & Lee 2005, "RFM and CLV", the appendix's equation)."""
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
            + (px - 1) * np.log(mean_spend) + px * np.log(x)
            - (px + q) * np.log(x * mean_spend + v))


def gammagamma_value_and_gradient(p, q, v, x, mean_spend) -> tuple[np.ndarray, np.ndarray]:
    """Each repeat customer's Gamma-Gamma log-likelihood and its gradient in (p, q, v)."""
    px, spent = p * x, x * mean_spend + v
    common = digamma(px + q) - np.log(spent)
    gradient = [x * (common - digamma(px) + np.log(mean_spend) + np.log(x)),
                common - digamma(q) + np.log(v), q / v - (px + q) / spent]
    return gammagamma_log_likelihood(p, q, v, x, mean_spend), np.array(gradient)


def _fit(value_and_gradient, names: tuple[str, ...], start, data: list[np.ndarray],
         weights: np.ndarray) -> Fit:
    """Maximise the weighted log-likelihood over positive params, on their log scale, by L-BFGS-B
    with the analytic gradient; BLAS held to one thread (four parameters gain nothing from more,
    and its threads' hand-offs cost more than the fit on a busy machine)."""
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    def negative(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value, gradient = _weighted(value_and_gradient, params, data, weights)
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            return 1e300, np.zeros_like(params)
        return -value, -gradient * params

    with threadpool_limits(1, user_api="blas"):
        found = minimize(negative, np.log(start), jac=True, method="L-BFGS-B",
                         options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9})
        estimate = np.exp(found.x)
        errors = _std_errors(lambda p: _weighted(value_and_gradient, p, data, weights)[1], estimate)
    return Fit(dict(zip(names, estimate.tolist())), dict(zip(names, errors.tolist())),
               -float(found.fun), int(weights.sum()))


def _weighted(value_and_gradient, params: np.ndarray, data: list[np.ndarray],
              weights: np.ndarray) -> tuple[float, np.ndarray]:
    """The log-likelihood summed over the customers, and its gradient."""
    value, gradient = value_and_gradient(*params, *data)
    return float(np.dot(weights, value)), gradient @ weights


def _std_errors(gradient, estimate: np.ndarray) -> np.ndarray:
    """Square roots of the diagonal of the inverse of minus the Hessian, by central differences of
    the analytic gradient (NaN where the Hessian is not negative definite)."""
    steps = HESSIAN_STEP * estimate
    columns = [(gradient(estimate + step) - gradient(estimate - step)) / (2 * h)
               for step, h in zip(np.diag(steps), steps)]
    hessian = np.column_stack(columns)
    try:
        covariance = np.linalg.inv(-(hessian + hessian.T) / 2)
    except np.linalg.LinAlgError:
        return np.full(len(estimate), np.nan)
    diagonal = np.diag(covariance)
    return np.where(diagonal > 0, np.sqrt(np.abs(diagonal)), np.nan)


def _mean_age(T: np.ndarray, weights: np.ndarray) -> float:
    """The customers' mean age: the scale of the start for α and β (so the start does not depend
    on the time unit)."""
    return max(float(np.dot(weights, T) / weights.sum()), 1e-6)


def fit_bgnbd(x, t_x, T) -> Fit:
    """BG/NBD's r, α, a, b by maximum likelihood over the customers' (x, t_x, T)."""
    data, weights = distinct(x, t_x, T)
    start = (1.0, _mean_age(data[2], weights), 1.0, 1.0)
    return _fit(bgnbd_value_and_gradient, ("r", "alpha", "a", "b"), start, data, weights)


def fit_paretonbd(x, t_x, T) -> Fit:
    """Pareto/NBD's r, α, s, β by maximum likelihood over the customers' (x, t_x, T)."""
    data, weights = distinct(x, t_x, T)
    age, pairs = _mean_age(data[2], weights), _Pairs.of(*data, merge=True)
    return _fit(partial(paretonbd_value_and_gradient, pairs=pairs), ("r", "alpha", "s", "beta"),
                (1.0, age, 1.0, age), data, weights)


def fit_gammagamma(x, mean_spend) -> Fit:
    """Gamma-Gamma's p, q, v over the customers with repeat purchases (x > 0) and their mean
    spend."""
    x, mean_spend = np.asarray(x, dtype=float), np.asarray(mean_spend, dtype=float)
    keep = (x > 0) & (mean_spend > 0)
    data, weights = distinct(x[keep], mean_spend[keep])
    return _fit(gammagamma_value_and_gradient, ("p", "q", "v"), (1.0, 1.0, 1.0), data, weights)


def bgnbd_expected_purchases(params: dict[str, float], t, x=0.0, t_x=0.0, T=0.0) -> np.ndarray:
    """Expected purchases in the next `t` time units of a customer with summary (x, t_x, T)
    (Fader, Hardie & Lee 2005, equation 10); with the defaults, of a customer just arrived
    (equation 7, E[X(t)])."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, T, t = (np.asarray(v, dtype=float) for v in (x, t_x, T, t))
    ratio = (alpha + T) / (alpha + T + t)
    later = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    tail = 1 - np.exp((r + x) * np.log(ratio)) * later
    return (a + b + x - 1) / (a - 1) * tail * bgnbd_p_alive(params, x, t_x, T)


def bgnbd_p_alive(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """The probability that a customer with summary (x, t_x, T) is still active (Fader, Hardie &
    Lee 2008, "Computing P(alive) using the BG/NBD model"): 1 for a customer with no repeat
    purchase."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    growth = np.exp((r + x) * np.log((alpha + T) / (alpha + t_x)))
    odds = np.where(x > 0, a / np.maximum(b + x - 1, 1e-12) * growth, 0.0)
    return 1 / (1 + odds)


def gammagamma_expected_spend(params: dict[str, float], x, mean_spend) -> np.ndarray:
    """Expected spend per purchase of a customer with x repeat purchases of mean `mean_spend`: a
    weighted average of the population mean and their own (Fader, Hardie & Lee 2005, "RFM and
    CLV")."""
    p, q, v = (params[k] for k in ("p", "q", "v"))
    x, mean_spend = np.asarray(x, dtype=float), np.asarray(mean_spend, dtype=float)
    own = np.where(x > 0, mean_spend, 0.0)
    return (p * (v + x * own)) / (p * x + q - 1)


def paretonbd_p_alive(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """The probability that a customer with summary (x, t_x, T) is still active: the likelihood's
    alive term over alive + dropped (Fader, Hardie & Lee 2005 note, equation 18), in log space."""
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    _, alive, dropped, _ = _paretonbd_terms(r, alpha, s, beta, x, t_x, T)
    return np.exp(alive - np.logaddexp(alive, dropped))


def paretonbd_expected_purchases(params: dict[str, float], t, x=0.0, t_x=0.0, T=0.0) -> np.ndarray:
    """Expected purchases in the next `t` time units of a customer with summary (x, t_x, T)
    (Schmittlein, Morrison & Colombo 1987; Fader & Hardie's note, equation 21):
    (r+x)/(α+T) · (β+T)/(s-1) · [1 - ((β+T)/(β+T+t))^(s-1)] · P(alive), with its limit
    (β+T) log((β+T+t)/(β+T)) at s = 1; with the defaults, of a customer just arrived
    (E[X(t)])."""
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    x, t_x, T, t = (np.asarray(v, dtype=float) for v in (x, t_x, T, t))
    log_ratio = np.log1p(t / (beta + T))  # log((β+T+t)/(β+T))
    k = s - 1
    # [1 - ratio^(s-1)]/(s-1), its limit log(ratio) at s = 1
    span = log_ratio if k == 0 else -np.expm1(-k * log_ratio) / k
    return (r + x) / (alpha + T) * (beta + T) * span * paretonbd_p_alive(params, x, t_x, T)
