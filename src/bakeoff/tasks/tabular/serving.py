"""What serving needs from a tabular model: its row scorer from a registered model folder, the
columns and outputs of its signature, and the reference profile of the rows it learned from
(for monitoring drift later).

Example::

    scorer = load(Path("downloaded/model"))          # a RowScorer
    profile = reference_profile(card, result, bundle)  # per column: shares or quantiles
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bakeoff.errors import ConfigError
from bakeoff.tasks.tabular.bundle import ModelBundle, load_bundle
from bakeoff.tasks.tabular.rowpath import RowScorer
from bakeoff.tasks.tabular.schema import CATEGORY, NUMBER, apply_schema

QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
MOST_LEVELS = 50  # a category's most frequent levels kept in the profile; the rest are "other"


def load(model_dir: Path) -> RowScorer:
    """The row scorer of an MLflow model folder that bakeoff logged (artifacts/ holds the bundle)."""
    files = sorted((Path(model_dir) / "artifacts").glob("*.pkl"))
    if not files:
        raise ConfigError(f"{model_dir} holds no bakeoff model file; promote a candidate of a tracked bakeoff run")
    return RowScorer(load_bundle(files[0]))


def columns(bundle: ModelBundle) -> dict[str, str]:
    """The request's columns and their kinds (number or category; a date column is text)."""
    return {name: NUMBER if kind == NUMBER else CATEGORY for name, kind in bundle.schema.items()}


def outputs(bundle: ModelBundle) -> list[str]:
    return bundle.output_columns()


def reference_profile(frame, bundle: ModelBundle) -> dict:
    """Per input column of the rows the model learned from: for numbers the count, the share
    missing, mean, standard deviation and quantiles; for categories the share of each of the
    most frequent levels (the rest as "other") and of missing values."""
    X = apply_schema(frame, bundle.schema, bundle.levels, bundle.booleans)
    profile = {"rows": int(len(X)), "columns": {}}
    for name, kind in bundle.schema.items():
        if kind == NUMBER:
            values = X[name].to_numpy(dtype=float)
            seen = values[~np.isnan(values)]
            profile["columns"][name] = {
                "kind": NUMBER, "missing": float(np.isnan(values).mean()),
                "mean": float(seen.mean()) if len(seen) else None, "std": float(seen.std()) if len(seen) else None,
                "quantiles": dict(zip(map(str, QUANTILES), map(float, np.quantile(seen, QUANTILES))))
                if len(seen) else {}}
        elif kind == CATEGORY:
            shares = X[name].value_counts(normalize=True, dropna=False)
            top = shares.head(MOST_LEVELS)
            profile["columns"][name] = {
                "kind": CATEGORY, "missing": float(X[name].isna().mean()),
                "levels": {str(k): float(v) for k, v in top.items() if k == k},
                "other": float(shares.iloc[MOST_LEVELS:].sum())}
    return profile
