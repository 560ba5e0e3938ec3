"""Metrics against a second implementation, bootstrap intervals, money, and the recommendation rule."""

import numpy as np
import pytest
from conftest import make_classification_frame
from sklearn import metrics as skm

from bakeoff.core.cost import best_threshold_value, monthly_compute_cost
from bakeoff.core.metrics import fold_bootstrap, fold_score, paired_intervals, percentile_interval
from bakeoff.core.select import Contender, Tolerance, pareto_front, reason, recommend
from bakeoff.tasks.tabular.metrics import METRICS

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 2, 500)
P = np.clip(Y * 0.3 + RNG.random(500) * 0.7, 0, 1)
PROBA = np.column_stack([1 - P, P])
Y3 = RNG.integers(0, 3, 500)
PROBA3 = RNG.dirichlet([1, 1, 1], 500)
TRUE, PRED = RNG.normal(10, 3, 300), RNG.normal(10, 3, 300)


@pytest.mark.parametrize("name, expected", [
    ("roc_auc", skm.roc_auc_score(Y, P)),
    ("pr_auc", skm.average_precision_score(Y, P)),
    ("log_loss", skm.log_loss(Y, PROBA)),
    ("accuracy", skm.accuracy_score(Y, P >= 0.5)),
    ("f1", skm.f1_score(Y, P >= 0.5)),
])
def test_binary_metrics_match_scikit_learn(name, expected):
    assert METRICS[name].score(Y, PROBA) == pytest.approx(expected)


def test_multiclass_metrics_match_scikit_learn():
    assert METRICS["roc_auc"].score(Y3, PROBA3) == pytest.approx(skm.roc_auc_score(Y3, PROBA3, multi_class="ovr"))
    assert METRICS["f1"].score(Y3, PROBA3) == pytest.approx(skm.f1_score(Y3, PROBA3.argmax(1), average="macro"))
    assert METRICS["log_loss"].score(Y3, PROBA3) == pytest.approx(skm.log_loss(Y3, PROBA3))


@pytest.mark.parametrize("name, expected", [
    ("rmse", np.sqrt(skm.mean_squared_error(TRUE, PRED))),
    ("mae", skm.mean_absolute_error(TRUE, PRED)),
    ("r2", skm.r2_score(TRUE, PRED)),
    ("mape", skm.mean_absolute_percentage_error(TRUE, PRED)),
])
def test_regression_metrics_match_scikit_learn(name, expected):
    assert METRICS[name].score(TRUE, PRED) == pytest.approx(expected)


FOLDS = [np.arange(0, 250), np.arange(250, 500)]


def test_bootstrap_interval_brackets_the_score_and_narrows_with_more_rows():
    metric = METRICS["roc_auc"]
    low, high = percentile_interval(fold_bootstrap(metric, Y, PROBA, FOLDS, 300, 0))
    assert low < fold_score(metric, Y, PROBA, FOLDS) < high
    small = [np.arange(0, 50), np.arange(50, 100)]
    small_low, small_high = percentile_interval(fold_bootstrap(metric, Y, PROBA, small, 300, 0))
    assert small_high - small_low > high - low


def test_fold_score_of_a_per_fold_constant_is_chance_even_when_folds_differ():
    # each fold's model predicts its own training share: pooled, the folds' levels would rank
    y = np.array([0] * 80 + [1] * 20 + [0] * 50 + [1] * 50)
    share = np.r_[np.full(100, 0.2), np.full(100, 0.5)]
    proba = np.column_stack([1 - share, share])
    folds = [np.arange(100), np.arange(100, 200)]
    assert METRICS["roc_auc"].score(y, proba) > 0.6  # the pooled score is fooled
    assert fold_score(METRICS["roc_auc"], y, proba, folds) == 0.5
    assert set(fold_bootstrap(METRICS["roc_auc"], y, proba, folds, 50, 0)) == {0.5}


def test_paired_difference_to_itself_is_exactly_zero_and_to_a_worse_model_is_negative():
    metric = METRICS["roc_auc"]
    noisy = np.clip(P + RNG.normal(0, 0.5, len(P)), 0, 1)
    samples = {"good": fold_bootstrap(metric, Y, PROBA, FOLDS, 200, 0),
               "bad": fold_bootstrap(metric, Y, np.column_stack([1 - noisy, noisy]), FOLDS, 200, 0)}
    spans = paired_intervals(samples, "good")
    assert spans["good"].diff_ci == (0.0, 0.0)
    assert spans["bad"].diff_ci[1] < 0


