"""The budget schedule: every candidate gets a quick pass first, then slices from measured cost.

Breadth first: each candidate runs once with its defaults on a sample (its quick pass, see
`Glance`), so its cost is measured and no slow candidate can starve a strong cheap one. What
remains of the budget goes to the full evaluations (cross-validation, final fits, then tuning
with what is left), each slice sized from the candidate's measured cost, in order of what each
can still gain per second. Pure functions: the race (`bakeoff.core.race`) applies them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

QUICK_SHARE = 1 / 3  # of the budget, at most, for the quick passes together
MARGIN = 1.5  # a full evaluation's slice over its estimated cost: estimates from a sample err
MIN_SLICE = 1.0  # seconds; a job given less cannot even start its worker usefully
CHEAP_SECONDS = 2.0  # a full evaluation estimated below this goes first, simplest first


@dataclass(frozen=True)
class Glance:
    """A candidate's quick pass: its defaults fitted on a sample, scored and timed."""

    score: float  # on a validation sample; comparable between the candidates of one run
    rows: int  # rows it was fitted on
    seconds: float  # what the quick pass itself took
    evaluate_seconds: float  # estimated: the full evaluation without tuning (folds, final fits, scoring)
    trial_seconds: float  # estimated: one tuning trial on all the rows tuning uses
    tunable: bool
    resample_seconds: float = 0.0  # measured: one bootstrap resample of all folds


def quick_slice(per_candidate: float, total: float, workers: int, candidates: int) -> float:
    """Seconds one quick pass may take: its share of a third of the budget, within the slice.

    >>> quick_slice(60, 300, 2, 10), quick_slice(60, 30, 2, 10)
    (20.0, 2.0)
    """
    share = total * workers * QUICK_SHARE / max(candidates, 1)
    return max(MIN_SLICE, min(per_candidate, share))


def needed(glance: Glance) -> float:
    """Seconds to give a full evaluation without tuning: its estimate with a margin."""
    return MARGIN * glance.evaluate_seconds + MIN_SLICE / 2


def wanted(glance: Glance, trials: int) -> float:
    """Seconds a full evaluation with all `trials` tuning trials would take."""
    return needed(glance) + (MARGIN * trials * glance.trial_seconds if glance.tunable else 0.0)


def priorities(glances: dict[str, Glance], rungs: dict[str, int], higher_is_better: bool,
               trials: int) -> list[str]:
    """Names in the order their full evaluations start: most to gain per second first, the
    simplest first among near-equals (within 10 %). A candidate's gain is how far its quick
    score is above the weakest one's; a baseline, with nothing to gain, still goes first when
    it is cheap (it is the yardstick of every other).

    >>> g = lambda score, secs: Glance(score, 100, 0.1, secs, secs, True)
    >>> priorities({"c": g(.5, .1), "slow": g(.80, 30), "fast": g(.81, 2)}, {"c": 0, "slow": 3, "fast": 4},
    ...            True, 20)
    ['c', 'fast', 'slow']
    """
    sign = 1 if higher_is_better else -1
    scores = [sign * g.score for g in glances.values() if math.isfinite(g.score)]
    floor = min(scores, default=0.0)
    spread = (max(scores, default=0.0) - floor) or 1.0

    def key(name: str):
        glance = glances[name]
        if glance.evaluate_seconds <= CHEAP_SECONDS:
            return (0, 0, rungs[name])  # costs nothing worth ordering
        score = sign * glance.score if math.isfinite(glance.score) else floor
        gain = (score - floor) / spread + 0.01
        per_second = gain / wanted(glance, trials)
        return (1, -math.floor(math.log(per_second) / math.log(1.1)), rungs[name])

    return sorted(glances, key=key)


def admit(order: list[str], glances: dict[str, Glance], capacity: float) -> tuple[list[str], list[str]]:
    """Which full evaluations fit in `capacity` worker-seconds, taken in `order`; the rest do not.

    >>> g = lambda secs: Glance(0.5, 100, 0.1, secs, 0.0, False)
    >>> admit(["a", "b", "c"], {"a": g(1), "b": g(100), "c": g(1)}, 20)
    (['a', 'c'], ['b'])
    """
    admitted, left_out, used = [], [], 0.0
    for name in order:
        cost = needed(glances[name])
        if used + cost <= capacity:
            admitted.append(name)
            used += cost
        else:
            left_out.append(name)
    return admitted, left_out


@dataclass(frozen=True)
class Guide:
    """What a full evaluation is told: its quick pass, and the seconds its tuning may take."""

    glance: Glance
    tuning_seconds: float


def full_slice(glance: Glance, trials: int, per_candidate: float, spare: float,
               weight: float) -> tuple[float, float]:
    """One full evaluation's (slice, tuning seconds). The slice, after which the job is stopped,
    is what it needs plus its `weight` share of the `spare` worker-seconds, within [budget]
    per_candidate; tuning may use all of the slice beyond the need (the estimates come from a
    sample and may be low, and a search the trial count ends is repeatable).

    >>> g = Glance(0.5, 100, 0.1, 2.0, 1.0, True)  # needs 1.5 x 2 + 0.5 = 3.5 s
    >>> full_slice(g, 20, 60, 10, 0.5), full_slice(g, 20, 60, 1000, 0.1), full_slice(g, 20, 3, 0, 1)
    ((8.5, 5.0), (60, 56.5), (3, 0))
    """
    seconds = min(per_candidate, needed(glance) + max(spare, 0.0) * weight)
    return seconds, max(seconds - needed(glance), 0) if glance.tunable else 0


def budget_to_include(total: float, missing_worker_seconds: float, workers: int) -> float:
    """A total budget that would have made room for `missing_worker_seconds` more work,
    rounded up to a whole half minute.

    >>> budget_to_include(60, 100, 2)
    120
    """
    more = total + missing_worker_seconds / max(workers, 1)
    return int(math.ceil(more / 30) * 30)
