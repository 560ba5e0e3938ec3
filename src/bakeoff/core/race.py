"""The bake-off: each candidate fits in its own worker process under the time budget.

Candidates start simplest first, so cheap rungs are never starved by expensive ones. A
worker that overruns its slice is killed (`timeout`); one that raises or dies (out of
memory, segfault) is recorded `failed`; the bake-off goes on.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import resource
import signal
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bakeoff.tasks.tabular.data import Dataset
from bakeoff.tasks.tabular.evaluate import Evaluation
from bakeoff.core.candidate import Candidate

_POLL_SECONDS = 0.05
_MIN_SLICE_SECONDS = 1.0
_PRELOAD = ["bakeoff.tasks.tabular.evaluate", "bakeoff.core.registry", "bakeoff.tasks.tabular.ladder.models",
            "bakeoff.tasks.tabular.ladder.one_rule", "bakeoff.tasks.tabular.ladder.baseline", "sklearn.pipeline", "optuna"]


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


@dataclass
class _Running:
    cls: type[Candidate]
    process: multiprocessing.Process
    started: float
    seconds: float
    result_path: Path
    cut_by_total: bool  # the total budget, not per_candidate, set this slice


def race(candidates: list[type[Candidate]], dataset: Dataset, settings: RaceSettings,
         observer: Observer | None = None) -> list[Outcome]:
    """Evaluate every candidate in a worker process; outcomes in the order given."""
    observer = observer or _Silent()
    context = _context()
    _warm_up(context)  # the worker server's start-up is nobody's slice
    deadline = time.monotonic() + settings.total_seconds
    outcomes: dict[str, Outcome] = {}
    with tempfile.TemporaryDirectory(prefix="bakeoff-") as scratch:
        data_path = Path(scratch) / "dataset.pkl"
        data_path.write_bytes(pickle.dumps(dataset, protocol=pickle.HIGHEST_PROTOCOL))
        pending, running = list(candidates), []
        while pending or running:
            while pending and len(running) < settings.workers:
                cls = pending.pop(0)
                remaining = deadline - time.monotonic()
                if remaining < _MIN_SLICE_SECONDS:
                    outcomes[cls.name] = _finish(observer, cls, "skipped", "the total budget was used up "
                                                 "before it could start; raise [budget] total")
                    continue
                job = _start(context, cls, data_path, settings, remaining)
                observer.started(cls, job.seconds)
                running.append(job)
            time.sleep(_POLL_SECONDS)
            for job in [j for j in running if _is_done(j)]:
                running.remove(job)
                outcomes[job.cls.name] = _collect(job)
                observer.finished(outcomes[job.cls.name])
    return [outcomes[c.name] for c in candidates]


def _context():
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def _warm_up(context) -> None:
    process = context.Process(target=int, daemon=True)
    process.start()
    process.join()


def _start(context, cls, data_path: Path, settings: RaceSettings, remaining: float) -> _Running:
    result_path = data_path.with_name(f"{cls.name}.result.pkl")
    seconds = min(settings.per_candidate_seconds, remaining)
    spec = f"{cls.__module__}:{cls.__qualname__}"
    process = context.Process(target=_work, name=f"bakeoff-{cls.name}", daemon=True,
                              args=(spec, str(settings.search_dir or ""), str(data_path), settings,
                                    seconds, str(result_path)))
    process.start()
    return _Running(cls, process, time.monotonic(), seconds, result_path,
                    remaining < settings.per_candidate_seconds)


def _is_done(job: _Running) -> bool:
    if not job.process.is_alive():
        return True
    if time.monotonic() - job.started > job.seconds:
        job.process.kill()  # a result written just before this still counts: it is complete
        job.process.join()
        return True
    return False


def _collect(job: _Running) -> Outcome:
    cls, wall = job.cls, time.monotonic() - job.started
    job.process.join()
    if job.result_path.exists():
        result = pickle.loads(job.result_path.read_bytes())
        if isinstance(result, Evaluation):
            return Outcome(cls.name, cls.rung, cls.family, "ok", None, result, wall)
        return Outcome(cls.name, cls.rung, cls.family, "failed", result, None, wall)
    code = job.process.exitcode
    if code == -signal.SIGKILL and wall >= job.seconds:
        knob = "total" if job.cut_by_total else "per_candidate"
        reason = f"still running after its {job.seconds:.0f} s slice; stopped (raise [budget] {knob})"
        return Outcome(cls.name, cls.rung, cls.family, "timeout", reason, None, wall)
    return Outcome(cls.name, cls.rung, cls.family, "failed", _death_reason(code), None, wall)


def _death_reason(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"its worker process died with {name}{hint}"
    main_file = Path(getattr(sys.modules["__main__"], "__file__", None) or "bakeoff").name
    hint = "" if main_file == "bakeoff" or code != 1 else \
        " (calling bakeoff from a script? put the call under `if __name__ == \"__main__\":`)"
    return f"its worker process exited with code {code} before reporting a result{hint}"


def _finish(observer: Observer, cls, status: str, error: str) -> Outcome:
    outcome = Outcome(cls.name, cls.rung, cls.family, status, error)
    observer.finished(outcome)
    return outcome


def _work(spec: str, search_dir: str, data_path: str, settings: RaceSettings, seconds: float,
          result_path: str) -> None:
    """Worker process body: evaluate one candidate and write its result file atomically."""
    from threadpoolctl import threadpool_limits

    from bakeoff.tasks.tabular.evaluate import evaluate
    from bakeoff.core.registry import load_class
    from bakeoff.core.metrics import METRICS

    threadpool_limits(1)  # workers run side by side: one thread each keeps timings honest
    if settings.memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (settings.memory_bytes, settings.memory_bytes))
    warnings.simplefilter("ignore")  # convergence and deprecation chatter would break the live table
    try:
        dataset = pickle.loads(Path(data_path).read_bytes())
        cls = load_class(spec, Path(search_dir) if search_dir else None)
        candidate = cls(task=dataset.task, seed=settings.seed, n_classes=len(dataset.classes),
                        class_names=tuple(dataset.classes))
        result = evaluate(candidate, dataset, METRICS[settings.metric], seconds=seconds,
                          trials=settings.trials, resamples=settings.resamples)
    except MemoryError:
        limit = f"the [budget] memory of {settings.memory_bytes:,} bytes" if settings.memory_bytes \
            else "the memory available"
        result = f"out of memory: it needed more than {limit}"
    except SystemExit as stop:
        result = f"it called sys.exit({stop.code}) during fit"
    except Exception as err:  # any failure of user or library code is this candidate's failure
        last = traceback.extract_tb(err.__traceback__)[-1]
        result = f"{type(err).__name__}: {err} (at {Path(last.filename).name}:{last.lineno})"
    tmp = Path(result_path + ".tmp")
    try:
        tmp.write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as err:  # an unpicklable model
        tmp.write_bytes(pickle.dumps(f"its result could not be saved: {type(err).__name__}: {err}"))
    os.replace(tmp, result_path)
