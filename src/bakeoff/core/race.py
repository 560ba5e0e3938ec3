"""The bake-off: each candidate is one job on an engine, under the time budget.

Candidates start simplest first, so cheap rungs are never starved by expensive ones. A job
that overruns its slice is stopped (`timeout`); one that raises or dies (out of memory,
segfault) is recorded `failed`; one that cannot start before the total budget ends is
`skipped`; the bake-off goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bakeoff.core.candidate import Candidate
from bakeoff.core.engine import Engine, Finished, Job
from bakeoff.core.evaluation import Evaluation

_POLL_SECONDS = 0.02
_MIN_SLICE_SECONDS = 1.0


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


class Observer(Protocol):
    def started(self, candidate: type[Candidate], seconds: float) -> None: ...
    def finished(self, outcome: Outcome) -> None: ...


class _Silent:
    def started(self, candidate, seconds):
        pass

    def finished(self, outcome):
        pass


def race(candidates: list[type[Candidate]], data, settings: RaceSettings, engine: Engine,
         job: str, observer: Observer | None = None) -> list[Outcome]:
    """Evaluate every candidate as a `job` ("module:function") on `engine`; outcomes in the
    order given. The engine must already `share` the data the job reads."""
    observer = observer or _Silent()
    deadline = time.monotonic() + settings.total_seconds
    outcomes: dict[str, Outcome] = {}
    pending, running = list(candidates), []
    while pending or running:
        while pending and len(running) < settings.workers:
            cls = pending.pop(0)
            remaining = deadline - time.monotonic()
            if remaining < _MIN_SLICE_SECONDS:
                outcomes[cls.name] = _finish(observer, cls, "skipped", "the total budget was used up "
                                             "before it could start; raise [budget] total")
                continue
            seconds = min(settings.per_candidate_seconds, remaining)
            handle = engine.start(_job(cls, job, settings, seconds))
            observer.started(cls, seconds)
            running.append((cls, handle, seconds, remaining < settings.per_candidate_seconds))
        time.sleep(_POLL_SECONDS)
        for entry in [e for e in running if engine.done(e[1])]:
            running.remove(entry)
            cls, handle, seconds, cut_by_total = entry
            outcomes[cls.name] = _outcome(cls, engine.collect(handle), seconds, cut_by_total)
            observer.finished(outcomes[cls.name])
    return [outcomes[c.name] for c in candidates]


def _job(cls: type[Candidate], target: str, settings: RaceSettings, seconds: float) -> Job:
    return Job(cls.name, target, class_spec(cls), str(settings.search_dir or ""), settings, seconds)


def class_spec(cls: type) -> str | bytes:
    """How a worker finds the class: "module:Class", or the class itself (pickled by value) when
    it lives in a notebook or script (`__main__`), which a worker cannot import."""
    if cls.__module__ != "__main__" and "<locals>" not in cls.__qualname__:
        return f"{cls.__module__}:{cls.__qualname__}"
    import cloudpickle

    return cloudpickle.dumps(cls)


def _outcome(cls, finished: Finished, seconds: float, cut_by_total: bool) -> Outcome:
    if finished.value is not None:
        return Outcome(cls.name, cls.rung, cls.family, "ok", None, finished.value, finished.wall_seconds)
    if finished.overran:
        knob = "total" if cut_by_total else "per_candidate"
        reason = f"still running after its {seconds:.0f} s slice; stopped (raise [budget] {knob})"
        return Outcome(cls.name, cls.rung, cls.family, "timeout", reason, None, finished.wall_seconds)
    return Outcome(cls.name, cls.rung, cls.family, "failed", finished.error, None, finished.wall_seconds)


def _finish(observer: Observer, cls, status: str, error: str) -> Outcome:
    outcome = Outcome(cls.name, cls.rung, cls.family, status, error)
    observer.finished(outcome)
    return outcome
