"""The bake-off: each candidate is a job on an engine, under the time budget, breadth first.

First every candidate runs its quick pass (defaults on a sample: a first score and its measured
cost), simplest first; then the full evaluations run, in the order and with the slices the
schedule (`bakeoff.core.schedule`) derives from those costs. A job that overruns its slice is
stopped (`timeout`); one that raises or dies (out of memory, segfault) is recorded `failed`;
one whose work cannot fit in what remains of the budget is `skipped`, with the budget that
would include it; the bake-off goes on.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bakeoff.core.candidate import Candidate
from bakeoff.core.engine import Engine, Finished, Job
from bakeoff.core.evaluation import Evaluation
from bakeoff.core.schedule import (
    MARGIN,
    MIN_SLICE,
    Glance,
    admit,
    budget_to_include,
    full_slice,
    least,
    longest_first_when_roomy,
    pace_of,
    paced,
    priorities,
    promise,
    quick_slice,
)
from bakeoff.core.units import card_duration, human_seconds

_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class RaceSettings:
    metric: str
    total_seconds: float
    per_candidate_seconds: float
    trials: int
    seed: int
    workers: int
    resamples: int = 500
    search_dir: Path | None = None
    memory_bytes: int | None = None  # address-space limit of each worker
    higher_is_better: bool = True
    refit: str = "all"  # the saved model learns from: "all" rows, or the "train"ing part only
    unit: str = "rows"  # what a quick pass is fitted on: rows, series, customers


@dataclass
class Outcome:
    """What happened to one candidate; `evaluation` is set when status is ok."""

    name: str
    rung: int
    family: str
    status: str  # ok | timeout | failed | skipped
    error: str | None = None
    evaluation: Evaluation | None = None
    wall_seconds: float = 0.0
    glance: Glance | None = None  # its quick pass, when that finished
    remedy: str | None = None  # what would let it finish, when it did not ("raise [budget] total to 2m")


class Observer(Protocol):
    def glancing(self, candidate: type[Candidate], seconds: float) -> None: ...
    def glanced(self, candidate: type[Candidate], glance: Glance) -> None: ...
    def started(self, candidate: type[Candidate], seconds: float) -> None: ...
    def finished(self, outcome: Outcome) -> None: ...


class Silent:
    """An observer that watches nothing; subclass it to watch some events."""

    def glancing(self, candidate, seconds):
        pass

    def glanced(self, candidate, glance):
        pass

    def started(self, candidate, seconds):
        pass

    def finished(self, outcome):
        pass


@dataclass(frozen=True)
class Jobs:
    """The task's two jobs, "module:function" each: the quick pass (returns a Glance) and the
    full evaluation (returns an Evaluation)."""

    quick: str
    full: str


def race(candidates: list[type[Candidate]], settings: RaceSettings, engine: Engine, jobs: Jobs,
         observer: Observer | None = None) -> list[Outcome]:
    """Evaluate every candidate on `engine`; outcomes in the order given. The engine must already
    `share` the data the jobs read."""
    run = _Race(candidates, settings, engine, jobs, observer or Silent())
    run.quick_passes()
    run.full_evaluations()
    return [run.outcomes[c.name] for c in candidates]


class _Race:
    def __init__(self, candidates, settings: RaceSettings, engine: Engine, jobs: Jobs, observer: Observer):
        self.candidates, self.settings, self.jobs, self.observer = candidates, settings, jobs, observer
        self.lanes = _Lanes(engine, settings.workers)
        self.deadline = time.monotonic() + settings.total_seconds
        self.outcomes: dict[str, Outcome] = {}
        self.glances: dict[str, Glance] = {}
        self.observed: list[tuple[float, float]] = []  # (seconds taken, estimated) of first assessments
        self.classes = {c.name: c for c in candidates}
        self.tight: set[str] = set()  # full evaluations the estimates left no room for (see full_evaluations)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def quick_passes(self) -> None:
        s = self.settings
        limit = quick_slice(s.per_candidate_seconds, s.total_seconds, s.workers, len(self.candidates))
        pending = list(self.candidates)
        while pending or self.lanes.running:
            while pending and self.lanes.free():
                cls = pending.pop(0)
                seconds = min(limit, self.left())
                if seconds < MIN_SLICE:
                    remedy = f"raise [budget] total to {card_duration(2 * s.total_seconds)}"
                    self._record(Outcome(cls.name, cls.rung, cls.family, "skipped",
                                         f"the total budget was used up before its quick pass could start; "
                                         f"{remedy}", remedy=remedy))
                    continue
                self.lanes.start(_job(cls, self.jobs.quick, s, seconds))
                self.observer.glancing(cls, seconds)
            for job, finished in self.lanes.wait():
                cls = self.classes[job.name]
                if finished.value is not None:
                    self.glances[cls.name] = finished.value
                    self.observer.glanced(cls, finished.value)
                else:
                    self._record(_unfinished(cls, finished, job.seconds, self._remedy(job.seconds),
                                             "quick pass (its default settings on a sample)"))

    def full_evaluations(self) -> None:
        s = self.settings
        order = priorities(self.glances, {n: self.classes[n].rung for n in self.glances},
                           s.higher_is_better, s.trials)
        pending, left_out = admit(order, self.glances, max(self.left(), 0.0) * s.workers)
        pending = longest_first_when_roomy(pending, self.glances, max(self.left(), 0.0) * s.workers, s.trials)
        self.tight = set(left_out)  # not room for them by the estimates: last, and only into room that is free
        pending += left_out
        postponed: list[str] = []  # too little room now; asked again when a running job ends
        while pending or self.lanes.running:
            while pending and self.lanes.free():
                name = pending.pop(0)
                if not self._start_full(name, [n for n in pending + postponed if n not in self.tight],
                                        can_wait=bool(self.lanes.running)):
                    postponed.append(name)
            ended = self.lanes.wait()
            for job, finished in ended:
                self._record(self._full_outcome(job, finished))
            if ended and postponed:  # a job ended, often before its slice: its room is free again
                pending, postponed = postponed + pending, []

    def _start_full(self, name: str, waiting: list[str], can_wait: bool = False) -> bool:
        """Start a full evaluation with the slice its (paced) estimate and the time left allow.
        Too little free room for one the estimates left out: False when it `can_wait` for a
        running job to end; too little room otherwise: recorded as crowded out."""
        s, glance = self.settings, self.glances[name]
        capacity = max(self.left(), 0.0) * s.workers - self.lanes.committed()
        pace = pace_of(self.observed)
        limit = min(s.per_candidate_seconds, self.left())  # a job runs on one worker
        gains = promise(self.glances, s.higher_is_better)
        seconds, guide = full_slice(paced(glance, pace), [paced(self.glances[n], pace) for n in waiting],
                                    capacity, limit, gains[name],
                                    sum(gains[n] for n in waiting if self.glances[n].tunable), s.trials)
        no_room = name in self.tight and capacity < least(glance)  # estimates are often high: others end early
        if no_room and can_wait:  # room frees as running jobs end; wall time left only shrinks
            return False
        if no_room or min(seconds, self.left()) < least(glance) / MARGIN:
            self._record(self._crowded_out(name))
            return True
        self.lanes.start(_job(self.classes[name], self.jobs.full, s, min(seconds, self.left()), guide))
        self.observer.started(self.classes[name], seconds)
        return True

    def _full_outcome(self, job: Job, finished: Finished) -> Outcome:
        """A full evaluation's outcome; one stopped after its checkpoint counts, with a remedy."""
        cls, glance = self.classes[job.name], self.glances[job.name]
        if finished.value is None:
            outcome = _unfinished(cls, finished, job.seconds, self._remedy(job.seconds), "full evaluation")
            outcome.glance = glance
            return outcome
        self._observe(glance, finished.value)
        remedy = self._remedy(job.seconds) if finished.overran else None
        return Outcome(cls.name, cls.rung, cls.family, "ok", None, finished.value, finished.wall_seconds,
                       glance, remedy)

    def _observe(self, glance: Glance, evaluation) -> None:
        """Learn the run's pace from how long a candidate's first assessment took against its
        estimate (estimates under a third of a second are mostly a worker's start: not telling)."""
        estimate = glance.evaluate_seconds - glance.refit_seconds
        if estimate >= 0.3 and getattr(evaluation, "assess_seconds", 0.0) > 0:
            self.observed.append((evaluation.assess_seconds, estimate))

    def _remedy(self, seconds: float) -> str:
        """What to raise when a job of `seconds` overran: its slice, or the total it was cut to."""
        s = self.settings
        if seconds >= s.per_candidate_seconds:
            return f"raise [budget] per_candidate to {card_duration(2 * seconds)}"
        return f"raise [budget] total to {card_duration(budget_to_include(s.total_seconds, seconds, s.workers))}"

    def _crowded_out(self, name: str) -> Outcome:
        cls, glance, s = self.classes[name], self.glances[name], self.settings
        room, need = max(self.left(), 0.0), least(glance)
        remedy = more_budget(need, s)
        sampled = glance.min_rows < glance.train_rows  # `need` is for its smallest sample
        smallest = f" on its smallest sample ({glance.min_rows:,} {s.unit})" if sampled else ""
        return Outcome(cls.name, cls.rung, cls.family, "skipped",
                       f"its full evaluation{smallest} needs about {human_seconds(need)} and "
                       f"{human_seconds(min(room, s.per_candidate_seconds))} of the budget were left for it; "
                       f"{remedy} to include it (its quick pass scored {glance.score:.4g} with default "
                       f"settings on {glance.rows:,} {s.unit})", glance=glance, remedy=remedy)

    def _record(self, outcome: Outcome) -> None:
        self.outcomes[outcome.name] = outcome
        self.observer.finished(outcome)


