"""One contract for every candidate on the ladder, plus what each family must learn."""

import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import make_classification_frame

from bakeoff.core.candidate import Fitted
from bakeoff.core.registry import available, builtin, select
from bakeoff.errors import CandidateError
from bakeoff.tasks.tabular.ladder.baseline import Constant
from bakeoff.tasks.tabular.ladder.models import Linear, Rules
from bakeoff.tasks.tabular.ladder.one_rule import OneRule
from bakeoff.tasks.tabular.ladder.sklearn_base import SklearnCandidate
from bakeoff.tasks.tabular.preprocess import compile_transform

FRAME = make_classification_frame(300)
X, Y = FRAME.drop(columns="label"), (FRAME["label"] == "yes").to_numpy(int)
Y_REG = 2.0 * X["x1"].to_numpy() - X["x2"].to_numpy() + np.where(X["colour"] == "red", 3.0, 0.0)
CASES = [(cls, task) for cls in builtin().values() for task in cls.tasks
         if task in ("classification", "regression")]  # the forecasting ladder: test_forecast.py


def fit(cls, task, seed=0):
    y = Y if task == "classification" else Y_REG
    return cls(task=task, seed=seed, n_classes=2 if task == "classification" else 0).fit(X, y)


@pytest.mark.parametrize("cls, task", CASES, ids=[f"{c.name}-{t}" for c, t in CASES])
def test_contract(cls, task):
    fitted = fit(cls, task)
    assert isinstance(fitted, Fitted)
    pred = fitted.predict(X)
    assert pred.shape == (len(X),)
    if task == "classification":
        proba = fitted.predict_proba(X)
        assert proba.shape == (len(X), 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert np.array_equal(pred, proba.argmax(axis=1))
    assert np.array_equal(fit(cls, task).predict(X), pred)  # same seed, same model
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict(X), pred)
    assert fitted.n_params > 0 and isinstance(fitted.describe(), str)
    assert cls.rung in range(6) and cls.summary


@pytest.mark.parametrize("cls, task", CASES, ids=[f"{c.name}-{t}" for c, t in CASES])
def test_unseen_categories_and_missing_values_still_predict(cls, task):
    fitted = fit(cls, task)
    odd = X.head(3).assign(colour=["purple", None, "red"], x1=[np.nan, 0.0, 1.0])
    if task == "classification":
        proba = fitted.predict_proba(odd)
        assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1.0)
    else:
        assert np.isfinite(fitted.predict(odd)).all()


@pytest.mark.parametrize("cls, task", CASES, ids=[f"{c.name}-{t}" for c, t in CASES])
def test_inputs_of_one_kind_only_fit_and_describe(cls, task):
    y = Y if task == "classification" else Y_REG
    for inputs in (X[["colour"]], X[["x1", "x2"]]):  # categories only, numbers only
        fitted = cls(task=task, seed=0, n_classes=2 if task == "classification" else 0).fit(inputs, y)
        assert fitted.predict(inputs).shape == (len(inputs),)
        assert fitted.describe().strip()


def test_linear_learns_one_weight_per_input_plus_intercept():
    fitted = fit(Linear, "regression")
    # 3 numbers + 3 one-hot colours + intercept
    assert fitted.n_params == 3 + 3 + 1
    pred = fitted.predict(X)
    assert np.corrcoef(pred, Y_REG)[0, 1] > 0.99  # the target is linear in these inputs


def test_constant_predicts_the_training_share_and_mean():
    assert np.allclose(fit(Constant, "classification").predict_proba(X)[:, 1], Y.mean())
    assert np.allclose(fit(Constant, "regression").predict(X), Y_REG.mean())


def test_one_rule_by_hand():
    # Only `plan` explains the label; one_rule must find it and learn each group's share.
    frame = pd.DataFrame({"plan": ["a"] * 10 + ["b"] * 10, "noise": np.arange(20) % 3})
    y = np.array([1] * 8 + [0] * 2 + [0] * 9 + [1])
    fitted = OneRule(task="classification", n_classes=2, class_names=("stays", "leaves")).fit(frame, y)
    assert fitted.rule.column == "plan"
    # Laplace-smoothed shares: (8+1)/(10+2) and (1+1)/(10+2)
    np.testing.assert_allclose(fitted.predict_proba(frame.iloc[[0, 10]])[:, 1], [9 / 12, 2 / 12])
    assert "if plan is a: leaves with probability 75%" in fitted.describe()


def test_one_rule_lists_numeric_bins_in_order():
    frame = pd.DataFrame({"age": np.arange(100.0)})
    fitted = OneRule(task="regression", n_classes=0, bins=4).fit(frame, np.arange(100.0))
    assert fitted.rule.groups == ["< 24.75", "24.75 to 49.5", "49.5 to 74.25", ">= 74.25"]


def test_rules_stay_three_questions_deep_and_read_as_if_else():
    fitted = Rules(task="classification", n_classes=2, max_depth=3, min_samples_leaf=1).fit(X, Y)
    assert fitted.model.get_depth() <= 3


