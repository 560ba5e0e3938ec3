"""A fitted candidate packed with what it needs to score raw rows: the schema and labels."""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bakeoff.core.candidate import Fitted
from bakeoff.core.runstore import write_atomic
from bakeoff.tasks.tabular.schema import apply_schema, surprises


@dataclass
class ModelBundle:
    name: str
    task: str
    fitted: Fitted
    schema: dict[str, str]
    classes: list[str]
    target: str
    levels: dict[str, list[str]] = field(default_factory=dict)  # category values seen in training
    booleans: list[str] | None = None  # number columns learned from True/False (None: saved before)

    def surprises(self, frame: pd.DataFrame) -> list[str]:
        """Values in new rows that the model will read as missing or unknown."""
        return surprises(frame, self.schema, self.levels, self.booleans)

    def output_columns(self) -> list[str]:
        """The columns `score` adds (or replaces): `prediction`, then the probabilities."""
        if self.task == "regression":
            return ["prediction"]
        if len(self.classes) == 2:
            return ["prediction", "probability"]
        return ["prediction", *(f"probability_{label}" for label in self.classes)]

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The input rows with `prediction` and, for classification, probability column(s)."""
        X = apply_schema(frame, self.schema, self.levels, self.booleans)
        out = frame.copy()
        if self.task == "regression":
            out["prediction"] = self.fitted.predict(X)
            return out
        proba = self.fitted.predict_proba(X)
        out["prediction"] = np.asarray(self.classes, dtype=object)[proba.argmax(axis=1)]
        if len(self.classes) == 2:
            out["probability"] = proba[:, 1]
        else:
            for i, label in enumerate(self.classes):
                out[f"probability_{label}"] = proba[:, i]
        return out


def save_bundle(bundle: ModelBundle, path: Path) -> None:
    write_atomic(path, pickle.dumps(bundle, protocol=pickle.HIGHEST_PROTOCOL))


# Where the classes inside model files saved before the package took its current layout live now.
MOVED_MODULES = {
    "bakeoff.bundle": "bakeoff.tasks.tabular.bundle",
    "bakeoff.ladder.base": "bakeoff.core.candidate",
    "bakeoff.ladder.baseline": "bakeoff.tasks.tabular.ladder.baseline",
    "bakeoff.ladder.one_rule": "bakeoff.tasks.tabular.ladder.one_rule",
    "bakeoff.ladder.sklearn_base": "bakeoff.tasks.tabular.ladder.sklearn_base",
    "bakeoff.ladder.tabular": "bakeoff.tasks.tabular.ladder.models",
    "bakeoff.ladder.preprocess": "bakeoff.tasks.tabular.preprocess",
}


class _Unpickler(pickle.Unpickler):
    """Reads model files of every bakeoff version: moved classes are found where they live now."""

    def find_class(self, module: str, name: str):
        return super().find_class(MOVED_MODULES.get(module, module), name)


def load_bundle(path: Path) -> ModelBundle:
    """A model file, read as it is: only for files you trust (`predict.load_model` checks a
    run folder's against its result.json first)."""
    return loads_bundle(Path(path).read_bytes())


def loads_bundle(content: bytes) -> ModelBundle:
    return _Unpickler(io.BytesIO(content)).load()
