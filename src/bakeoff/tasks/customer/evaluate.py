"""Evaluate one customer candidate in its worker: fitted on the calibration period (and, for the
candidates that learn a mapping, an earlier split inside it), scored on the holdout period,
then fitted again on every purchase to the holdout's end for the model users get.

The selection score is the holdout's: a customer model's question is what happens after the
calibration period, and the holdout is that period. Intervals resample customers (the same
draws for every candidate, so differences are paired).
"""

from __future__ import annotations

import pickle
import time

import numpy as np

from bakeoff.core.evaluation import Evaluation
from bakeoff.core.metrics import percentile_interval
from bakeoff.core.schedule import Glance
from bakeoff.core.tune import Tuning
from bakeoff.tasks.customer.data import Customers, Summaries
from bakeoff.tasks.customer.ladder import CustomerCandidate, CustomerModel
from bakeoff.tasks.customer.metrics import SECONDS_PER_DRAW, Outcome, Predicted, resampled, score
from bakeoff.tasks.customer.posterior import SECONDS_PER_CUSTOMER

WORKER_SECONDS = 0.5
LOAD_SECONDS_PER_CUSTOMER = 1e-6  # measured: the data of a million customers unpickles in 0.25 s; twice that, loaded


def build(cls: type[CustomerCandidate], data: Customers, settings) -> CustomerCandidate:
    return cls(seed=settings.seed, amount=data.amount, inference=data.inference)


def predictions(model: CustomerModel, s: Summaries, t: float) -> Predicted:
    """The model's purchases over `t` time units, P(active) and spend for the customers `s`."""
    return Predicted(*model.outputs(s, t))


def holdout_truth(data: Customers) -> Outcome:
    return Outcome(data.calibration.later, data.calibration.later_spend)


def glance_job(cls, data: Customers, settings, seconds: float, guide=None) -> Glance:
    """The quick pass: the whole evaluation's first half (fit on the calibration period, score the
    holdout), timed: a customer model is cheap enough that a sample would tell nothing more."""
    began = time.perf_counter()
    candidate = build(cls, data, settings)
    sampled = data.inference == "mcmc" and cls.name in SECONDS_PER_CUSTOMER
    if sampled:  # the maximum likelihood fit scores it; the sampling's cost is estimated, not paid twice
        candidate.inference = "mle"
    model = candidate.fit(data.evaluation())
    fitted = SECONDS_PER_CUSTOMER[cls.name] * data.count if sampled else time.perf_counter() - began
    value = score(settings.metric, holdout_truth(data), predictions(model, data.calibration, data.holdout_units))
    took = time.perf_counter() - began
    bootstrap = settings.resamples * data.count * SECONDS_PER_DRAW
    start = WORKER_SECONDS + data.count * LOAD_SECONDS_PER_CUSTOMER  # a worker's start and its copy of the data
    one = max(took, fitted)  # a fit and its scoring (a sampled one: estimated)
    return Glance(value, data.count, took, 2 * one + fitted + bootstrap + start, 0.0, False, folds_seconds=one,
                  fit_power=1.0, train_rows=data.count, min_rows=data.count)


def evaluate_job(cls, data: Customers, settings, seconds: float, guide=None) -> Evaluation:
    """Fit on the calibration period, score the holdout, then fit on everything for users."""
    candidate = build(cls, data, settings)
    began = time.perf_counter()
    model = candidate.fit(data.evaluation())
    truth, predicted = holdout_truth(data), predictions(model, data.calibration, data.holdout_units)
    value = score(settings.metric, truth, predicted)
    if not np.isfinite(value) and settings.metric != "auc_active":
        raise ValueError(f"its {settings.metric} on the holdout is not a number: its predictions are not finite "
                         "(the fit did not converge on this data)")
    boot = resampled(settings.metric, truth, predicted, settings.resamples, settings.seed)
    fit_start = time.perf_counter()
    final = candidate.fit(data.everything())
    fit_seconds = time.perf_counter() - fit_start
    work = time.perf_counter() - began
    us_per_row, latency_ms = _prediction_cost(final, data.final, data.horizon)
    return Evaluation(
        candidate.name, Tuning({}, 0, "nothing to tune"), predicted.purchases, np.ones(data.count, bool), value,
        boot, percentile_interval(boot), value, fit_seconds, us_per_row, latency_ms, len(pickle.dumps(final)),
        final.n_params, False, candidate.summary, final, "customer models are not exported as SQL", work, model,
        final_rows=data.final.count)


def _prediction_cost(model: CustomerModel, s: Summaries, horizon: float) -> tuple[float, float]:
    """Microseconds per customer to predict all of them, and milliseconds for one (median of three)."""
    start = time.perf_counter()
    predictions(model, s, horizon)
    per_customer = (time.perf_counter() - start) * 1e6 / max(s.count, 1)
    one, times = s.take(slice(0, 1)), []
    for _ in range(3):
        start = time.perf_counter()
        predictions(model, one, horizon)
        times.append(time.perf_counter() - start)
    return per_customer, float(np.median(times) * 1e3)