def test_rules_read_as_if_else_in_the_inputs_own_words():
    """By hand: 'yes' exactly when plan is 'a' and x >= 3. Splitting on plan first leaves
    gini 0.21 against 0.35 for x, so the tree asks about plan, then x inside plan 'a'."""
    x = np.tile(np.arange(10.0), 10)
    plan = np.repeat(["a", "b"], 50)
    y = ((plan == "a") & (x >= 3)).astype(int)
    fitted = Rules(task="classification", n_classes=2, class_names=("no", "yes"), max_depth=2,
                   min_samples_leaf=1).fit(pd.DataFrame({"x": x, "plan": plan.astype(object)}), y)
    assert fitted.describe() == "\n".join([
        "if plan is 'a':",
        "    if x <= 2.5:",
        "        predict no (0% yes, 15 rows)",
        "    else:",
        "        predict yes (100% yes, 35 rows)",
        "else:",
        "    predict no (0% yes, 50 rows)",
        "missing numbers count as the training median: x 4.5",
    ])


def test_registry_selects_by_task_only_and_skip_in_rung_order():
    names = [c.name for c in select(available(), "regression")]
    assert "naive_bayes" not in names and names[0] == "constant"
    rungs = [c.rung for c in select(available(), "classification")]
    assert rungs == sorted(rungs)
    assert [c.name for c in select(available(), "classification", only=["lightgbm", "linear"])] == \
        ["linear", "lightgbm"]
    assert "mlp" not in [c.name for c in select(available(), "classification", skip=["mlp"])]


def test_registry_refuses_duplicates_and_non_candidates(tmp_path):
    (tmp_path / "mine.py").write_text(
        "from bakeoff import Candidate\n"
        "class Linear2(Candidate):\n    name, rung, family = 'linear', 2, 'linear'\n"
        "class NotOne:\n    pass\n")
    with pytest.raises(CandidateError, match="two candidates are called 'linear'"):
        available(["mine:Linear2"], tmp_path)
    with pytest.raises(CandidateError, match="not a subclass of bakeoff.Candidate"):
        available(["mine:NotOne"], tmp_path)


def test_installed_packages_add_candidates_through_the_entry_point(tmp_path, monkeypatch):
    # a real (tiny) installed distribution on sys.path, found by importlib.metadata
    (tmp_path / "shop_models.py").write_text(
        "from bakeoff import Candidate\n"
        "class Median(Candidate):\n    name, rung, family, tasks = 'median', 0, 'baseline', ('regression',)\n")
    info = tmp_path / "shop_models-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shop-models\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[bakeoff.candidates]\nmedian = shop_models:Median\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    classes = available()
    assert classes["median"].__module__ == "shop_models"
    assert "median" in [c.name for c in select(classes, "regression")]


SKLEARN_CASES = [(cls, task) for cls, task in CASES if issubclass(cls, SklearnCandidate)]


@pytest.mark.parametrize("cls, task", SKLEARN_CASES, ids=[f"{c.name}-{t}" for c, t in SKLEARN_CASES])
def test_the_numpy_preprocessing_gives_exactly_the_pipelines_predictions(cls, task):
    """Scoring goes through a numpy twin of the fitted ColumnTransformer; the scikit-learn
    pipeline is the second implementation it must match bit for bit, on odd rows too."""
    train = X.copy()
    train.loc[::11, "x1"] = np.nan
    train.loc[::13, "colour"] = np.nan
    y = Y if task == "classification" else Y_REG
    fitted = cls(task=task, seed=0, n_classes=2 if task == "classification" else 0).fit(train, y)
    assert fitted.transform is not None and compile_transform(fitted.pipeline[0]) is not None
    odd = train.head(8).copy()
    odd["colour"] = ["purple", np.nan, "missing", "red", "green", "blue", "RED", "red"]
    odd["x2"] = [np.nan, 1e30, -1e30, 0.0, -0.0, 3.5, np.nan, 2.0]
    for rows in (train, odd):
        np.testing.assert_array_equal(fitted.transform(rows), fitted.pipeline[0].transform(rows))
        if task == "classification":
            np.testing.assert_array_equal(fitted.predict_proba(rows), fitted.pipeline.predict_proba(rows))
        else:
            np.testing.assert_array_equal(fitted.predict(rows), fitted.pipeline.predict(rows))


def test_a_preprocessor_of_another_shape_falls_back_to_scikit_learn():
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OrdinalEncoder

    other = ColumnTransformer([("cat", OrdinalEncoder(), ["colour"])]).fit(X)
    assert compile_transform(other) is None


def test_a_column_missing_in_every_training_row_keeps_the_pipeline_path():
    train = X.assign(empty=np.nan)
    fitted = Linear(task="classification", n_classes=2).fit(train, Y)
    assert compile_transform(fitted.pipeline[0]) is None
    np.testing.assert_array_equal(fitted.predict_proba(train.head(20)), fitted.pipeline.predict_proba(train.head(20)))


def test_the_neural_net_learns_a_small_table_instead_of_stopping_at_chance():
    """On 112 rows, early stopping would judge by 11 of them and stop near chance (0.57 here)."""
    from sklearn.metrics import roc_auc_score

    from bakeoff.tasks.tabular.ladder.models import Mlp

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 50)
    centers = np.array([[0, 0], [3, 0], [0, 3]])
    X3 = pd.DataFrame(centers[y] * 40 + rng.normal(scale=25, size=(150, 2)) + 100, columns=["a", "b"])
    fit, check = np.arange(150) % 4 != 0, np.arange(150) % 4 == 0
    net = Mlp(task="classification", n_classes=3, seed=0).fit(X3[fit], y[fit])
    assert roc_auc_score(y[check], net.predict_proba(X3[check]), multi_class="ovr") > 0.95
