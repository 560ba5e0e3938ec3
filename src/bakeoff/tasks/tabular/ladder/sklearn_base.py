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
        """The fitted learner (inside the log(1 + y) wrapper when it learnt that)."""
        return self.pipeline[-1].regressor_ if self.log_target else self.pipeline[-1]

    @property
    def log_target(self) -> bool:
        """Whether it learnt log(1 + y) and answers e^score - 1 (see SklearnCandidate)."""
        return getattr(self.pipeline[-1], "func", None) is np.log1p

    @property
    def feature_names(self) -> list[str]:
        if self.inputs is not None:
            return self.inputs.feature_names
        return list(self.pipeline[0].get_feature_names_out())

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.candidate.task == "classification":
            return self.predict_proba(X).argmax(axis=1)
        return np.asarray(self.pipeline[-1].predict(self.transform(X)), dtype=float)

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
        text = self.candidate.describe_model(self)
        return f"{text}\n{LOG_TARGET_WORDS}" if self.log_target else text


LOG_TARGET_WORDS = "It learns log(1 + target) and answers e^score - 1, in the target's units."


class SklearnCandidate(Candidate):
    """Subclasses say which estimator to build (`build`), with which hyperparameters
    (`model_defaults`, `model_space`), and how to count what it learned.

    For regression, a family with hyperparameters also tunes `log_target`: learn log(1 + y)
    and answer e^score - 1 (scikit-learn's TransformedTargetRegressor), which suits a skewed
    target of 0 or more such as spend or counts. Cross-validation chooses, as for any other
    hyperparameter; the default, False, learns y as given. The search space is drawn without
    the data, so the choice is offered for every regression; `fit` takes it only when no
    training target is below 0 (log(1 + y) is meant for amounts, and undefined below -1) and
    otherwise learns y as given: `SklearnFitted.log_target` says what the model did.
    """

    scale: ClassVar[bool] = True

    def model_defaults(self) -> dict[str, Any]:
        """The family's default hyperparameters, named as in `model_space`."""
        return {}

    def model_space(self, trial) -> dict[str, Any]:
        """The family's hyperparameters to try, drawn from an Optuna trial."""
        return {}

    def default_params(self) -> dict[str, Any]:
        defaults = self.model_defaults()
        return defaults | {"log_target": False} if defaults and not self.is_classifier else defaults

    def search_space(self, trial) -> dict[str, Any]:
        space = self.model_space(trial)
        if space and not self.is_classifier:
            space["log_target"] = trial.suggest_categorical("log_target", [False, True])
        return space

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
        params = dict(self.hyperparams)
        log_target = params.pop("log_target", False) and not self.is_classifier and np.min(y) >= 0
        model = self.build(params)
        if log_target:
            model = log_target_model(model)
        model.fit(inputs, y)
        return SklearnFitted(Pipeline([("prep", prep), ("model", model)]), self, fast)

    @property
    def is_classifier(self) -> bool:
        return self.task == "classification"


def log_target_model(model):
    """`model` learning log(1 + y), answering e^prediction - 1."""
    from sklearn.compose import TransformedTargetRegressor

    return TransformedTargetRegressor(regressor=model, func=np.log1p, inverse_func=np.expm1)


def tree_nodes(tree) -> int:
    """Thresholds and feature ids of the splits, plus one value per leaf (per class)."""
    t = tree.tree_
    leaves = int((t.children_left == -1).sum())
    return 2 * (t.node_count - leaves) + leaves * max(1, t.value.shape[-1] - 1)
