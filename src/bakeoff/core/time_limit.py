"""A time limit for work in a job's own process (a Spark task, a pool worker): the work is
interrupted after its seconds. Where the engine isolates candidates in processes of their own
(`bakeoff.core.engine`), it ends them there instead.
"""

from __future__ import annotations

import signal


class OutOfTime(BaseException):
    """Raised inside work that overran its seconds (not an Exception: a candidate's own
    `except Exception` must not swallow it)."""


class time_limit:
    """Raise `OutOfTime` in this (main) thread after `seconds`; off where signals cannot be set.

    >>> import time
    >>> try:
    ...     with time_limit(0.05):
    ...         time.sleep(1)
    ... except OutOfTime:
    ...     print("stopped")
    stopped
    """

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        def out_of_time(signum, frame):
            raise OutOfTime()

        try:
            self.previous = signal.signal(signal.SIGALRM, out_of_time)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        except ValueError:  # not the main thread: no timer, the job's own timeout still applies
            self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


def attempt(work, seconds: float, where: str):
    """`work()` within `seconds`: (its result, None), or (None, the failure as a result row's
    `status` and `error`) when it overran ("timeout") or raised ("failed"; a candidate's code can
    raise anything, and fails `where` only).

    >>> attempt(lambda: 1 / 0, 5, "this group")
    (None, {'status': 'failed', 'error': 'ZeroDivisionError: division by zero'})
    """
    try:
        with time_limit(seconds):
            return work(), None
    except OutOfTime:
        return None, {"status": "timeout", "error": f"stopped at its {seconds:g} s for {where}"}
    except Exception as err:
        return None, {"status": "failed", "error": f"{type(err).__name__}: {str(err)[:200]}"}
