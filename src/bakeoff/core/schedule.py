"""The budget schedule: every candidate gets a quick pass first, then slices from measured cost.

Breadth first: each candidate runs once with its defaults on a sample (its quick pass, see
`Glance`), so its cost is measured and no slow candidate can starve a strong cheap one. What
remains of the budget goes to the full evaluations (cross-validation, final fits, then tuning
with what is left), each slice sized from the candidate's measured cost, in order of what each
can still gain per second. Pure functions: the race (`bakeoff.core.race`) applies them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

QUICK_SHARE = 1 / 3  # of the budget, at most, for the quick passes together
MARGIN = 1.5  # a job is stopped at this much over its planned seconds: estimates from a sample err
MIN_SLICE = 1.0  # seconds; a job given less cannot even start its worker usefully
QUICK_FLOOR = 3.0  # seconds a quick pass may take at least (within the slice): on a busy machine
#                    the worker's start and two small fits of a cheap candidate can take two
CHEAP_SECONDS = 2.0  # a full evaluation estimated below this goes first, simplest first
MIN_FIT_ROWS = 2_000  # the cross-validation never fits on fewer rows than this to save time


@dataclass(frozen=True)
class Glance:
    """A candidate's quick pass: its defaults fitted on a sample, scored and timed."""

    score: float  # on a validation sample; comparable between the candidates of one run
    rows: int  # rows it was fitted on
    seconds: float  # what the quick pass itself took
    evaluate_seconds: float  # estimated: the full evaluation without tuning (folds, final fits, scoring)
    trial_seconds: float  # estimated: one tuning trial on all the rows tuning uses
    tunable: bool
    folds_seconds: float = 0.0  # of evaluate_seconds, the fits that may use a sample of the rows
    #                             (the folds' and the one that scores the holdout), with predictions
    fit_power: float = 1.0  # how their cost grows with the rows they fit on (a power)
    train_rows: int = 0  # rows of each fold's training part at full size
    refit_seconds: float = 0.0  # of evaluate_seconds, the refit on every row that ends it
    min_rows: int = MIN_FIT_ROWS  # the fewest rows (for a forecast: series) a sample of them may have

    def folds_at(self, rows: float) -> float:
        """Estimated seconds of the cross-validation when each fold fits on `rows` rows."""
        if not self.train_rows:
            return self.folds_seconds
        return self.folds_seconds * (min(rows, self.train_rows) / self.train_rows) ** self.fit_power


def quick_slice(per_candidate: float, total: float, workers: int, candidates: int) -> float:
    """Seconds one quick pass may take: its share of a third of the budget, within the slice;
    up to `QUICK_FLOOR` when half the budget allows it (a quick pass that hangs is stopped
    there; one that finishes takes only what it needs).

    >>> quick_slice(60, 300, 2, 10), quick_slice(60, 30, 2, 10), quick_slice(60, 8, 1, 3)
    (20.0, 3.0, 1.3333333333333333)
    """
    share = total * workers * QUICK_SHARE / max(candidates, 1)
    floor = min(QUICK_FLOOR, per_candidate, total * workers / 2 / max(candidates, 1))
    return max(MIN_SLICE, floor, min(per_candidate, share))


def needed(glance: Glance, rows: float | None = None) -> float:
    """Seconds to plan for a full evaluation without tuning, its folds fitting on `rows` rows
    (all by default): its estimate, and half a second to start its worker."""
    folds = glance.folds_seconds if rows is None else glance.folds_at(rows)
    return glance.evaluate_seconds - glance.folds_seconds + folds + MIN_SLICE / 2


def least(glance: Glance) -> float:
    """Seconds the cheapest full evaluation takes: its fits on `MIN_FIT_ROWS` rows, without the
    refit on every row (when that does not fit, the model fitted on a sample is kept)."""
    return needed(glance, glance.min_rows) - glance.refit_seconds


def fit_rows(glance: Glance, seconds: float) -> int | None:
    """Rows each cross-validation fold may fit on for the evaluation to take `seconds`: None when
    all of them fit; never fewer than `MIN_FIT_ROWS`.

    >>> g = Glance(0.8, 2000, 1.0, evaluate_seconds=12.0, trial_seconds=1.0, tunable=True,
    ...            folds_seconds=10.0, fit_power=1.0, train_rows=20_000)
    >>> fit_rows(g, 100), fit_rows(g, 7.5), fit_rows(g, 1)
    (None, 10000, 2000)
    """
    if seconds >= needed(glance) or not glance.train_rows or glance.folds_seconds <= 0:
        return None
    room = seconds - MIN_SLICE / 2 - (glance.evaluate_seconds - glance.folds_seconds)
    share = max(room, 0.0) / glance.folds_seconds
    return int(max(min(glance.train_rows * share ** (1 / glance.fit_power), glance.train_rows),
                   min(glance.min_rows, glance.train_rows)))


