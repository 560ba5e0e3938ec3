"""Evaluate one candidate: tune, cross-validate, refit, score the holdout, measure cost.

Runs inside the candidate's worker process; returns a flat, picklable Evaluation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .cost import measure_serving
from .data import Dataset
from .ladder.base import Candidate, Fitted
from .metrics import Metric, bootstrap_indices, bootstrap_scores, percentile_interval
from .tune import predictions, tune


@dataclass
class Evaluation:
    name: str
    params: dict
    oof: np.ndarray  # out-of-fold predictions for the training rows (NaN where unscored)
    scored: np.ndarray  # bool mask of training rows that have an out-of-fold prediction
    cv_score: float
    bootstrap: np.ndarray  # the score on each shared bootstrap resample of the scored rows
    score_ci: tuple[float, float]
    holdout_pred: np.ndarray | None
    holdout_score: float | None
    fit_seconds: float
    predict_us_per_row: float
    latency_ms_p50: float
    model_bytes: int
    n_params: int
    sql: bool
    description: str
    fitted: Fitted | None = field(default=None, repr=False)


def _validation_split(n: int, dataset: Dataset, seed: int):
    """The split tuning scores on: the last fold when time-ordered, else a seeded 80/20 cut."""
    if _time_ordered(dataset):
        return dataset.folds[-1]
    rows = np.random.default_rng(seed).permutation(n)
    cut = int(n * 0.8)
    return np.sort(rows[:cut]), np.sort(rows[cut:])


def _time_ordered(dataset: Dataset) -> bool:
    return any(train.max() < val.min() for train, val in dataset.folds)


def cross_validate(candidate: Candidate, dataset: Dataset, metric: Metric):
    """Out-of-fold predictions over the training part and their score."""
    X, y = dataset.X_train, dataset.y_train
    shape = (len(y), len(dataset.classes)) if dataset.classes else (len(y),)
    oof, scored = np.full(shape, np.nan), np.zeros(len(y), bool)
    for train, val in dataset.folds:
        fitted = candidate.fit(X.iloc[train], y[train])
        oof[val] = predictions(fitted, X.iloc[val], dataset.task)
        scored[val] = True
    return oof, scored, float(metric.score(y[scored], oof[scored]))


def evaluate(candidate: Candidate, dataset: Dataset, metric: Metric, *, seconds: float,
             trials: int, resamples: int = 500) -> Evaluation:
    """Everything the bake-off records about one candidate, within about `seconds`."""
    start = time.monotonic()
    X, y = dataset.X_train, dataset.y_train
    probe = time.monotonic()
    candidate.fit(X, y)
    one_fit = time.monotonic() - probe
    refits = len(dataset.folds) + 2  # cross-validation, the final fit, and room for measuring
    tuning_seconds = 0.8 * seconds - (time.monotonic() - start) - refits * one_fit
    params = tune(candidate, X, y, metric, _validation_split(len(y), dataset, candidate.seed),
                  trials=trials, seconds=tuning_seconds, refits_after=refits) if tuning_seconds > 0 else {}
    tuned = candidate.with_params(**params)
    oof, scored, cv_score = cross_validate(tuned, dataset, metric)
    indices = bootstrap_indices(int(scored.sum()), resamples, candidate.seed)
    boot = bootstrap_scores(metric, dataset.y_train[scored], oof[scored], indices)
    fit_start = time.perf_counter()
    fitted = tuned.fit(X, y)
    fit_seconds = time.perf_counter() - fit_start
    holdout_pred, holdout_score = _holdout(fitted, dataset, metric)
    serving = measure_serving(lambda rows: predictions(fitted, rows, dataset.task), X, fitted,
                              seed=candidate.seed)
    return Evaluation(candidate.name, params, oof, scored, cv_score, boot, percentile_interval(boot),
                      holdout_pred, holdout_score,
                      fit_seconds, serving.predict_us_per_row, serving.latency_ms_p50,
                      serving.model_bytes, fitted.n_params, bool(type(candidate).sql_exportable),
                      fitted.describe(), fitted)


def _holdout(fitted: Fitted, dataset: Dataset, metric: Metric):
    if not len(dataset.holdout_index):
        return None, None
    X = dataset.X.iloc[dataset.holdout_index]
    pred = predictions(fitted, X, dataset.task)
    return pred, float(metric.score(dataset.y[dataset.holdout_index], pred))