def test_threshold_value_by_hand():
    # flag the top 3: two churners caught (2 x 10), one stayer offered (1 x 1) = 19 over 4 rows
    assert best_threshold_value(np.array([1, 0, 1, 0]), np.array([.9, .8, .7, .1]), 10, 1) == (0.7, 4.75)
    # every cut loses money (the top row is a stayer, offers cost 5, a catch earns 1): flag nobody
    assert best_threshold_value(np.array([0, 1, 0, 0]), np.array([.9, .8, .7, .1]), 1, 5) == (float("inf"), 0.0)


def test_monthly_compute_cost_by_hand():
    # 1e6 predictions at 3.6 us = 3.6 s, plus a 3,596.4 s refit = one hour at $2
    assert monthly_compute_cost(3.6, 3596.4, 1e6, 2.0) == pytest.approx(2.0)


def contender(name, rung, n_params, score, diff_ci=(-1.0, -0.5), sql=False):
    return Contender(name, rung, n_params, score, diff_ci, 1.0, 1.0, 1000, sql)


@pytest.mark.parametrize("contenders, higher, expected", [
    # within tolerance: the simplest rung wins
    ([contender("big", 4, 9000, 0.850, (0, 0)), contender("lin", 2, 40, 0.846), contender("tree", 3, 100, 0.849)], True, "lin"),
    # outside tolerance but interval of the difference includes zero
    ([contender("big", 4, 9000, 0.850, (0, 0)), contender("lin", 2, 40, 0.830, (-0.03, 0.002))], True, "lin"),
    # outside both: the best itself
    ([contender("big", 4, 9000, 0.850, (0, 0)), contender("lin", 2, 40, 0.830, (-0.03, -0.01))], True, "big"),
    # same rung: fewer parameters wins
    ([contender("big", 4, 9000, 0.850, (0, 0)), contender("knn", 3, 5000, 0.849), contender("tree", 3, 100, 0.848)], True, "tree"),
])
def test_recommendation_rule(contenders, higher, expected):
    assert recommend(contenders, Tolerance(0.005), higher).name == expected


@pytest.mark.parametrize("linear_rmse, expected", [(100.4, "lin"), (100.6, "big")])
def test_error_metrics_use_a_tolerance_relative_to_the_best(linear_rmse, expected):
    # 0.5 % of a best RMSE of 100 is 0.5: 100.4 is as good, 100.6 is not
    contenders = [contender("big", 4, 9000, 100.0, (0, 0)), contender("lin", 2, 40, linear_rmse),
                  contender("mean", 0, 1, 120.0)]
    assert recommend(contenders, Tolerance(0.005, relative=True), False).name == expected


def test_reason_names_the_trade_off():
    best = Contender("lightgbm", 4, 8000, 0.849, (0, 0), 4.0, 20.0, 200_000, False)
    simple = Contender("linear", 2, 46, 0.846, (-0.006, 0.001), 0.1, 2.0, 5_000, True)
    text = reason(simple, best, Tolerance(0.005), True)
    assert "within the tolerance of 0.005" in text and "40x faster to fit" in text and "exportable as SQL" in text
    assert "within 0.5% of the best" in reason(simple, best, Tolerance(0.005, relative=True), True)


def test_pareto_front_drops_candidates_beaten_on_quality_and_cost():
    assert pareto_front([("a", .80, 1), ("b", .85, 10), ("c", .79, 5), ("d", .85, 20)], True) == ["a", "b"]


def test_every_candidate_of_a_run_gets_the_same_affordable_bootstrap(tmp_path):
    """Resamples are chosen once per run (paired differences need the same draws) and shrink,
    never below 100, when the slice could not hold them."""
    from bakeoff.core.card import card_from_dict
    from bakeoff.tasks.tabular.data import prepare
    from bakeoff.tasks.tabular.evaluate import run_resamples
    from bakeoff.tasks.tabular.metrics import get_metric

    make_classification_frame(600).to_csv(tmp_path / "d.csv", index=False)
    card = card_from_dict({"problem": {"name": "b"}, "data": {"source": "d.csv", "target": "label"}})
    dataset = prepare(card.with_base_dir(tmp_path))
    metric = get_metric("roc_auc", "classification")
    assert run_resamples(dataset, metric, 500, seconds=1e9) == 500
    assert run_resamples(dataset, metric, 500, seconds=1e-6) == 100
    assert run_resamples(dataset, metric, 60, seconds=1e-6) == 60
