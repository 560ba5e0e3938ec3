"""Expectations: rows subject-matter experts answered, turned into checks every candidate takes.

A reviewed row is known by its key: the id column's value when the card names one, else a
fingerprint of its feature values. A row the expert said "looks right" expects the label the
model gave; a row marked wrong expects the expert's answer. Plain pandas/numpy, no I/O.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bakeoff.core.candidate import Fitted
from bakeoff.core.jsonable import plain
from bakeoff.tasks.tabular.schema import apply_schema

REGRESSION_SLACK = 0.10  # a regression answer counts as met within 10 % of the expert's value


@dataclass(frozen=True)
class Expectation:
    key: str
    features: dict  # raw column -> value, as the expert saw it
    expected: str  # the right label (classification) or value as text (regression)


def row_keys(frame: pd.DataFrame, features: list[str], id_column: str = "") -> pd.Series:
    """One stable key per row.

    >>> row_keys(pd.DataFrame({"id": [7], "x": [1.5]}), ["x"], "id").tolist()
    ['id:7']
    >>> row_keys(pd.DataFrame({"x": [1.5]}), ["x"]).str.len().tolist()
    [44]
    """
    if id_column:
        return "id:" + frame[id_column].astype(str)
    return frame[features].apply(lambda row: row_fingerprint(row.to_dict()), axis=1).astype(str)


def row_fingerprint(values: dict) -> str:
    text = json.dumps({k: plain(v) for k, v in sorted(values.items())}, sort_keys=True)
    return "row:" + hashlib.sha1(text.encode()).hexdigest()


def plain_values(row: dict) -> dict:
    """A row's values as JSON-safe Python scalars (NaN becomes None)."""
    return {k: plain(v) for k, v in row.items()}


def meets(predicted, expected: str, task: str) -> bool:
    """Whether one prediction meets one expectation.

    >>> meets("Yes", "Yes", "classification"), meets(105.0, "100", "regression")
    (True, True)
    """
    if task == "classification":
        return str(predicted) == expected
    target = float(expected)
    return abs(float(predicted) - target) <= REGRESSION_SLACK * max(abs(target), 1e-12)


def check(fitted: Fitted, expectations: list[Expectation], schema: dict[str, str], classes: list[str],
          task: str) -> dict:
    """How many expectations a fitted candidate meets: {"right", "total", "missed": [keys]}."""
    if not expectations:
        return {"right": 0, "total": 0, "missed": []}
    rows = pd.DataFrame([e.features for e in expectations])
    for column in schema:
        if column not in rows:
            rows[column] = None
    predicted = fitted.predict(apply_schema(rows, schema))
    if task == "classification":
        predicted = np.asarray(classes, dtype=object)[np.asarray(predicted, int)]
    hits = [meets(p, e.expected, task) for p, e in zip(predicted, expectations)]
    return {"right": int(sum(hits)), "total": len(hits),
            "missed": [e.key for e, hit in zip(expectations, hits) if not hit]}


def review_sample(raw: pd.DataFrame, positions: np.ndarray, features: list[str], id_column: str,
                  target: str, first: list[int], size: int = 30, seed: int = 0) -> list[dict]:
    """Rows for experts to review: the `first` positions (the report's telling cases), then a
    seeded random draw from `positions`, each as {"key", "features", "actual"}."""
    rng = np.random.default_rng(seed)
    taken = set(first)
    rest = [int(p) for p in rng.permutation(positions) if int(p) not in taken]
    chosen = list(dict.fromkeys(first))[:size]
    chosen += rest[: size - len(chosen)]
    rows = raw.iloc[chosen]
    keys = row_keys(rows, features, id_column)
    return [{"key": key, "features": plain_values(row[features].to_dict()), "actual": plain(row[target])}
            for key, (_, row) in zip(keys, rows.iterrows())]


def expectations(verdicts: list[dict]) -> list[Expectation]:
    """Per row, the latest verdict that gives a right answer, as expectations.

    "right" expects what the model predicted; "wrong" with an answer expects the answer;
    "wrong" without an answer is not a check: it keeps an earlier answer (both say the
    prediction is wrong) and cancels an earlier "right".
    """
    latest = {}
    for v in verdicts:
        if v["verdict"] == "wrong" and v["answer"] in (None, ""):
            if v["row_key"] in latest and latest[v["row_key"]]["verdict"] == "right":
                del latest[v["row_key"]]
            continue
        latest[v["row_key"]] = v
    return [Expectation(v["row_key"], v["features"], str(v["predicted"] if v["verdict"] == "right" else v["answer"]))
            for v in latest.values()]