class _Lanes:
    """Up to `workers` jobs at once on the engine."""

    def __init__(self, engine: Engine, workers: int):
        self.engine, self.workers = engine, workers
        self.running: list[tuple[Job, Any, float]] = []  # job, handle, started

    def free(self) -> bool:
        return len(self.running) < self.workers

    def start(self, job: Job) -> None:
        self.running.append((job, self.engine.start(job), time.monotonic()))

    def committed(self) -> float:
        """Worker-seconds the running jobs may still take."""
        now = time.monotonic()
        return sum(max(job.seconds - (now - started), 0.0) for job, _, started in self.running)

    def wait(self) -> list[tuple[Job, Finished]]:
        """The jobs that ended since the last call (after a short sleep), with how."""
        time.sleep(_POLL_SECONDS)
        ended = [entry for entry in self.running if self.engine.done(entry[1])]
        for entry in ended:
            self.running.remove(entry)
        return [(job, self.engine.collect(handle)) for job, handle, _ in ended]


def _job(cls: type[Candidate], target: str, settings: RaceSettings, seconds: float,
         guide: Any = None) -> Job:
    return Job(cls.name, target, class_spec(cls), str(settings.search_dir or ""), settings, seconds, guide)


def class_spec(cls: type) -> str | bytes:
    """How a worker finds the class: "module:Class", or the class itself (pickled by value) when
    it lives in a notebook or script (`__main__`), which a worker cannot import."""
    if cls.__module__ != "__main__" and "<locals>" not in cls.__qualname__:
        return f"{cls.__module__}:{cls.__qualname__}"
    import cloudpickle

    return cloudpickle.dumps(cls)


