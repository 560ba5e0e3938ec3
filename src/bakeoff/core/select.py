"""The recommendation rule and its reason, as pure functions of candidate results.

Best: the top cross-validated score. Recommended: the simplest candidate (lowest rung, then
fewest learned parameters) that is as good as the best: its score is within the tolerance
of the best's, or the paired bootstrap interval of its difference to the best includes zero.

The tolerance is absolute for bounded scores (0.005 of ROC AUC) and a share of the best score
for errors in the target's own units (0.005 = 0.5 % of the best RMSE).
"""

from __future__ import annotations

from dataclasses import dataclass

from bakeoff.core.units import readable


@dataclass(frozen=True)
class Tolerance:
    value: float
    relative: bool = False

    def allowed(self, best_score: float) -> float:
        return self.value * abs(best_score) if self.relative else self.value

    def __str__(self) -> str:
        return f"{self.value:.1%} of the best" if self.relative else f"the tolerance of {self.value:g}"


@dataclass(frozen=True)
class Contender:
    name: str
    rung: int
    n_params: int
    score: float
    diff_ci: tuple[float, float]  # paired bootstrap interval of (score - best score)
    fit_seconds: float
    predict_us_per_row: float
    model_bytes: int
    sql: bool


def best_of(contenders: list[Contender], higher_is_better: bool) -> Contender:
    sign = 1 if higher_is_better else -1
    return max(contenders, key=lambda c: (sign * c.score, -c.rung, -c.n_params))


def shortfall(candidate: Contender, best: Contender, higher_is_better: bool) -> float:
    """How much worse than the best, as a positive number (0 for the best itself)."""
    gap = best.score - candidate.score
    return gap if higher_is_better else -gap


def as_good(candidate: Contender, best: Contender, tolerance: Tolerance, higher_is_better: bool) -> str:
    """Why a candidate counts as good as the best ('' when it does not)."""
    if candidate.name == best.name:
        return "best"
    if shortfall(candidate, best, higher_is_better) <= tolerance.allowed(best.score):
        return "tolerance"
    low, high = candidate.diff_ci
    return "interval" if low <= 0 <= high else ""


def recommend(contenders: list[Contender], tolerance: Tolerance, higher_is_better: bool) -> Contender:
    best = best_of(contenders, higher_is_better)
    good = [c for c in contenders if as_good(c, best, tolerance, higher_is_better)]
    return min(good, key=lambda c: (c.rung, c.n_params, c.name))


def _times(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


def reason(chosen: Contender, best: Contender, tolerance: Tolerance, higher_is_better: bool) -> str:
    """One sentence a manager can read.

    >>> b = Contender("lightgbm", 4, 8000, 0.849, (0, 0), 4.0, 20.0, 200_000, False)
    >>> s = Contender("linear", 2, 46, 0.846, (-0.006, 0.001), 0.1, 2.0, 5_000, True)
    >>> reason(s, b, Tolerance(0.005), True)
    'linear scores 0.8460 against 0.8490 for lightgbm (within the tolerance of 0.005); 40x faster to fit, 10x faster to predict, 40x smaller, exportable as SQL'
    """
    if chosen.name == best.name:
        return (f"{best.name} has the best score ({readable(best.score)}) and no simpler candidate (a lower "
                f"rung, or fewer learned numbers on its rung) comes within {tolerance} or its interval")
    why = as_good(chosen, best, tolerance, higher_is_better)
    basis = (f"within {tolerance}" if why == "tolerance"
             else "the bootstrap interval of the difference includes zero")
    gains = [f"{_times(best.fit_seconds, chosen.fit_seconds):.0f}x faster to fit",
             f"{_times(best.predict_us_per_row, chosen.predict_us_per_row):.0f}x faster to predict",
             f"{_times(best.model_bytes, chosen.model_bytes):.0f}x smaller"]
    gains = [g for g in gains if not g.startswith(("0x", "1x", "infx"))]
    if chosen.sql and not best.sql:
        gains.append("exportable as SQL")
    extra = f"; {', '.join(gains)}" if gains else ""
    return (f"{chosen.name} scores {readable(chosen.score)} against {readable(best.score)} for {best.name} "
            f"({basis}){extra}")


def pareto_front(points: list[tuple[str, float, float]], higher_is_better: bool) -> list[str]:
    """Names not beaten on both quality and cost by another (points: name, score, cost).

    >>> pareto_front([("a", .80, 1), ("b", .85, 10), ("c", .79, 5)], True)
    ['a', 'b']
    """
    sign = 1 if higher_is_better else -1
    front = []
    for name, score, cost in points:
        beaten = any(sign * s >= sign * score and c <= cost and (s, c) != (score, cost)
                     for _, s, c in points)
        if not beaten:
            front.append(name)
    return front
