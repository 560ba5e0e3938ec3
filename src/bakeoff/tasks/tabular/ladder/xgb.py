"""XGBoost's models as the ladder uses them: predictions added up in double precision, and SQL.

XGBoost adds its trees' leaf values in single precision, so its own predictions are up to about
1e-5 (relative) away from the trees' exact sum, which the SQL export computes in double. The
estimators here let xgboost choose each row's leaves (`pred_leaf`) and add those leaves in
double, so that Python and SQL give the same answer to the last digits (the parity check of
`bakeoff sql --check` asks 1e-9).

Imported only when the candidate builds or exports a model: it imports xgboost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import xgboost
from scipy.special import expit, softmax

from bakeoff.tasks.tabular.sqlexpr import (
    PerClass,
    check_size,
    number,
    sigmoid,
    split,
    sum_of,
)

LINKS = {"reg:squarederror": "identity", "binary:logistic": "sigmoid", "multi:softprob": "softmax"}


@dataclass(frozen=True)
class Trees:
    """A fitted booster's trees as arrays indexed [tree, node] (xgboost's JSON model): a node
    goes left when float32(x) < threshold; at a leaf, `value` is the leaf's value."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray  # -1 at a leaf
    right: np.ndarray
    value: np.ndarray  # float64 of the float32 leaf value; 0 elsewhere
    tree_class: np.ndarray  # the class each tree scores (0 unless multiclass)
    intercept: float  # added to every margin: the base score through the link's inverse
    link: str  # "identity", "sigmoid" or "softmax"
    n_classes: int  # margins per row: 1 unless multiclass



def read_trees(model) -> Trees:
    """The arrays of a fitted XGBRegressor or XGBClassifier (gbtree, numeric splits)."""
    learner = json.loads(model.get_booster().save_raw(raw_format="json"))["learner"]
    objective = learner["objective"]["name"]
    if objective not in LINKS:
        raise ValueError(f"XGBoost objective {objective!r} is not one the ladder uses")
    forest = learner["gradient_booster"]["model"]
    trees = forest["trees"]
    if any(any(t.get("split_type", ())) for t in trees):
        raise ValueError("XGBoost categorical splits are not used by the ladder")
    width = max(len(t["left_children"]) for t in trees)

    def table(key: str, fill: float, dtype) -> np.ndarray:
        out = np.full((len(trees), width), fill, dtype=dtype)
        for i, tree in enumerate(trees):  # float32 values become the same numbers as doubles
            out[i, :len(tree[key])] = np.asarray(tree[key], dtype=np.float32 if dtype is float else dtype)
        return out

    left = table("left_children", -2, np.int64)  # -2: past the end of a smaller tree
    conditions = table("split_conditions", 0.0, float)  # a leaf's value at a leaf
    link, base = LINKS[objective], float(np.ravel(model.intercept_)[0])
    return Trees(table("split_indices", -2, np.int64), conditions, left, table("right_children", -2, np.int64),
                 np.where(left == -1, conditions, 0.0), np.asarray(forest["tree_info"], dtype=np.int64),
                 float(np.log(base / (1.0 - base))) if link == "sigmoid" else base, link,
                 max(1, int(learner["learner_model_param"]["num_class"])))


def margins(model, X: np.ndarray) -> np.ndarray:
    """(rows, n_classes) sums of the leaves xgboost picks for each row, in double precision."""
    trees = model.trees_
    leaves = model.get_booster().predict(xgboost.DMatrix(X, missing=np.nan, nthread=1), pred_leaf=True)
    leaves = np.asarray(leaves, dtype=np.int64).reshape(len(X), -1)
    values = trees.value[np.arange(leaves.shape[1]), leaves]  # (rows, trees)
    out = np.full((len(X), trees.n_classes), trees.intercept)
    for k in range(trees.n_classes):
        out[:, k] += values[:, trees.tree_class == k].sum(axis=1)
    return out


class Regressor(xgboost.XGBRegressor):
    """XGBRegressor whose predictions are its trees' exact sum (see the module's docstring)."""

    def fit(self, X, y, **kwargs):
        super().fit(X, y, **kwargs)
        self.trees_ = read_trees(self)
        return self

    def predict(self, X, **kwargs) -> np.ndarray:
        return margins(self, X)[:, 0]


class Classifier(xgboost.XGBClassifier):
    """XGBClassifier whose probabilities come from its trees' exact sums."""

    def fit(self, X, y, **kwargs):
        super().fit(X, y, **kwargs)
        self.trees_ = read_trees(self)
        return self

    def predict_proba(self, X, **kwargs) -> np.ndarray:
        scores = margins(self, X)
        if self.trees_.link == "softmax":
            return softmax(scores, axis=1)
        positive = expit(scores[:, 0])
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X, **kwargs) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def count_params(model) -> int:
    """A threshold and a feature per split, a value per leaf."""
    trees = model.trees_
    splits, leaves = int((trees.left >= 0).sum()), int((trees.left == -1).sum())
    return 2 * splits + leaves


def xgboost_sql(model, names: list[str], task: str, indicators: dict):
    """The intercept plus the leaves' values (through the sigmoid for binary classification;
    per class, then the softmax, for multiclass). The model's inputs are never missing (the
    preprocessing imputes them), so xgboost's `missing` branch is never taken."""
    from sqlglot import exp

    trees = model.trees_
    nodes = int((trees.left >= -1).sum())
    check_size(nodes, f"this XGBoost model of {len(trees.left)} trees")  # before building it
    cases = [exp.paren(_node(trees, t, 0, names, indicators)) for t in range(len(trees.left))]
    per_class = [sum_of([number(trees.intercept), *[c for c, k in zip(cases, trees.tree_class) if k == cls]])
                 for cls in range(trees.n_classes)]
    if trees.link == "softmax":
        return PerClass(per_class, softmax=True)
    return sigmoid(per_class[0]) if task == "classification" else per_class[0]


def _node(trees: Trees, tree: int, node: int, names: list[str], indicators: dict):
    """Nested CASE: float32(x) < t is float32(x) <= the float32 just below t."""
    from sqlglot import exp

    if trees.left[tree, node] == -1:
        return number(trees.value[tree, node])
    below = float(np.nextafter(np.float32(trees.threshold[tree, node]), np.float32(-np.inf)))
    test = split(names[trees.feature[tree, node]], below, indicators, single_precision=True)
    return (exp.Case().when(test, _node(trees, tree, int(trees.left[tree, node]), names, indicators))
            .else_(_node(trees, tree, int(trees.right[tree, node]), names, indicators)))

