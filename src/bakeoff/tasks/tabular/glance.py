"""A tabular candidate's quick pass: its defaults fitted on a sample of rows, scored, timed,
and what its full evaluation will cost estimated from those timings.

The candidate is fitted twice, on `QUICK_ROWS` rows and on half as many, so the estimate knows
how its fit and its prediction grow with the rows (a forest's fit grows faster than linearly;
a nearest-neighbour model's prediction grows with the rows it keeps).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from bakeoff.core.candidate import Candidate
from bakeoff.core.cost import BATCH_ROWS
from bakeoff.core.metrics import Metric
from bakeoff.core.schedule import Glance
from bakeoff.tasks.tabular.data import Dataset
from bakeoff.tasks.tabular.evaluate import (
    build_candidate,
    predictions,
    resample_seconds,
    tuning_splits,
)
from bakeoff.tasks.tabular.metrics import METRICS

QUICK_ROWS = 2_000  # rows a quick pass fits on (all of them when there are fewer)
QUICK_SCORED = 2_000  # validation rows it scores
WORKER_SECONDS = 0.2  # a worker's own start: reading the data, building the candidate
SQL_SECONDS = 0.1  # checking that the model exports to SQL


@dataclass(frozen=True)
class Growth:
    """Seconds to fit on `rows` rows and to predict one row, and how both grow with the rows.
    A fit is taken to grow at least in proportion to the rows: small fits carry set-up costs
    that make them look cheaper per row, and an estimate that is too high costs a sample of
    the rows, one too low the candidate."""

    rows: int
    fit: float
    predict_row: float
    fit_power: float = 1.0
    predict_power: float = 0.0

    def fit_at(self, rows: float) -> float:
        return self.fit * (rows / self.rows) ** self.fit_power

    def predict_at(self, train_rows: float, rows: float) -> float:
        return self.predict_row * rows * (train_rows / self.rows) ** self.predict_power


def glance_job(cls: type[Candidate], dataset: Dataset, settings, seconds: float, guide=None) -> Glance:
    """The tabular task's quick pass in a worker."""
    return glance(build_candidate(cls, dataset, settings), dataset, METRICS[settings.metric],
                  resamples=settings.resamples, refit=settings.refit)


def glance(candidate: Candidate, dataset: Dataset, metric: Metric, *, resamples: int,
           refit: str = "all") -> Glance:
    """The candidate's first score and measured cost, from its default settings on a sample."""
    began = time.perf_counter()
    train, val = dataset.folds[-1]  # the latest fold when the rows are time-ordered
    rng = np.random.default_rng(candidate.seed)
    rows, scored = _sample(train, QUICK_ROWS, rng), _sample(val, QUICK_SCORED, rng)
    X, y = dataset.X_train, dataset.y_train
    small, small_predict, _ = _timed(candidate, X, y, rows[::2], scored, dataset)
    fit, predict_row, pred = _timed(candidate, X, y, rows, scored, dataset)
    growth = Growth(len(rows), fit, predict_row, _power(small, fit, 1.0, 2.0, 1.0),
                    _power(small_predict, predict_row, 0.0, 1.0, 0.0))
    score = _score(metric, y[scored], pred)
    per_resample = resample_seconds(metric, y[scored], pred, 1) * len(y) / len(scored)
    splits = tuning_splits(dataset, candidate.seed)
    trial = splits_seconds(growth, splits)
    n, holdout = len(y), len(dataset.holdout_index)
    scaled = splits_seconds(growth, dataset.folds) + growth.fit_at(n) + growth.predict_at(n, holdout)
    refit_all = growth.fit_at(n + holdout) if refit == "all" and holdout else 0.0
    return Glance(score, len(rows), time.perf_counter() - began,
                  scaled + refit_all + fixed_seconds(growth, dataset, resamples * per_resample),
                  trial, bool(candidate.default_params()), scaled, growth.fit_power,
                  max(len(t) for t, _ in dataset.folds), refit_all)


def splits_seconds(growth: Growth, splits: list) -> float:
    """Estimated seconds to fit on each split's training rows and predict its validation rows
    (the cross-validation's folds, or a tuning trial's splits).

    >>> splits_seconds(Growth(100, 1.0, 0.0), [(np.arange(80), np.arange(80, 100))] * 5)  # 5 x 0.8
    4.0
    """
    return sum(growth.fit_at(len(t)) + growth.predict_at(len(t), len(v)) for t, v in splits)


def fixed_seconds(growth: Growth, dataset: Dataset, bootstrap: float) -> float:
    """Estimated seconds of a full evaluation's parts that do not shrink with the rows fitted
    on: the bootstrap, the serving measurements, the worker's start and the SQL check.

    >>> from types import SimpleNamespace as NS
    >>> round(fixed_seconds(Growth(100, 1.0, 0.0), NS(y_train=np.zeros(100)), 0.5), 2)  # 0.5 + 0.4
    0.9
    """
    serving = 3 * growth.predict_at(len(dataset.y_train), BATCH_ROWS) \
        + 50 * max(growth.predict_at(len(dataset.y_train), 1), 0.002)
    return bootstrap + serving + WORKER_SECONDS + SQL_SECONDS


def _timed(candidate: Candidate, X, y, rows: np.ndarray, scored: np.ndarray, dataset: Dataset):
    """Seconds to fit on `rows`, seconds per row to predict `scored`, and the predictions."""
    start = time.perf_counter()
    fitted = candidate.fit(X.iloc[rows], y[rows])
    fit = time.perf_counter() - start
    start = time.perf_counter()
    pred = predictions(fitted, X.iloc[scored], dataset.task, len(dataset.classes))
    return fit, (time.perf_counter() - start) / len(scored), pred


def _power(small: float, large: float, low: float, high: float, guess: float) -> float:
    """How a cost grows with doubled rows, as a power of the rows, within [low, high]; `guess`
    when the timings are too short to tell.

    >>> _power(1.0, 4.0, 1, 2, 1), _power(1.0, 1.5, 1, 2, 1), _power(0.001, 0.004, 1, 2, 1.0)
    (2.0, 1, 1.0)
    """
    if small < 0.02 or large <= 0:
        return guess
    return min(max(math.log2(large / small), low), high)


def _score(metric: Metric, y: np.ndarray, pred: np.ndarray) -> float:
    """The quick score, or NaN when the sample cannot be scored (one class only in a sample of a
    rare one): the cost is what the quick pass is for, and the full evaluation scores all rows."""
    if not np.all(np.isfinite(pred)):
        raise ValueError("its predictions are not all numbers (NaN or infinite)")
    try:
        return float(metric.score(y, pred))
    except ValueError:
        return float("nan")


def _sample(positions: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `size` of `positions`, drawn at random, in their original order."""
    if len(positions) <= size:
        return positions
    return np.sort(rng.choice(positions, size, replace=False))
