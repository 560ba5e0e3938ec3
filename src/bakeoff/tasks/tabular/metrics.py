"""The tabular task's metrics as pure functions of arrays.

Classification scores take `proba`, an (n, n_classes) array of class probabilities, and
`y` as integer class codes 0..n_classes-1. Regression scores take predicted values.

>>> get_metric("rmse", "regression").score(np.array([1.0, 3.0]), np.array([2.0, 2.0]))
1.0
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import numpy as np

from bakeoff.core.metrics import Metric


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
