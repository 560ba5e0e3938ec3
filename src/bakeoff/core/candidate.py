"""The one small contract every candidate on the ladder follows.

A Candidate holds hyperparameters only; `fit` returns a Fitted model that predicts,
counts its learned parameters and describes itself in plain words.

Example: a candidate of your own, named in the card as `[ladder] extra = ["my_module:Median"]`

    class Median(Candidate):
        name, rung, family, tasks = "median", 0, "baseline", ("regression",)

        def fit(self, X, y):
            return MedianFitted(float(np.median(y)))
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import pandas as pd


class Fitted(ABC):
    """A trained model. Classification models predict class codes 0..k-1."""

    @abstractmethod
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Class codes (classification) or values (regression), one per row."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """An (n_rows, n_classes) array of class probabilities; classification only."""
        raise NotImplementedError(f"{type(self).__name__} gives no probabilities")

    @property
    def n_params(self) -> int:
        """How many numbers the model learned (coefficients, thresholds, leaf values)."""
        return 0

    def describe(self) -> str:
        """The model in plain words, for the report."""
        return ""

    def to_sql(self) -> str | None:
        """The model as one SQL expression over the table's raw columns, written for DuckDB
        (sqlglot renders it in every dialect): P(positive class) for binary classification, the
        value for regression. None when it cannot run as SQL. Built-in candidates leave this
        None and are exported from their fitted pipelines by `bakeoff.tasks.tabular.sql`.

        Example: ``return f"CASE WHEN tenure > 12 THEN {self.low} ELSE {self.high} END"``
        """
        return None


class Candidate(ABC):
    """One approach on the complexity ladder; construct with hyperparameters only."""

    name: ClassVar[str]
    rung: ClassVar[int]
    family: ClassVar[str]
    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression")
    summary: ClassVar[str] = ""
    title: ClassVar[str] = ""  # a short plain name for the report, e.g. "Scorecard"
    requires: ClassVar[tuple[str, ...]] = ()  # libraries it needs in production
    sql_exportable: ClassVar[bool] = False
    max_trials: ClassVar[int | None] = None  # a tuning cap below [budget] trials, for slow fits

    def __init__(self, *, task: str = "classification", seed: int = 0, n_classes: int = 2,
                 class_names: tuple[str, ...] = (), **params: Any):
        self.task, self.seed, self.n_classes, self.params = task, seed, n_classes, params
        self.class_names = tuple(class_names) or tuple(str(i) for i in range(n_classes))

    def default_params(self) -> dict[str, Any]:
        """The hyperparameters used when none are given, named as in `search_space`."""
        return {}

    def search_space(self, trial) -> dict[str, Any]:
        """Hyperparameters to try, drawn from an Optuna trial; {} means nothing to tune."""
        return {}

    @property
    def hyperparams(self) -> dict[str, Any]:
        """The defaults, overridden by what this candidate was constructed with."""
        return self.default_params() | self.params

    def with_params(self, **params: Any) -> Candidate:
        """A copy of this candidate with other hyperparameters."""
        return type(self)(task=self.task, seed=self.seed, n_classes=self.n_classes,
                          class_names=self.class_names, **params)

    @abstractmethod
    def fit(self, X: pd.DataFrame, y: np.ndarray) -> Fitted:
        """Learn from features X and target y (class codes or values)."""


def full_proba(proba: np.ndarray, seen: np.ndarray, n_classes: int) -> np.ndarray:
    """Widen probabilities over the classes a model saw to all n_classes columns.

    >>> full_proba(np.array([[0.3, 0.7]]), np.array([0, 2]), 3).tolist()
    [[0.3, 0.0, 0.7]]
    """
    out = np.zeros((len(proba), n_classes))
    out[:, np.asarray(seen, int)] = proba
    return out
