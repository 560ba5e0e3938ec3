"""Optuna search for a candidate's hyperparameters inside its own time slice."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from .ladder.base import Candidate
from .metrics import Metric


def predictions(fitted, X: pd.DataFrame, task: str) -> np.ndarray:
    """What a metric scores: class probabilities for classification, values otherwise."""
    return fitted.predict_proba(X) if task == "classification" else fitted.predict(X)


def tune(candidate: Candidate, X: pd.DataFrame, y: np.ndarray, metric: Metric,
         validation: tuple[np.ndarray, np.ndarray], *, trials: int, seconds: float,
         refits_after: int = 0) -> dict:
    """The best hyperparameters found on one validation split, within trials and seconds.

    The search stops early when the slowest trial so far, repeated `refits_after` times
    (the cross-validation and refit that follow), would no longer fit in `seconds`.
    A seeded TPE sampler makes the search repeatable when the trial limit, not the clock,
    ends it. Returns {} for a candidate with nothing to tune.
    """
    import optuna

    probe = optuna.trial.FixedTrial({})
    try:
        candidate.search_space(probe)
        return {}
    except ValueError:  # FixedTrial with no values: the candidate does ask for some
        pass
    train, val = validation
    sign = 1 if metric.higher_is_better else -1

    def objective(trial):
        params = candidate.search_space(trial)
        fitted = candidate.with_params(**params).fit(X.iloc[train], y[train])
        return sign * metric.score(y[val], predictions(fitted, X.iloc[val], candidate.task))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=candidate.seed))
    deadline = time.monotonic() + seconds

    def stop_in_time(study, trial):
        slowest = max(t.duration.total_seconds() for t in study.trials if t.duration)
        if time.monotonic() + slowest * (refits_after + 1) > deadline:
            study.stop()

    study.optimize(objective, n_trials=trials, timeout=max(seconds, 0.01), catch=(ValueError,),
                   callbacks=[stop_in_time])
    if not any(t.state.name == "COMPLETE" for t in study.trials):
        return {}
    return candidate.search_space(optuna.trial.FixedTrial(study.best_trial.params))
