"""Optuna search for a candidate's hyperparameters inside its own time slice."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bakeoff.core.candidate import Candidate
from bakeoff.core.metrics import Metric

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Tuning:
    params: dict
    trials: int  # trials completed
    stopped_by: str  # "trials" (repeatable) | "time" (the slice ended it) | "nothing to tune"


def predictions(fitted, X: pd.DataFrame, task: str) -> np.ndarray:
    """What a metric scores: class probabilities for classification, values otherwise."""
    return fitted.predict_proba(X) if task == "classification" else fitted.predict(X)


def mean_score(candidate: Candidate, X: pd.DataFrame, y: np.ndarray, metric: Metric,
               splits: list[Split]) -> float:
    scores = []
    for train, val in splits:
        fitted = candidate.fit(X.iloc[train], y[train])
        scores.append(metric.score(y[val], predictions(fitted, X.iloc[val], candidate.task)))
    return float(np.mean(scores))


def tune(candidate: Candidate, X: pd.DataFrame, y: np.ndarray, metric: Metric,
         splits: list[Split], *, trials: int, seconds: float, refits_after: int = 0) -> Tuning:
    """The best hyperparameters by mean score over `splits`, within trials and seconds.

    The candidate's defaults are the first trial, so the result is never worse than them
    on these splits. The search stops early when one more trial as slow as the slowest so far,
    plus `refits_after` fits with the best settings so far (the cross-validation and refit that
    follow), would no longer fit in `seconds`.
    A seeded TPE sampler makes the search repeatable when the trial limit ends it.
    """
    import optuna

    if not candidate.default_params():
        return Tuning({}, 0, "nothing to tune")
    sign = 1 if metric.higher_is_better else -1

    def objective(trial):
        params = candidate.search_space(trial)
        return sign * mean_score(candidate.with_params(**params), X, y, metric, splits)

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failed trials are expected and caught
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=candidate.seed))
    study.enqueue_trial(candidate.default_params())
    deadline, stopped = time.monotonic() + seconds, []

    def stop_in_time(study, trial):
        if len(study.trials) >= trials:  # the trial count ends it anyway: not the slice
            return
        slowest = max(t.duration.total_seconds() for t in study.trials if t.duration)
        chosen = _best_duration(study) or slowest  # what follows refits the best trial's settings
        if time.monotonic() + slowest + chosen / len(splits) * refits_after > deadline:
            stopped.append(True)
            study.stop()

    study.optimize(objective, n_trials=trials, timeout=max(seconds, 0.01), catch=(ValueError,),
                   callbacks=[stop_in_time])
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    if not done:
        return Tuning(candidate.default_params(), 0, "time")
    stopped_by = "time" if stopped or len(study.trials) < trials else "trials"
    return Tuning(study.best_trial.params, len(done), stopped_by)


def _best_duration(study) -> float | None:
    """Seconds the best completed trial took, or None before any trial completes."""
    try:
        best = study.best_trial
    except ValueError:
        return None
    return best.duration.total_seconds() if best.duration else None
