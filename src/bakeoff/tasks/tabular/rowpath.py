"""Scoring one row as a Python dict, without pandas or a scikit-learn pipeline: the schema's
value rules (`schema.number_value`, `category_value`), the preprocessing's numpy twin
(`Preprocessing.row`), and the model's own arithmetic for linear models. The same numbers as
`ModelBundle.score` on a DataFrame (tests/test_serve.py checks row by row); a model without
that twin (dates among the inputs, a custom candidate, one_rule) scores through the DataFrame.

Example::

    scorer = RowScorer(load_bundle("runs/RUN/models/linear.pkl"))
    scorer.score({"tenure": 3, "Contract": "Month-to-month"})
    # {'prediction': 'Yes', 'probability': 0.71}
"""

from __future__ import annotations

import numpy as np

from bakeoff.errors import BadValue
from bakeoff.tasks.tabular.bundle import ModelBundle
from bakeoff.tasks.tabular.schema import (
    CATEGORY,
    NUMBER,
    category_value,
    level_numbers,
    number_value,
)


class RowScorer:
    """A bundle's model, scoring rows given as dicts of JSON values."""

    def __init__(self, bundle: ModelBundle):
        self.bundle = bundle
        self.columns = list(bundle.schema)
        self._booleans = {name: None if bundle.booleans is None else name in bundle.booleans for name in self.columns}
        self._numbers = {name: level_numbers(bundle.levels.get(name, ())) for name, kind in bundle.schema.items()
                         if kind == CATEGORY}
        self._lower = {name.lower(): name for name in bundle.schema}
        inputs = getattr(bundle.fitted, "inputs", None)
        plain = all(kind in (NUMBER, CATEGORY) for kind in bundle.schema.values())
        self._inputs = inputs if plain and inputs is not None else None
        self._linear = _linear_weights(bundle.fitted) if self._inputs is not None else None

    def fields(self) -> dict:
        """What a request row holds: each column's kind, and a category's training levels (another
        value is scored as unseen, as offline)."""
        return {name: {"kind": NUMBER, "type": "number or null"} if kind == NUMBER else
                {"kind": CATEGORY, "type": "text or null", "levels": list(self.bundle.levels.get(name, ()))}
                for name, kind in self.bundle.schema.items()}

    def labels(self) -> list[str] | None:
        """The classes a true label may be (None for a regression: any number)."""
        return None if self.bundle.task == "regression" else [str(c) for c in self.bundle.classes]

    def clean(self, row: dict) -> dict:
        """The model's input values of one row; a value its column cannot hold is a BadValue
        naming the column (a missing column reads as missing, as a blank cell does), and so is a
        field that is a column's name in other letter case (a typo that would read as missing)."""
        for field in row:
            if field not in self.bundle.schema and field.lower() in self._lower:
                raise BadValue(f"{field}: the model's column is {self._lower[field.lower()]!r} (names are exact)")
        out = {}
        for name, kind in self.bundle.schema.items():
            value = row.get(name)
            try:
                out[name] = number_value(value, self._booleans[name]) if kind == NUMBER else \
                    category_value(value, self._numbers[name]) if kind == CATEGORY else value
            except BadValue as err:
                raise BadValue(f"{name}: {err}") from None
        return out

    def score(self, row: dict) -> dict:
        """{"prediction": …, "probability": …} (or "probabilities" by class, for more than two)."""
        values = self.clean(row)
        if self._inputs is None:
            return self._by_frame([values])[0]
        x = self._inputs.row(values)
        if self.bundle.task == "regression":
            if self._linear is not None:
                return {"prediction": float(x @ self._linear[0] + self._linear[1])}
            return {"prediction": float(self.bundle.fitted.pipeline[-1].predict(x[None, :])[0])}
        return self._labelled(self._proba(x))

    def score_many(self, rows: list[dict]) -> list[dict]:
        """Many rows at once: through the DataFrame path, which pays off beyond a few rows."""
        if len(rows) <= 4:
            return [self.score(row) for row in rows]
        return self._by_frame([self.clean(row) for row in rows])

    def _proba(self, x: np.ndarray) -> np.ndarray:
        if self._linear is not None:
            weights, intercept = self._linear
            z = weights @ x + intercept
            if len(z) == 1:  # binary: sklearn's expit of the one decision value
                p = 1.0 / (1.0 + np.exp(-z[0]))
                return np.array([1.0 - p, p])
            z = np.exp(z - z.max())
            return z / z.sum()
        from bakeoff.core.candidate import full_proba

        model = self.bundle.fitted.model
        return full_proba(model.predict_proba(x[None, :]), model.classes_, len(self.bundle.classes))[0]

    def _labelled(self, proba: np.ndarray) -> dict:
        classes = self.bundle.classes
        out = {"prediction": classes[int(proba.argmax())]}
        if len(classes) == 2:
            out["probability"] = float(proba[1])
        else:
            out["probabilities"] = {str(label): float(p) for label, p in zip(classes, proba)}
        return out

    def _by_frame(self, cleaned: list[dict]) -> list[dict]:
        import pandas as pd

        frame = pd.DataFrame(cleaned, columns=self.columns)
        scored = self.bundle.score(frame)
        out = []
        for _, row in scored.iterrows():
            if self.bundle.task == "regression":
                out.append({"prediction": float(row["prediction"])})
            elif len(self.bundle.classes) == 2:
                out.append({"prediction": row["prediction"], "probability": float(row["probability"])})
            else:
                out.append({"prediction": row["prediction"], "probabilities": {
                    str(label): float(row[f"probability_{label}"]) for label in self.bundle.classes}})
        return out


def _linear_weights(fitted) -> tuple[np.ndarray, np.ndarray] | None:
    """(weights, intercept) of a fitted linear model scored by arithmetic: scikit-learn's
    LogisticRegression (binary or multinomial, every class seen) or a linear regression without
    a transformed target; None for any other model."""
    from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

    model = getattr(fitted, "model", None)
    if isinstance(model, LogisticRegression):
        if len(model.classes_) != getattr(fitted.candidate, "n_classes", len(model.classes_)):
            return None
        return np.asarray(model.coef_, dtype=float), np.asarray(model.intercept_, dtype=float)
    if isinstance(model, (LinearRegression, Ridge)) and not fitted.log_target and np.ndim(model.coef_) == 1:
        return np.asarray(model.coef_, dtype=float), float(model.intercept_)
    return None
