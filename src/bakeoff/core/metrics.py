"""What every task's metrics share: the Metric record, fold scores and bootstrap intervals.

Each task defines its own metrics (e.g. `bakeoff.tasks.tabular.metrics`) as pure functions of
arrays wrapped in a Metric.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metric:
    name: str
    task: str  # the card's [problem] task it scores, e.g. "classification"
    higher_is_better: bool
    score: Callable[[np.ndarray, np.ndarray], float]
    relative: bool = False  # an error in the target's own units: tolerance is a share of the best


def fold_score(metric: Metric, y: np.ndarray, pred: np.ndarray, folds: list[np.ndarray]) -> float:
    """The metric on each validation fold, averaged: pooling folds would let a ranking metric
    such as ROC AUC reward differences between the folds' models (a constant is not 0.5)."""
    return float(np.mean([metric.score(y[rows], pred[rows]) for rows in folds]))


def fold_bootstrap(metric: Metric, y: np.ndarray, pred: np.ndarray, folds: list[np.ndarray],
                   resamples: int, seed: int) -> np.ndarray:
    """`fold_score` on `resamples` resamples, each fold resampled within itself, all at once.

    The draws depend only on the seed and the fold sizes, so every candidate is scored on
    the same resampled rows and differences between candidates are paired. Resamples the
    metric cannot score (one class only) are NaN. Metrics without a vectorised form
    (see `bakeoff.core.bootstrap`) are scored one resample at a time.
    """
    from bakeoff.core.bootstrap import fold_bootstrap as resampled

    return resampled(metric.name, y, pred, folds, resamples, seed, score=metric.score)


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central `level` interval of bootstrap samples, ignoring NaN.

    >>> [round(x, 6) for x in percentile_interval(np.arange(101.0))]
    [2.5, 97.5]
    """
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def split_aware_interval(samples: np.ndarray, fold_scores: list[float], level: float = 0.95) -> tuple[float, float]:
    """The bootstrap interval of a cross-validated score, widened when the folds disagree more
    than the bootstrap over rows can see.

    Resampling rows within the folds of one split misses the variance that comes from which
    rows the models were trained on (Bates, Hastie & Tibshirani 2021); Nadeau & Bengio's
    corrected resampled variance (2003) estimates it from the spread of the fold scores,
    `(1/k + n_val/n_train) * var(fold scores)`, which for k folds is `(1/k + 1/(k-1)) * var`.
    The interval keeps the bootstrap's shape and is scaled about the mean fold score until its
    standard error is at least that.

    >>> boot = np.random.default_rng(0).normal(0.80, 0.005, 2000)
    >>> low, high = split_aware_interval(boot, [0.78, 0.80, 0.82, 0.79, 0.81])
    >>> base_low, base_high = percentile_interval(boot)
    >>> widened = (high - low) / (base_high - base_low) * np.std(boot, ddof=1)
    >>> round(float(widened), 4)  # the corrected standard error: sqrt((1/5 + 1/4) * 0.00025)
    0.0106
    >>> split_aware_interval(boot, [0.8, 0.8, 0.8, 0.8, 0.8]) == percentile_interval(boot)
    True
    """
    low, high = percentile_interval(samples, level)
    k = len(fold_scores)
    finite = np.asarray(samples, float)[np.isfinite(samples)]
    if k < 2 or len(finite) < 2 or not np.all(np.isfinite(fold_scores)):
        return low, high
    corrected = np.sqrt((1 / k + 1 / (k - 1)) * np.var(fold_scores, ddof=1))
    rows = float(np.std(finite, ddof=1))
    if corrected <= rows or rows == 0:
        return low, high
    center, scale = float(np.mean(fold_scores)), corrected / rows
    return center - (center - low) * scale, center + (high - center) * scale


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
