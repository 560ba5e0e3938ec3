"""Optuna search for a candidate's hyperparameters inside its own time slice."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bakeoff.core.candidate import Candidate


@dataclass(frozen=True)
class Tuning:
    params: dict
    trials: int  # trials completed
    stopped_by: str  # "trials" (repeatable) | "time" (the slice ended it) | "nothing to tune"
    rows: int = 0  # rows of a sample it tuned on when all rows were too slow; 0: all rows


def tune(candidate: Candidate, score: Callable[[Candidate], float], higher_is_better: bool, *,
         trials: int, seconds: float, refits_after: int = 0, splits: int = 1) -> Tuning:
    """The best hyperparameters by `score` (a candidate's mean score over `splits` validation
    splits, computed by its task), within trials and seconds.

    The candidate's defaults are the first trial, so the result is never worse than them
    on these splits. The search stops early when one more trial as slow as the slowest so far,
    plus what `refits_after` fits with the best settings so far (the cross-validation and refit
    that follow) cost beyond the same fits with the defaults (which the slice already planned
    for), would no longer fit in `seconds`.
    A seeded TPE sampler makes the search repeatable when the trial limit ends it.
    """
    import optuna

    if not candidate.default_params():
        return Tuning({}, 0, "nothing to tune")
    sign = 1 if higher_is_better else -1

    def objective(trial):
        return sign * score(candidate.with_params(**candidate.search_space(trial)))

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
        defaults = study.trials[0].duration.total_seconds() if study.trials[0].duration else 0.0
        extra = max(chosen - defaults, 0.0) / splits * refits_after
        if time.monotonic() + slowest + extra > deadline:
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
