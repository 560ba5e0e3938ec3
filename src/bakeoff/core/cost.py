"""Cost of a fitted model, measured: speed of batch and single-row prediction, size.

Money per month is a pure function of those figures and the card's [business] values.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

BATCH_ROWS = 1000


@dataclass(frozen=True)
class ServingCost:
    predict_us_per_row: float
    latency_ms_p50: float
    model_bytes: int


def measure_serving(predict, X: pd.DataFrame, model, seed: int = 0,
                    max_seconds: float = 3.0) -> ServingCost:
    """Time `predict` on a batch of at least 1,000 rows and on single rows; pickle the model."""
    batch = X.sample(n=BATCH_ROWS, replace=len(X) < BATCH_ROWS, random_state=seed)
    batch_times = []
    for _ in range(3):
        start = time.perf_counter()
        predict(batch)
        batch_times.append(time.perf_counter() - start)
    singles, deadline = [], time.perf_counter() + max_seconds
    for i in range(50):
        row = X.iloc[[i % len(X)]]
        start = time.perf_counter()
        predict(row)
        singles.append(time.perf_counter() - start)
        if time.perf_counter() > deadline and len(singles) >= 5:
            break
    return ServingCost(predict_us_per_row=min(batch_times) / len(batch) * 1e6,
                       latency_ms_p50=float(np.median(singles)) * 1e3,
                       model_bytes=model_bytes(model))


def model_bytes(model) -> int:
    """The model's size as saved (pickled); a class defined in a notebook is saved by value."""
    try:
        return len(pickle.dumps(model))
    except (pickle.PicklingError, AttributeError, TypeError):
        import cloudpickle

        return len(cloudpickle.dumps(model))


def monthly_compute_cost(predict_us_per_row: float, fit_seconds: float, predictions_per_month: float,
                         cost_per_hour: float, refits_per_month: float = 1.0) -> float:
    """Compute money per month: the month's predictions plus refits, at the hourly price.

    >>> round(monthly_compute_cost(36.0, 3600.0, 1e8, 1.0), 2)
    2.0
    """
    seconds = predict_us_per_row * 1e-6 * predictions_per_month + fit_seconds * refits_per_month
    return seconds / 3600.0 * cost_per_hour


def best_threshold_value(y: np.ndarray, positive_proba: np.ndarray, value_tp: float,
                         cost_fp: float, cost_fn: float = 0.0) -> tuple[float, float]:
    """The threshold that maximises decision value per row, and that value per row.

    Flag a row when its probability >= threshold; a flagged positive earns value_tp, a
    flagged negative costs cost_fp, a missed positive costs cost_fn.

    >>> best_threshold_value(np.array([1, 0, 1, 0]), np.array([.9, .8, .7, .1]), 10, 1)
    (0.7, 4.75)
    """
    order = np.argsort(-positive_proba, kind="stable")
    sorted_y, sorted_p = y[order], positive_proba[order]
    tp, fp = np.cumsum(sorted_y == 1), np.cumsum(sorted_y == 0)
    missed = (y == 1).sum() - tp
    value = tp * value_tp - fp * cost_fp - missed * cost_fn
    last_of_tie = np.r_[sorted_p[1:] != sorted_p[:-1], True]
    candidates = np.where(last_of_tie)[0]
    best = candidates[np.argmax(value[candidates])]
    baseline = -(y == 1).sum() * cost_fn  # flag nobody
    if baseline >= value[best]:
        return float("inf"), float(baseline / len(y))
    return float(sorted_p[best]), float(value[best] / len(y))
