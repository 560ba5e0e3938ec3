"""Candidates that misbehave on purpose, for the timebox and fault-isolation tests.

Named in cards as `[ladder] extra = ["misbehaving:Sleeper", ...]`.
"""

import ctypes
import os
import signal
import time

import numpy as np

from bakeoff import Candidate, Fitted


class _Prior(Fitted):
    def __init__(self, share):
        self.share = share

    def predict(self, X):
        return np.full(len(X), int(self.share >= 0.5))

    def predict_proba(self, X):
        return np.tile([1 - self.share, self.share], (len(X), 1))


class Sleeper(Candidate):
    """Sleeps in fit for an hour; its process id goes to `sleeper.started` beside this module
    as it begins (for a test that acts once a worker is inside the fit)."""

    name, rung, family, summary = "sleeper", 5, "misbehaving", "sleeps far past its slice"

    def fit(self, X, y):
        with open(os.path.join(os.path.dirname(__file__), "sleeper.started"), "a") as started:
            started.write(f"{os.getpid()}\n")
        time.sleep(3600)


class Raiser(Candidate):
    name, rung, family, summary = "raiser", 3, "misbehaving", "raises in fit"

    def fit(self, X, y):
        raise RuntimeError("boom: this candidate always fails [on purpose]")


class SelfKiller(Candidate):
    name, rung, family, summary = "self_killer", 3, "misbehaving", "kills its own process, like the OOM killer"

    def fit(self, X, y):
        os.kill(os.getpid(), signal.SIGKILL)


class Exiter(Candidate):
    name, rung, family, summary = "exiter", 3, "misbehaving", "calls sys.exit in fit"

    def fit(self, X, y):
        raise SystemExit(3)


class Segfaulter(Candidate):
    name, rung, family, summary = "segfaulter", 3, "misbehaving", "crashes the interpreter"

    def fit(self, X, y):
        ctypes.string_at(0)


class NoName(Candidate):
    rung, family = 0, "misbehaving"

    def fit(self, X, y):
        return _Prior(0.5)


class MemoryHog(Candidate):
    name, rung, family, summary = "memory_hog", 4, "misbehaving", "asks for 64 GB"

    def fit(self, X, y):
        hoard = np.ones(8 * 2**30)  # 64 GiB of float64
        return _Prior(float(hoard[0]))


class Prior(Candidate):
    """A well-behaved custom candidate: the training share of the positive class."""

    name, rung, family, summary = "prior", 0, "custom", "the training share"
    tasks = ("classification",)

    def fit(self, X, y):
        return _Prior(float(np.mean(y)))


class NanMaker(Candidate):
    """Fits, but its probabilities are not numbers: no score can be computed from them."""

    name, rung, family, summary = "nan_maker", 3, "misbehaving", "predicts NaN"
    tasks = ("classification",)

    def fit(self, X, y):
        return _Prior(float("nan"))


class SlowStarter(Candidate):
    """Fits a prior at once on up to 1,100 rows and hangs on more: a fit whose cost explodes
    with the data, which a quick pass on a sample cannot foresee."""

    name, rung, family, summary = "slow_starter", 1, "misbehaving", "a slow fit that would starve others"

    def fit(self, X, y):
        if len(X) > 1100:
            time.sleep(3600)
        return _Prior(float(np.mean(y)))


class SlowWhenTuned(Candidate):
    """A prior whose only hyperparameter is how long its fit sleeps: 0 by default, so its
    defaults are assessed at once; any tuning trial hangs until the slice ends."""

    name, rung, family, summary = "slow_when_tuned", 2, "misbehaving", "hangs in every tuning trial"

    def default_params(self):
        return {"pause": 0.0}

    def search_space(self, trial):
        return {"pause": trial.suggest_float("pause", 600.0, 900.0)}

    def fit(self, X, y):
        time.sleep(self.hyperparams["pause"])
        return _Prior(float(np.mean(y)))


class _OneColumn(_Prior):
    def predict_proba(self, X):
        return np.full((len(X), 1), self.share)


class OneColumn(Candidate):
    """Fits, but its `predict_proba` returns one column for two classes: numpy would spread it
    over both, and a wrong model would pass for a working one."""

    name, rung, family, summary = "one_column", 3, "misbehaving", "predict_proba of shape (n, 1)"
    tasks = ("classification",)

    def fit(self, X, y):
        return _OneColumn(float(np.mean(y)))


class Forker(Candidate):
    """Starts a child process that outlives it (its pid goes to `forker.pid` beside this
    module), then hangs past its slice."""

    name, rung, family, summary = "forker", 3, "misbehaving", "leaves a child process behind"

    def fit(self, X, y):
        import subprocess

        child = subprocess.Popen(["sleep", "777"])
        with open(os.path.join(os.path.dirname(__file__), "forker.pid"), "a") as pids:
            pids.write(f"{child.pid}\n")
        time.sleep(3600)


class Interrupter(Candidate):
    """Raises KeyboardInterrupt in its own fit, as code that catches Ctrl-C badly might."""

    name, rung, family, summary = "interrupter", 3, "misbehaving", "raises KeyboardInterrupt"

    def fit(self, X, y):
        raise KeyboardInterrupt
