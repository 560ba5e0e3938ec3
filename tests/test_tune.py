"""Optuna tuning inside a candidate's slice."""

import numpy as np
import optuna
from conftest import make_classification_frame

from bakeoff.core.tune import tune as tune_by
from bakeoff.tasks.tabular.evaluate import mean_score
from bakeoff.tasks.tabular.ladder.baseline import Constant
from bakeoff.tasks.tabular.ladder.models import LightGBM, Linear
from bakeoff.tasks.tabular.metrics import METRICS


def tune(candidate, X, y, metric, splits, *, trials, seconds, refits_after=0):
    """The search as the tabular task runs it: the mean score over `splits`."""
    return tune_by(candidate, lambda tried: mean_score(tried, X, y, metric, splits),
                   metric.higher_is_better, trials=trials, seconds=seconds,
                   refits_after=refits_after, splits=len(splits))

FRAME = make_classification_frame(400, seed=3)
X, Y = FRAME.drop(columns="label"), (FRAME["label"] == "yes").to_numpy(int)
SPLITS = [(np.arange(300), np.arange(300, 400)), (np.arange(100, 400), np.arange(100))]
AUC = METRICS["roc_auc"]


def test_tuning_never_ends_worse_than_the_defaults_on_its_splits():
    for candidate in (LightGBM(task="classification", seed=0), Linear(task="classification")):
        tuned = tune(candidate, X, Y, AUC, SPLITS, trials=8, seconds=60)
        default = mean_score(candidate, X, Y, AUC, SPLITS)
        assert mean_score(candidate.with_params(**tuned.params), X, Y, AUC, SPLITS) >= default
        assert (tuned.trials, tuned.stopped_by) == (8, "trials")


def test_more_trials_never_find_worse_and_params_come_from_the_search_space():
    candidate = LightGBM(task="classification", seed=0)
    one = tune(candidate, X, Y, AUC, SPLITS, trials=1, seconds=60)
    ten = tune(candidate, X, Y, AUC, SPLITS, trials=10, seconds=60)
    assert one.params == candidate.default_params()  # the first trial is the defaults
    assert 30 <= ten.params["n_estimators"] <= 600 and 4 <= ten.params["num_leaves"] <= 64
    score = lambda t: mean_score(candidate.with_params(**t.params), X, Y, AUC, SPLITS)  # noqa: E731
    assert score(ten) >= score(one)


def test_same_seed_same_search():
    candidate = LightGBM(task="classification", seed=0)
    runs = [tune(candidate, X, Y, AUC, SPLITS, trials=4, seconds=60) for _ in range(2)]
    assert runs[0] == runs[1]


def test_nothing_to_tune():
    assert tune(Constant(task="classification"), X, Y, AUC, SPLITS, trials=5, seconds=10).stopped_by == \
        "nothing to tune"
    # a slice too short to tune in does not make the run say the constant's tuning was cut short
    from types import SimpleNamespace

    from bakeoff.tasks.tabular.evaluate import tune_within

    tiny = tune_within(Constant(task="classification"), SimpleNamespace(folds=SPLITS), AUC, trials=5,
                       guide=None)
    assert tiny.stopped_by == "nothing to tune"


class CountingLightGBM(LightGBM):
    """LightGBM that records every Optuna trial it is asked for."""

    trials: list = []

    def search_space(self, trial):
        if isinstance(trial, optuna.trial.Trial):
            CountingLightGBM.trials.append(trial.number)
        return super().search_space(trial)


def test_a_search_that_cannot_fit_its_slice_stops_after_one_trial():
    CountingLightGBM.trials = []
    tuned = tune(CountingLightGBM(task="classification", seed=0), X, Y, AUC, SPLITS,
                 trials=50, seconds=0.01, refits_after=5)
    assert CountingLightGBM.trials == [0] and tuned.stopped_by == "time"
