"""Regression on log(1 + y): a tuned choice for skewed amounts, kept through predict, SQL and words."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import CDNOW, cli, only_run, read_result
from optuna.trial import FixedTrial

from bakeoff.core.card import card_from_dict
from bakeoff.tasks.tabular.bundle import ModelBundle
from bakeoff.tasks.tabular.data import prepare
from bakeoff.tasks.tabular.facts import linear_effects
from bakeoff.tasks.tabular.indb import parity_in
from bakeoff.tasks.tabular.ladder.models import DecisionTree, LightGBM, Linear, XGBoost
from bakeoff.tasks.tabular.schema import category_levels
from bakeoff.tasks.tabular.sql import to_sql


def spend(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Lognormal amounts: log(y) is linear in the inputs plus noise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"visits": rng.normal(size=n), "age": rng.normal(size=n),
                      "plan": rng.choice(["basic", "plus", "pro"], size=n)})
    log = 1.0 + 0.8 * X["visits"] - 0.5 * X["age"] + 0.7 * (X["plan"] == "pro") + rng.normal(scale=0.6, size=n)
    return X, np.exp(log.to_numpy())


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def test_on_a_lognormal_target_learning_log_1_plus_y_predicts_held_out_rows_better():
    X, y = spend(1500, seed=1)
    new_X, new_y = spend(3000, seed=2)  # rows the models never saw
    plain = Linear(task="regression", n_classes=0).fit(X, y)
    logged = Linear(task="regression", n_classes=0, log_target=True).fit(X, y)
    assert logged.log_target and not plain.log_target
    assert rmse(logged.predict(new_X), new_y) < 0.95 * rmse(plain.predict(new_X), new_y)


def test_it_answers_e_to_the_ridge_score_on_log_1_plus_y_minus_one():
    from sklearn.linear_model import Ridge

    X, y = spend(800, seed=3)
    fitted = Linear(task="regression", n_classes=0, alpha=2.0, log_target=True).fit(X, y)
    inputs = fitted.pipeline[0].transform(X)
    by_hand = np.expm1(Ridge(alpha=2.0).fit(inputs, np.log1p(y)).predict(inputs))
    np.testing.assert_allclose(fitted.predict(X), by_hand, rtol=1e-12)
    assert fitted.n_params == 2 + 3 + 1  # as a plain ridge: 2 numbers, 3 plans, the intercept


def test_a_target_below_zero_is_learnt_as_given():
    X, y = spend(400, seed=4)
    signed = y - 5.0
    asked = Linear(task="regression", n_classes=0, log_target=True).fit(X, signed)
    plain = Linear(task="regression", n_classes=0).fit(X, signed)
    assert not asked.log_target
    np.testing.assert_array_equal(asked.predict(X), plain.predict(X))


def test_tuning_offers_it_for_regression_only_and_the_default_is_off():
    assert Linear(task="regression").default_params() == {"alpha": 1.0, "log_target": False}
    assert "log_target" not in Linear(task="classification").default_params()
    trial = FixedTrial({"alpha": 0.5, "C": 0.5, "log_target": True})
    assert Linear(task="regression").search_space(trial) == {"alpha": 0.5, "log_target": True}
    assert Linear(task="classification").search_space(trial) == {"C": 0.5}


def test_the_default_is_todays_plain_ridge():
    from sklearn.linear_model import Ridge

    X, y = spend(500, seed=5)
    fitted = Linear(task="regression", n_classes=0).fit(X, y)
    inputs = fitted.pipeline[0].transform(X)
    np.testing.assert_allclose(fitted.predict(X), Ridge(alpha=1.0).fit(inputs, y).predict(inputs), rtol=1e-12)


def test_the_weights_are_said_as_percentages_of_1_plus_the_target():
    """Noise-free: log(1 + spend) = 0.2 visits + 0.5 for plan 'pro' (against 'basic'), so one more
    visit raises 1 + spend by e^0.2 - 1 = 22 % and 'pro' by e^0.5 - 1 = 65 %."""
    rng = np.random.default_rng(6)
    X = pd.DataFrame({"visits": rng.uniform(-4.0, 4.0, size=600), "plan": rng.choice(["basic", "pro"], 600)})
    y = np.expm1(1.0 + 0.2 * X["visits"] + 0.5 * (X["plan"] == "pro")).to_numpy()
    fitted = Linear(task="regression", n_classes=0, alpha=1e-8, log_target=True).fit(X, y)
    texts = [e["text"] for e in linear_effects(fitted, False, "", target="spend")]
    assert "each extra 1 of visits raises 1 + spend by 22 %" in texts
    assert "plan 'pro' instead of 'basic' raises 1 + spend by 65 %" in texts
    assert "It learns log(1 + target)" in fitted.describe()


def test_a_trees_rules_give_amounts_not_their_logs():
    X = pd.DataFrame({"visits": np.repeat([0.0, 1.0], 50)})
    y = np.repeat([9.0, 99.0], 50)  # log(1 + y): log 10 and log 100; back: 9 and 99
    text = DecisionTree(task="regression", n_classes=0, max_depth=1, min_samples_leaf=1,
                        log_target=True).fit(X, y).describe()
    assert "predict 9 (50 rows)" in text and "predict 99 (50 rows)" in text


@pytest.mark.parametrize("cls, params", [
    (Linear, {}), (DecisionTree, {}),
    (LightGBM, {"n_estimators": 20, "num_leaves": 4}), (XGBoost, {"n_estimators": 20, "max_depth": 2})],
    ids=["linear", "decision_tree", "lightgbm", "xgboost"])
def test_its_sql_in_duckdb_gives_its_predictions(cls, params, tmp_path):
    import duckdb

    X, y = spend(600, seed=7)
    X.loc[::9, "visits"] = np.nan  # missing values take the training median in SQL too
    frame = X.assign(spend=y)
    frame.to_csv(tmp_path / "s.csv", index=False)
    card = card_from_dict({"problem": {"name": "s", "task": "regression"},
                           "data": {"source": "s.csv", "target": "spend"},
                           "evaluate": {"folds": 3, "metric": "rmse"}})
    dataset = prepare(card.with_base_dir(tmp_path))
    fitted = cls(task="regression", n_classes=0, seed=0, log_target=True, **params).fit(
        dataset.X_train, dataset.y_train)
    bundle = ModelBundle(cls.name, "regression", fitted, dataset.schema, [], "spend",
                         category_levels(dataset.X_train, dataset.schema))
    assert "EXP(" in to_sql(bundle, "t", "duckdb", pretty=False)
    duckdb.connect(str(tmp_path / "p.duckdb")).close()
    rows = dataset.raw.iloc[dataset.holdout_index].reset_index(drop=True)
    assert parity_in(f"duckdb:///{tmp_path / 'p.duckdb'}", bundle, rows).max_relative <= 1e-9


def test_the_cdnow_spend_example_runs_and_tunes_the_choice(tmp_path):
    (tmp_path / "spend.csv").write_bytes(CDNOW.read_bytes())
    done = cli("run", "spend.csv", "--target", "next_39w_sales", "--only", "constant,linear,decision_tree",
               "--budget", "60s", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {r["name"]: r for r in read_result(only_run(tmp_path))["candidates"]}
    for name in ("linear", "decision_tree"):
        assert rows[name]["status"] == "ok" and "log_target" in rows[name]["params"], rows[name]
    assert math.isfinite(rows["linear"]["holdout_score"])


def test_a_run_whose_model_learnt_log_spend_reports_it_and_checks_its_sql(tmp_path):
    import duckdb

    X, y = spend(600, seed=8)
    X.assign(customer=np.arange(len(X)), spend=y).to_csv(tmp_path / "shop.csv", index=False)
    (tmp_path / "logged.py").write_text(  # a linear model that always learns log(1 + spend)
        "from bakeoff.tasks.tabular.ladder.models import Linear\n"
        "class LoggedLinear(Linear):\n"
        "    name = 'logged_linear'\n"
        "    def model_defaults(self):\n        return {'alpha': 1.0}\n"
        "    def model_space(self, trial):\n        return {}\n"
        "    def default_params(self):\n        return {'alpha': 1.0, 'log_target': True}\n")
    card = ('[problem]\nname = "shop"\ntask = "regression"\n[data]\nsource = "shop.csv"\ntarget = "spend"\n'
            'id = "customer"\n[evaluate]\nmetric = "rmse"\n[budget]\ntotal = "40s"\n'
            '[ladder]\nextra = ["logged:LoggedLinear"]\nonly = ["constant"]\n')
    (tmp_path / "bakeoff.toml").write_text(card)
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = only_run(tmp_path)
    assert read_result(run_dir)["recommended"] == "logged_linear"
    html = (run_dir / "report.html").read_text()
    assert "It learns log(1 + spend)" in html and "raises 1 + spend by" in html
    duckdb.connect(str(tmp_path / "w.duckdb")).close()
    checked = cli("sql", run_dir.name, "logged_linear", "--check", f"duckdb:///{tmp_path / 'w.duckdb'}",
                  cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "EXP(" in checked.stdout
