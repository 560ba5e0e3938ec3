"""Optuna tuning inside a candidate's slice."""

import numpy as np
import optuna

from bakeoff.ladder.tabular import Constant, LightGBM
from bakeoff.metrics import METRICS
from bakeoff.tune import predictions, tune
from conftest import make_classification_frame

FRAME = make_classification_frame(400, seed=3)
X, Y = FRAME.drop(columns="label"), (FRAME["label"] == "yes").to_numpy(int)
SPLIT = (np.arange(300), np.arange(300, 400))


def validation_score(candidate, params):
    fitted = candidate.with_params(**params).fit(X.iloc[SPLIT[0]], Y[SPLIT[0]])
    return METRICS["roc_auc"].score(Y[SPLIT[1]], predictions(fitted, X.iloc[SPLIT[1]], "classification"))


def test_more_trials_never_find_worse_and_params_come_from_the_search_space():
    candidate = LightGBM(task="classification", seed=0)
    one = tune(candidate, X, Y, METRICS["roc_auc"], SPLIT, trials=1, seconds=60)
    ten = tune(candidate, X, Y, METRICS["roc_auc"], SPLIT, trials=10, seconds=60)
    assert 30 <= ten["n_estimators"] <= 600 and 4 <= ten["num_leaves"] <= 64
    # the seeded sampler's first trial is the same in both searches, so ten trials include it
    assert validation_score(candidate, ten) >= validation_score(candidate, one)


def test_same_seed_same_search():
    candidate = LightGBM(task="classification", seed=0)
    runs = [tune(candidate, X, Y, METRICS["roc_auc"], SPLIT, trials=4, seconds=60) for _ in range(2)]
    assert runs[0] == runs[1]


def test_nothing_to_tune_returns_no_params():
    assert tune(Constant(task="classification"), X, Y, METRICS["roc_auc"], SPLIT, trials=5, seconds=10) == {}


class CountingLightGBM(LightGBM):
    """LightGBM that records every real Optuna trial it is asked for."""

    trials: list = []

    def search_space(self, trial):
        if isinstance(trial, optuna.trial.Trial):
            CountingLightGBM.trials.append(trial.number)
        return super().search_space(trial)


def test_a_search_that_cannot_fit_its_slice_stops_after_one_trial():
    CountingLightGBM.trials = []
    tune(CountingLightGBM(task="classification", seed=0), X, Y, METRICS["roc_auc"], SPLIT,
         trials=50, seconds=0.01, refits_after=5)
    assert CountingLightGBM.trials == [0]