def wanted(glance: Glance, trials: int) -> float:
    """Seconds a full evaluation with all `trials` tuning trials would take."""
    return needed(glance) + (MARGIN * trials * glance.trial_seconds if glance.tunable else 0.0)


def promise(glances: dict[str, Glance], higher_is_better: bool) -> dict[str, float]:
    """What each candidate can still gain, from its quick score: 0 for the weakest, 1 for the
    strongest (squared, so that time goes to the front runners), plus 0.01 so none gets nothing.

    >>> promise({"a": Glance(0.5, 1, 0, 1, 1, True), "b": Glance(0.7, 1, 0, 1, 1, True),
    ...          "c": Glance(0.9, 1, 0, 1, 1, True)}, True)
    {'a': 0.01, 'b': 0.26, 'c': 1.01}
    """
    sign = 1 if higher_is_better else -1
    scores = [sign * g.score for g in glances.values() if math.isfinite(g.score)]
    floor = min(scores, default=0.0)
    spread = (max(scores, default=0.0) - floor) or 1.0
    return {name: round(((sign * g.score - floor) / spread if math.isfinite(g.score) else 0.0) ** 2 + 0.01, 6)
            for name, g in glances.items()}


def priorities(glances: dict[str, Glance], rungs: dict[str, int], higher_is_better: bool,
               trials: int) -> list[str]:
    """Names in the order their full evaluations start: most to gain per second first (see
    `promise`), the simplest first among near-equals (within 10 %); a cheap one first of all,
    simplest first (a baseline, with nothing to gain, is the yardstick of every other).

    >>> g = lambda score, secs: Glance(score, 100, 0.1, secs, secs, True)
    >>> priorities({"c": g(.5, .1), "slow": g(.80, 30), "fast": g(.81, 2)}, {"c": 0, "slow": 3, "fast": 4},
    ...            True, 20)
    ['c', 'fast', 'slow']
    """
    gains = promise(glances, higher_is_better)

    def key(name: str):
        glance = glances[name]
        if glance.evaluate_seconds <= CHEAP_SECONDS:
            return (0, 0, rungs[name])  # costs nothing worth ordering
        per_second = gains[name] / wanted(glance, trials)
        return (1, -math.floor(math.log(per_second) / math.log(1.1)), rungs[name])

    return sorted(glances, key=key)


def admit(order: list[str], glances: dict[str, Glance], capacity: float) -> tuple[list[str], list[str]]:
    """Which full evaluations fit in `capacity` worker-seconds, taken in `order`, each at its
    least (its folds fitting on a sample of the rows); the rest do not.

    >>> g = lambda secs: Glance(0.5, 100, 0.1, secs, 0.0, False)
    >>> admit(["a", "b", "c"], {"a": g(1), "b": g(100), "c": g(1)}, 20)
    (['a', 'c'], ['b'])
    """
    admitted, left_out, used = [], [], 0.0
    for name in order:
        cost = least(glances[name])
        if used + cost <= capacity:
            admitted.append(name)
            used += cost
        else:
            left_out.append(name)
    return admitted, left_out


def longest_first_when_roomy(order: list[str], glances: dict[str, Glance], capacity: float,
                             trials: int) -> list[str]:
    """`order`, or, when every full evaluation fits in `capacity` worker-seconds `MARGIN` times
    over with all its trials (nothing can be crowded out, so the order decides only when the
    run ends), the longest first, which ends the run soonest on a few workers.

    >>> g = lambda secs: Glance(0.5, 100, 0.1, secs, 0.0, False)
    >>> longest_first_when_roomy(["a", "b", "c"], {"a": g(1), "b": g(5), "c": g(3)}, 100, 20)
    ['b', 'c', 'a']
    >>> longest_first_when_roomy(["a", "b", "c"], {"a": g(1), "b": g(5), "c": g(3)}, 12, 20)
    ['a', 'b', 'c']
    """
    if sum(wanted(glances[name], trials) for name in order) * MARGIN > capacity:
        return order
    return sorted(order, key=lambda name: -wanted(glances[name], trials))  # stable: ties keep `order`


@dataclass(frozen=True)
class Guide:
    """What a full evaluation is told: its quick pass, the seconds its tuning may take, and the
    rows each cross-validation fold fits on when all of them would not fit its slice."""

    glance: Glance
    tuning_seconds: float
    fit_rows: int | None = None


