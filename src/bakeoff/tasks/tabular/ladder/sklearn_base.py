"""Candidates built from a scikit-learn estimator behind the shared preprocessing."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from bakeoff.core.candidate import Candidate, Fitted, full_proba
from bakeoff.tasks.tabular.preprocess import Preprocessing, compile_transform, make_preprocessor

Prepared = tuple  # (fitted ColumnTransformer, its output on the rows it learned from, its twin)


def preprocess(X: pd.DataFrame, scale: bool) -> Prepared:
    """The shared preprocessing learned from X, X as the model sees it, and the preprocessing's
    numpy twin and description (`Preprocessing`, or None) that fast prediction uses."""
    prep = make_preprocessor(scale)
    inputs = prep.fit_transform(X)
    return prep, inputs, compile_transform(prep)


class SklearnFitted(Fitted):
    """A fitted sklearn Pipeline (preprocessing + model) and the candidate that made it."""

    def __init__(self, pipeline, candidate: SklearnCandidate, fast=None):
        self.pipeline, self.candidate = pipeline, candidate
        if fast is not None:
            self._fast = fast

    @property
    def model(self):
        return self.pipeline[-1]

    @property
    def feature_names(self) -> list[str]:
        if self.inputs is not None:
            return self.inputs.feature_names
        return list(self.pipeline[0].get_feature_names_out())

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.candidate.task == "classification":
            return self.predict_proba(X).argmax(axis=1)
        return np.asarray(self.model.predict(self.transform(X)), dtype=float)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        proba = self.model.predict_proba(self.transform(X))
        return full_proba(proba, self.model.classes_, self.candidate.n_classes)

    @property
    def inputs(self) -> Preprocessing | None:
        """What the preprocessing learned (None for a layout other than make_preprocessor's)."""
        if not hasattr(self, "_fast"):  # captured at fit; models saved before that get it here
            self._fast = compile_transform(self.pipeline[0])
        return self._fast

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The model's inputs: the fitted preprocessing, through its numpy twin when it has one."""
        return self.inputs(X) if self.inputs is not None else self.pipeline[0].transform(X)

    @property
    def n_params(self) -> int:
        return int(self.candidate.count_params(self.model))

    def describe(self) -> str:
        return self.candidate.describe_model(self)


class SklearnCandidate(Candidate):
    """Subclasses say which estimator to build and how to count what it learned."""

    scale: ClassVar[bool] = True

    def build(self, params: dict) -> Any:
        """The unfitted sklearn estimator for self.task with these hyperparameters."""
        raise NotImplementedError

    def count_params(self, model) -> int:
        return 0

    def sql_output(self, model, names: list[str], indicators: dict):
        """The fitted model's answer as SQL over its input features `names` (sqlglot; see
        `sqlexpr`): P(positive) or the value, or a PerClass. `indicators` maps a category
        indicator's name to its (column, level). NotExportable when the family has none."""
        from bakeoff.tasks.tabular.sqlexpr import NotExportable

        raise NotExportable(f"{type(model).__name__} models have no SQL form yet (trees, linear models "
                            "and naive Bayes do)")

    def describe_model(self, fitted: SklearnFitted) -> str:
        return f"{self.summary} ({fitted.n_params:,} learned numbers)"

    def fit(self, X: pd.DataFrame, y: np.ndarray, *, prepared: Prepared | None = None) -> Fitted:
        """The preprocessing and the model, learned from X and y. `prepared` is the preprocessing
        already learned from these same rows with this `scale` (tuning fits one split many times:
        the same numbers, learned once)."""
        from sklearn.pipeline import Pipeline

        prep, inputs, fast = prepared or preprocess(X, self.scale)
        model = self.build(self.hyperparams)
        model.fit(inputs, y)
        return SklearnFitted(Pipeline([("prep", prep), ("model", model)]), self, fast)

    @property
    def is_classifier(self) -> bool:
        return self.task == "classification"


def tree_nodes(tree) -> int:
    """Thresholds and feature ids of the splits, plus one value per leaf (per class)."""
    t = tree.tree_
    leaves = int((t.children_left == -1).sum())
    return 2 * (t.node_count - leaves) + leaves * max(1, t.value.shape[-1] - 1)
