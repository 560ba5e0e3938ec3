"""Quality metrics as pure functions of arrays, and bootstrap intervals.

Classification scores take `proba`, an (n, n_classes) array of class probabilities, and
`y` as integer class codes 0..n_classes-1. Regression scores take predicted values.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metric:
    name: str
    task: str  # "classification" | "regression"
    higher_is_better: bool
    score: Callable[[np.ndarray, np.ndarray], float]
    relative: bool = False  # an error in the target's own units: tolerance is a share of the best


def _undefined_is_nan(score: Callable) -> Callable:
    """scikit-learn warns where a score is undefined (one class in a resample) and returns NaN;
    the bootstrap skips those draws, so the warning only clutters the terminal."""
    @functools.wraps(score)
    def quiet(y, proba):
        from sklearn.exceptions import UndefinedMetricWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            return score(y, proba)
    return quiet


@_undefined_is_nan
def _roc_auc(y, proba):
    from sklearn.metrics import roc_auc_score

    if proba.shape[1] == 2:
        return roc_auc_score(y, proba[:, 1])
    return roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(proba.shape[1]))


@_undefined_is_nan
def _pr_auc(y, proba):
    from sklearn.metrics import average_precision_score

    if proba.shape[1] == 2:
        return average_precision_score(y, proba[:, 1])
    onehot = np.eye(proba.shape[1])[y]
    return average_precision_score(onehot, proba, average="macro")


def _log_loss(y, proba):
    from sklearn.metrics import log_loss

    return log_loss(y, np.clip(proba, 1e-15, 1), labels=np.arange(proba.shape[1]))


def _accuracy(y, proba):
    return float(np.mean(proba.argmax(axis=1) == y))


@_undefined_is_nan
def _f1(y, proba):
    from sklearn.metrics import f1_score

    average = "binary" if proba.shape[1] == 2 else "macro"
    return f1_score(y, proba.argmax(axis=1), average=average, zero_division=0)


def _rmse(y, pred):
    return float(np.sqrt(np.mean((np.asarray(y, float) - pred) ** 2)))


def _mae(y, pred):
    return float(np.mean(np.abs(np.asarray(y, float) - pred)))


def _r2(y, pred):
    y = np.asarray(y, float)
    total = np.sum((y - y.mean()) ** 2)
    return float(1 - np.sum((y - pred) ** 2) / total) if total > 0 else 0.0


def _mape(y, pred):
    y = np.asarray(y, float)
    return float(np.mean(np.abs(y - pred) / np.maximum(np.abs(y), 1e-9)))


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("roc_auc", "classification", True, _roc_auc),
        Metric("pr_auc", "classification", True, _pr_auc),
        Metric("log_loss", "classification", False, _log_loss, relative=True),
        Metric("accuracy", "classification", True, _accuracy),
        Metric("f1", "classification", True, _f1),
        Metric("rmse", "regression", False, _rmse, relative=True),
        Metric("mae", "regression", False, _mae, relative=True),
        Metric("r2", "regression", True, _r2),
        Metric("mape", "regression", False, _mape, relative=True),
    ]
}

DEFAULT_METRIC = {"classification": "roc_auc", "regression": "rmse"}


def get_metric(name: str, task: str) -> Metric:
    """The metric called `name`, checked against the task; ValueError names the valid ones."""
    fitting = [m for m, spec in METRICS.items() if spec.task == task]
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; use one of {', '.join(fitting)}")
    if METRICS[name].task != task:
        raise ValueError(f"metric {name!r} is for {METRICS[name].task}, not {task}; "
                         f"use one of {', '.join(fitting)}")
    return METRICS[name]


def fold_score(metric: Metric, y: np.ndarray, pred: np.ndarray, folds: list[np.ndarray]) -> float:
    """The metric on each validation fold, averaged: pooling folds would let a ranking metric
    such as ROC AUC reward differences between the folds' models (a constant is not 0.5)."""
    return float(np.mean([metric.score(y[rows], pred[rows]) for rows in folds]))


def fold_bootstrap(metric: Metric, y: np.ndarray, pred: np.ndarray, folds: list[np.ndarray],
                   resamples: int, seed: int) -> np.ndarray:
    """`fold_score` on `resamples` resamples, each fold resampled within itself.

    The draws depend only on the seed and the fold sizes, so every candidate is scored on
    the same resampled rows and differences between candidates are paired. Resamples the
    metric cannot score (one class only) are NaN.
    """
    rng = np.random.default_rng(seed)
    scores = np.full(resamples, np.nan)
    for r in range(resamples):  # one resample's rows at a time: memory stays that of the data
        draws = [rows[rng.integers(0, len(rows), size=len(rows))] for rows in folds]
        try:
            scores[r] = np.mean([metric.score(y[d], pred[d]) for d in draws])
        except ValueError:
            continue
    return scores


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central `level` interval of bootstrap samples, ignoring NaN.

    >>> [round(x, 6) for x in percentile_interval(np.arange(101.0))]
    [2.5, 97.5]
    """
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(samples, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class Interval:
    score_ci: tuple[float, float]
    diff_ci: tuple[float, float]  # paired interval of (this score - reference score)


def paired_intervals(samples: dict[str, np.ndarray], reference: str,
                     level: float = 0.95) -> dict[str, Interval]:
    """Intervals of each candidate's score and of its difference to `reference`.

    `samples` holds each candidate's bootstrap scores on the same resampled rows (the
    shared, seeded draws of `fold_bootstrap`), so the differences are paired.
    """
    base = samples[reference]
    return {name: Interval(percentile_interval(s, level), percentile_interval(s - base, level))
            for name, s in samples.items()}