def _unfinished(cls, finished: Finished, seconds: float, remedy: str, what: str) -> Outcome:
    """The outcome of a job that returned nothing: stopped at its slice, or failed."""
    if finished.overran:
        reason = f"its {what} was still running after its {seconds:.0f} s slice; stopped ({remedy})"
        return Outcome(cls.name, cls.rung, cls.family, "timeout", reason, None, finished.wall_seconds,
                       remedy=remedy)
    return Outcome(cls.name, cls.rung, cls.family, "failed", finished.error, None, finished.wall_seconds)


def more_budget(need: float, s: RaceSettings) -> str:
    """The [budget] change that makes room for a full evaluation of `need` seconds: more total,
    and a longer slice when one job's is shorter (whole minutes past two).

    >>> settings = RaceSettings("mase", 300.0, 120.0, 0, 0, 2)
    >>> more_budget(100.0, settings), more_budget(381.0, settings)
    ('raise [budget] total to 6m', 'raise [budget] per_candidate to 7m and total to 10m')
    """
    def said(seconds: float) -> str:
        return card_duration(60 * math.ceil(seconds / 60) if seconds > 120 else seconds)

    total = budget_to_include(s.total_seconds, need, s.workers)
    if need <= s.per_candidate_seconds:
        return f"raise [budget] total to {said(total)}"
    return f"raise [budget] per_candidate to {said(need)} and total to {said(max(total, MARGIN * need))}"
