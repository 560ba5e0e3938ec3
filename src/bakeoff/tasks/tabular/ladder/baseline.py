"""Rung 0 `constant`: the training class shares or mean for every row, the baseline to beat.

It needs no preprocessing, so its cost figures are those of a constant, not of a pipeline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bakeoff.core.candidate import Candidate, Fitted


class ConstantFitted(Fitted):
    def __init__(self, answer: np.ndarray | float, task: str):
        self.answer, self.task = answer, task

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.task == "classification":
            return np.full(len(X), int(np.argmax(self.answer)))
        return np.full(len(X), float(self.answer))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.tile(self.answer, (len(X), 1))

    @property
    def n_params(self) -> int:
        return len(self.answer) - 1 if self.task == "classification" else 1

    def describe(self) -> str:
        if self.task == "classification":
            shares = ", ".join(f"{share:.1%}" for share in self.answer)
            return f"Gives every row the training class shares ({shares})."
        return f"Predicts {self.answer:,.4g} for every row."

    def sql_scoring(self, task: str, n_classes: int, schema: dict[str, str]):
        """The constant answer as SQL: the positive class's share, the mean, or each class's share."""
        from bakeoff.tasks.tabular.sqlexpr import PerClass, Scoring, number

        if task == "classification" and n_classes > 2:
            return Scoring([], PerClass([number(share) for share in self.answer], softmax=False))
        return Scoring([], number(self.answer[1] if task == "classification" else self.answer))


class Constant(Candidate):
    name, rung, family = "constant", 0, "baseline"
    title, requires = "Baseline: the same answer for everyone", ()
    summary = "always predicts the training class shares or mean: the baseline to beat"
    sql_exportable = True

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> Fitted:
        if self.task == "classification":
            return ConstantFitted(np.bincount(y, minlength=self.n_classes) / len(y), self.task)
        return ConstantFitted(float(np.mean(y)), self.task)
