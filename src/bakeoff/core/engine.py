"""Engines run isolated jobs under a time slice. The local engine: one worker process per job.

An engine is told once what every job reads (`share`), then starts jobs, says when each is
done (killing one that overruns its slice) and hands back what it returned or why it did not.
The race (`bakeoff.core.race`) decides what to start and when; a Spark engine is a second class
with these four methods.

Workers come from a forkserver that imports the ladder's libraries once, at `share`, while the
driver goes on; each job then forks from it in milliseconds. Each worker leads its own process
group, so a terminal's Ctrl-C reaches only the driver, and ending a job ends every process its
candidate started. Workers stay in the driver's session: where Linux shares the CPU between
sessions (autogroups), a bake-off is one program, and a low-priority helper of the driver
(MLflow's logging process) yields to the candidates.
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
from importlib import import_module
from pathlib import Path
from typing import Any, Protocol

from bakeoff.errors import CandidateError


@dataclass(frozen=True)
class Job:
    """Run `target(cls, data, settings, seconds, guide)` for the candidate class `spec`
    ("module:Class"); `guide` is what the race learned about it before (its quick pass), or None."""

    name: str
    target: str  # "module:function"
    spec: str | bytes  # "module:Class", or the class pickled by value (see race.class_spec)
    search_dir: str  # where the class's module is found first ("" for none)
    settings: Any
    seconds: float
    guide: Any = None


@dataclass
class Finished:
    value: Any = None  # what the job returned, when it returned
    error: str | None = None  # why it did not
    overran: bool = False  # stopped at the end of its slice
    wall_seconds: float = 0.0


class Engine(Protocol):
    def share(self, data: Any) -> None: ...

    def start(self, job: Job) -> Any: ...

    def done(self, handle: Any) -> bool: ...

    def collect(self, handle: Any) -> Finished: ...

    def close(self) -> None: ...


@dataclass(eq=False)  # one per job, kept in a set
class _Running:
    job: Job
    process: multiprocessing.Process
    started: float
    result_path: Path


class LocalEngine:
    """Each job in its own worker process, killed when it overruns its slice."""

    def __init__(self, memory_bytes: int | None = None, preload: tuple[str, ...] = ()):
        self.memory_bytes = memory_bytes
        self.context = _context(["bakeoff.core.worker_signals", "bakeoff.core.engine", "bakeoff.core.registry",
                                 *preload])
        self.scratch = tempfile.TemporaryDirectory(prefix="bakeoff-")
        self.data_path = Path(self.scratch.name) / "data.pkl"
        self.running: set[_Running] = set()

    def warm_up(self) -> None:
        """Start the forkserver (its imports are nobody's slice). A script that calls bakeoff
        as it is imported cannot start workers: `failure` says how to fix it."""
        try:
            process = self.context.Process(target=int, daemon=True)
            process.start()
            process.join()
        except RuntimeError as err:  # multiprocessing's "bootstrapping phase" error
            self.failure = err

    failure: RuntimeError | None = None

    def share(self, data: Any) -> None:
        self.data_path.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))

    def start(self, job: Job) -> _Running:
        result_path = self.data_path.with_name(f"{job.name}.{time.monotonic_ns()}.result.pkl")
        process = self.context.Process(
            target=_work, name=f"bakeoff-{job.name}", daemon=True,
            args=(job, str(self.data_path), str(result_path), self.memory_bytes))
        process.start()
        handle = _Running(job, process, time.monotonic(), result_path)
        self.running.add(handle)
        return handle

    def done(self, handle: _Running) -> bool:
        if not handle.process.is_alive():
            return True
        if time.monotonic() - handle.started > handle.job.seconds:
            _end_group(handle.process)  # a result written just before this still counts: it is complete
            return True
        return False

    def collect(self, handle: _Running) -> Finished:
        wall = time.monotonic() - handle.started
        handle.process.join()
        _end_group(handle.process)  # what its candidate started and left running
        self.running.discard(handle)
        code = handle.process.exitcode
        stopped = code == -signal.SIGKILL and wall >= handle.job.seconds
        if handle.result_path.exists():
            value = pickle.loads(handle.result_path.read_bytes())
            if isinstance(value, str):  # the worker's account of a failure
                return Finished(error=value, wall_seconds=wall)
            return Finished(value=value, wall_seconds=wall, overran=stopped)  # a checkpoint, if stopped
        if stopped:
            return Finished(overran=True, wall_seconds=wall)
        return Finished(error=_death_reason(code), wall_seconds=wall)

    def close(self) -> None:
        """End every job still running (after Ctrl-C, say) with what it started, and clean up."""
        for handle in list(self.running):
            _end_group(handle.process)
        self.running.clear()
        self.scratch.cleanup()


def _end_group(process: multiprocessing.Process) -> None:
    """Kill a worker and every process in its process group (it leads one: see `_work`)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # all gone already, or not yet its own group
        pass
    if process.is_alive():
        process.kill()
    process.join()


def _context(preload: list[str]):
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(preload)
        return context
    return multiprocessing.get_context("spawn")


def _death_reason(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"its worker process died with {name}{hint}"
    main_file = Path(getattr(sys.modules["__main__"], "__file__", None) or "bakeoff").name
    hint = "" if main_file == "bakeoff" or code != 1 else \
        " (calling bakeoff from a script? put the call under `if __name__ == \"__main__\":`)"
    return f"its worker process exited with code {code} before reporting a result{hint}"


_RESULT_PATH: str | None = None  # in a worker: where its job's result goes


def checkpoint(value: Any) -> None:
    """Hand the engine a complete result early, from inside a job: if the job is stopped at the
    end of its slice before it returns, this one counts (`Finished.overran` says so). Outside a
    worker it does nothing."""
    if _RESULT_PATH is not None:
        _write_result(_RESULT_PATH, value)


def _write_result(result_path: str, value: Any) -> None:
    tmp = Path(result_path + ".tmp")
    tmp.write_bytes(_pickled(value))
    os.replace(tmp, result_path)


def _work(job: Job, data_path: str, result_path: str, memory_bytes: int | None) -> None:
    """Worker process body: run one job and write its result file atomically."""
    global _RESULT_PATH
    _RESULT_PATH = result_path
    os.setpgid(0, 0)  # its own process group: Ctrl-C goes to the driver, and ending it ends what it started
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a SIGINT that still comes is the driver's to answer
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # workers run side by side: one thread each keeps timings honest
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    warnings.simplefilter("ignore")  # convergence and deprecation chatter would break the live table
    try:
        result = _run(job, data_path)
    except MemoryError:
        limit = f"the [budget] memory of {memory_bytes:,} bytes" if memory_bytes \
            else "the memory available"
        result = f"out of memory: it needed more than {limit}"
    except SystemExit as stop:
        result = f"it called sys.exit({stop.code}) during fit"
    except KeyboardInterrupt:  # raised by the candidate's own code: the driver's Ctrl-C never comes here
        result = "it raised KeyboardInterrupt"
    except CandidateError as err:  # bakeoff's own check of what the candidate gave: no place in its code
        result = f"{err}"
    except Exception as err:  # any failure of user or library code is this candidate's failure
        last = traceback.extract_tb(err.__traceback__)[-1]
        result = f"{type(err).__name__}: {err} (at {Path(last.filename).name}:{last.lineno})"
    _write_result(result_path, result)


def _pickled(result) -> bytes:
    """The result as bytes; a model of a class defined in a notebook goes by value."""
    try:
        return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as first:  # a class pickle cannot find by name, or an unpicklable model
        try:
            import cloudpickle

            return cloudpickle.dumps(result)
        except Exception:
            return pickle.dumps(f"its result could not be saved: {type(first).__name__}: {first}")


def _run(job: Job, data_path: str):
    from bakeoff.core.registry import load_class

    data = pickle.loads(Path(data_path).read_bytes())
    if isinstance(job.spec, bytes):
        cls = pickle.loads(job.spec)
    else:
        cls = load_class(job.spec, Path(job.search_dir) if job.search_dir else None)
    module, _, function = job.target.partition(":")
    return getattr(import_module(module), function)(cls, data, job.settings, job.seconds, job.guide)