def full_slice(glance: Glance, waiting: list[Glance], capacity: float, per_candidate: float,
               gain: float = 1.0, waiting_gain: float | None = None,
               trials: int = 0) -> tuple[float, Guide]:
    """One full evaluation's slice (after which the job is stopped) and its `Guide`, given the
    `capacity` worker-seconds left and the evaluations still `waiting` after it.

    When everything fits at full size, it plans what it needs (with all its `trials` when
    every evaluation's trials fit too: a search that ends at its trial count is repeatable)
    plus a share of the spare time for its tuning: its `gain` (see `promise`) against the
    `waiting_gain` of those after it (an equal share when not given), so the front runners
    tune longest; the search stops
    itself when the trials it measures say the cross-validation would no longer fit. When
    not, every evaluation is cut by the same share between its least (folds fitting on
    `MIN_FIT_ROWS` rows) and its full need, and its folds fit on fewer rows. It is stopped at
    `MARGIN` times its plan (the estimate may be low; what it overruns, those after it lose),
    and never less than 3 s past it, so it plans within `per_candidate` (the card's, or the wall
    time left) divided by `MARGIN`; a need beyond that counts only up to it in the sums above
    (the time it cannot use goes to the others).

    >>> g = Glance(0.5, 100, 0.1, 2.0, 1.0, True)  # needs 2 + 0.5 = 2.5 s
    >>> seconds, guide = full_slice(g, [g], capacity=15.0, per_candidate=60)
    >>> seconds, guide.tuning_seconds, guide.fit_rows  # (15 - 5) / 2 spare each: plans 7.5 s
    (11.25, 5.0, None)
    >>> weak = full_slice(g, [g], capacity=15.0, per_candidate=60, gain=0.01, waiting_gain=1.0, trials=3)
    >>> round(weak[1].tuning_seconds, 2)  # its 3 trials of 1 s, with their margin, and 1 % of the spare
    4.51
    >>> full_slice(Glance(0.5, 100, 0.1, 0.1, 0.0, False), [g], 15.0, 60)[0]  # a constant: 3 s to spare
    3.6
    >>> full_slice(g, [g], capacity=15.0, per_candidate=60, gain=3.0, waiting_gain=1.0)[1].tuning_seconds
    7.5
    >>> theta = Glance(0.5, 12, 0.1, 40.0, 0.0, False, folds_seconds=40.0, train_rows=414, min_rows=30)
    >>> slow = dataclasses.replace(theta, evaluate_seconds=5000.0, folds_seconds=5000.0)  # hours
    >>> full_slice(theta, [slow], capacity=200.0, per_candidate=120)[1].fit_rows is None  # all 414: it fits
    True
    """
    everyone, cap = [glance, *waiting], per_candidate / MARGIN  # no job plans more than `cap`
    full, low = sum(min(needed(g), cap) for g in everyone), sum(min(least(g), cap) for g in everyone)
    if capacity >= full:
        others = len(waiting) * gain if waiting_gain is None else waiting_gain
        share = gain / (gain + others) if glance.tunable else 0.0
        searches = sum(wanted(g, trials) for g in everyone)
        if capacity >= searches:
            planned = wanted(glance, trials) + (capacity - searches) * share
        else:
            planned = needed(glance) + (capacity - full) * share
    else:
        share = min(max((capacity - low) / (full - low), 0.0), 1.0) if full > low else 0.0
        planned = least(glance) + share * (min(needed(glance), cap) - least(glance))
    planned = min(planned, cap)
    rows = fit_rows(glance, planned)
    tuning = max(planned - needed(glance, rows), 0.0) if glance.tunable else 0.0
    stop = max(MARGIN * planned, planned + 3 * MIN_SLICE)  # a busy machine's worker start can take seconds
    return min(stop, per_candidate), Guide(glance, tuning, rows)


def paced(glance: Glance, pace: float) -> Glance:
    """The glance with its estimated seconds multiplied by `pace`: how much slower than their
    estimates the evaluations of this run turned out (a busy machine, a model whose cost grows
    faster on all rows than on the sample)."""
    return dataclasses.replace(glance, evaluate_seconds=glance.evaluate_seconds * pace,
                               trial_seconds=glance.trial_seconds * pace,
                               folds_seconds=glance.folds_seconds * pace,
                               refit_seconds=glance.refit_seconds * pace)


def pace_of(observed: list[tuple[float, float]]) -> float:
    """How much slower than estimated the finished evaluations were: the median ratio of the
    seconds they took to their estimates (pairs of those), between 0.5 and 8; 1 before any.

    >>> pace_of([]), pace_of([(4.0, 2.0), (9.0, 3.0), (1.0, 1.0)]), pace_of([(100.0, 1.0)])
    (1.0, 2.0, 8.0)
    """
    if not observed:
        return 1.0
    ratios = sorted(took / estimate for took, estimate in observed)
    return min(max(ratios[len(ratios) // 2], 0.5), 8.0)


def budget_to_include(total: float, missing_worker_seconds: float, workers: int) -> float:
    """A total budget that would have made room for `missing_worker_seconds` more work,
    rounded up to a whole half minute.

    >>> budget_to_include(60, 100, 2)
    120
    """
    more = total + missing_worker_seconds / max(workers, 1)
    return int(math.ceil(more / 30) * 30)
