"""MLflow logging in a process of its own.

Importing MLflow and opening its store take seconds of Python, and logging a model takes more;
in the driver they would wait on the same interpreter lock as the report's figures and charts.
A session's process starts with the race, at the lowest CPU priority (so that it takes no time a
candidate would have: their timings are figures of the report), imports MLflow and opens the
store, then logs the run it is sent while the driver renders the report:

    session = TrackingSession(uri, experiment, store_dir)     # imports MLflow meanwhile
    session.log(result, files, params, code_paths)
    parent_id = session.parent(on_candidate)                  # the MLflow run's id
    ...render the report...
    model_uris = session.models(on_candidate)                 # each candidate's logged model
    ...write the run folder...
    session.finish(run_dir)                                   # its files join the MLflow run
    session.close()

Every wait raises TrackingError with MLflow's own account when logging fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import traceback
import warnings
from multiprocessing.connection import Connection
from pathlib import Path

from bakeoff.errors import TrackingError


class LoggingFailure(Exception):
    """The logging process's traceback, shown under --debug as the cause of a TrackingError."""


class TrackingSession:
    def __init__(self, uri: str, experiment: str, store_dir: Path):
        """Start the process (`python -m` this module: a script that calls bakeoff is never run
        again in it, and it finds bakeoff where this process does)."""
        ours, theirs = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen([sys.executable, "-m", __name__, str(theirs.fileno())],
                                        pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env)
        theirs.close()
        self.connection = Connection(ours.detach())
        self.connection.send((uri, experiment, str(store_dir)))

    def log(self, result: dict, files: dict[str, bytes | str], params: dict, code_paths: list[str]) -> None:
        """Send the run to log: its result, its files (the models among them), the card's params."""
        try:
            self.connection.send((result, files, params, code_paths))
        except OSError as err:
            raise self._ended() from err

    def parent(self, on_candidate=lambda name: None) -> str:
        """The id of the run's MLflow parent run, once it is made."""
        return self._wait("parent", on_candidate)

    def models(self, on_candidate=lambda name: None) -> dict[str, str]:
        """{candidate: model URI} once every candidate is logged; `on_candidate(name)` as each starts."""
        return self._wait("models", on_candidate)

    def finish(self, run_dir: Path) -> None:
        """Log the written run folder's files to the parent run and wait until all is logged."""
        try:
            self.connection.send(str(run_dir))
        except OSError as err:
            raise self._ended() from err
        self._wait("done", lambda name: None)

    def close(self) -> None:
        """Let go of the process: it ends once it sees the connection closed, and is killed if it
        has not 5 s later (a driver that gave up on logging does not wait for it)."""
        self.connection.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _wait(self, wanted: str, on_candidate):
        while True:
            try:
                kind, value = self.connection.recv()
            except (EOFError, OSError) as err:
                raise self._ended() from err
            if kind == "candidate":
                on_candidate(value)
            elif kind == "error":
                message, trace = value
                raise TrackingError(message) from LoggingFailure(trace)
            elif kind == wanted:
                return value

    def _ended(self) -> TrackingError:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=1)
        return TrackingError(f"the MLflow logging process ended before the run was logged (exit code "
                             f"{self.process.returncode}); the run folder is complete, run with --no-track "
                             "to skip MLflow")


def _serve(connection) -> None:
    """The logging process: load MLflow and the store, then log the one run it is sent. It
    ends without freeing MLflow's modules one by one (a second): all it wrote is committed."""
    try:
        _log_one_run(connection, *connection.recv())
    except BaseException as err:  # anything else (MLflow that cannot be imported, say) is told to the driver
        _send(connection, ("error", (f"could not log to MLflow ({type(err).__name__}: {str(err)[:200]}); the run "
                                     "folder is complete, run with --no-track to skip MLflow",
                                     traceback.format_exc())))
    finally:
        with contextlib.suppress(OSError):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(0)


def _log_one_run(connection, uri: str, experiment: str, store_dir: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to answer; it ends this process
    _lowest_priority()  # loads MLflow on what the race leaves idle: never a candidate's CPU or timings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from bakeoff.adapters import tracking
    try:
        tracking.warm(uri, experiment, Path(store_dir))
    except Exception:  # noqa: S110 - met again by log_bakeoff, with its own message
        pass
    try:
        result, files, params, code_paths = connection.recv()
    except EOFError:  # the driver stopped before the race ended
        return

    def finish(parent_id: str, model_uris: dict[str, str]) -> Path:
        connection.send(("models", model_uris))
        return Path(connection.recv())

    try:
        tracking.log_bakeoff(result, files, params, finish, uri=uri, experiment=experiment,
                             store_dir=Path(store_dir), code_paths=code_paths,
                             on_candidate=lambda name: connection.send(("candidate", name)),
                             on_parent=lambda run_id: connection.send(("parent", run_id)))
    except TrackingError as err:
        _send(connection, ("error", (str(err), traceback.format_exc())))
    else:
        _send(connection, ("done", None))


def _lowest_priority() -> None:
    """The lowest CPU priority among the bake-off's processes (its workers share the driver's
    session, so that where Linux groups processes by session this still counts against them)."""
    os.nice(19)


def _send(connection, message) -> None:
    try:
        connection.send(message)
    except OSError:  # the driver has gone (it gave up on logging, or was stopped)
        pass


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
