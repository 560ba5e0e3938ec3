"""Per-series selection: for each series, the simplest candidate as good as that series' best.

Pure functions of the candidates' per-series cross-validated scores (lower is better). The
tie rule is the core's: within the tolerance (a share of the best's error), the lowest rung
wins, then the fewest learned numbers.

>>> scores = {"seasonal_naive": np.array([1.00, 2.0]), "auto_ets": np.array([0.99, 1.5])}
>>> choose(scores, {"seasonal_naive": (0, 24), "auto_ets": (2, 30)}, 0.02).tolist()
['seasonal_naive', 'auto_ets']
"""

from __future__ import annotations

import numpy as np


def choose(scores: dict[str, np.ndarray], simplicity: dict[str, tuple[int, int]], tolerance: float) -> np.ndarray:
    """The chosen candidate's name per series. `simplicity`: (rung, learned numbers) per name."""
    names = sorted(scores, key=lambda n: (*simplicity[n], n))  # simplest first
    table = np.stack([scores[n] for n in names])  # candidates x series
    best = np.min(np.where(np.isnan(table), np.inf, table), axis=0)  # inf where no candidate scored the series
    slack = tolerance * np.abs(np.where(np.isinf(best), 0.0, best))
    good = (table <= best + slack) | np.isinf(best)  # a series no candidate scored: the simplest
    return np.array(names)[np.argmax(good, axis=0)]  # the first (simplest) good one


def best_per_series(scores: dict[str, np.ndarray]) -> np.ndarray:
    names = list(scores)
    table = np.stack([scores[n] for n in names])
    return np.array(names)[np.argmin(np.where(np.isnan(table), np.inf, table), axis=0)]


def picked(scores: dict[str, np.ndarray], choice: np.ndarray) -> np.ndarray:
    """Each series' score under its chosen candidate."""
    return np.array([scores[name][k] for k, name in enumerate(choice)])


def summary(choice: np.ndarray, rungs: dict[str, int]) -> dict:
    """How many series each candidate and each rung wins."""
    names, counts = np.unique(choice, return_counts=True)
    by_name = {str(n): int(c) for n, c in sorted(zip(names, counts), key=lambda nc: -nc[1])}
    by_rung: dict[int, int] = {}
    for name, count in by_name.items():
        by_rung[rungs[name]] = by_rung.get(rungs[name], 0) + count
    return {"by_candidate": by_name, "by_rung": {str(k): v for k, v in sorted(by_rung.items())}}
