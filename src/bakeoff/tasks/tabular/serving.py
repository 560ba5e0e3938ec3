"""What serving needs from a tabular model (the task's `serving` module; every task's offers
the same five functions): its row scorer from a registered model folder, the settings and
entity column kept with the registered version, the columns and outputs of its signature, and
the reference profile of the rows it learned from (for monitoring drift later).

Example::

    scorer = load(Path("downloaded/model"), settings={})   # a RowScorer
    profile = training_profile(card, fingerprint, bundle)  # per column: shares or quantiles
"""

from __future__ import annotations

from pathlib import Path

from bakeoff.core.profile import check_fingerprint, number_profile
from bakeoff.tasks.tabular.bundle import ModelBundle, load_bundle
from bakeoff.tasks.tabular.rowpath import RowScorer
from bakeoff.tasks.tabular.schema import CATEGORY, NUMBER, apply_schema

MOST_LEVELS = 50  # a category's most frequent levels kept in the profile; the rest are "other"


def load(model_dir: Path, settings: dict) -> RowScorer:
    """The row scorer of an MLflow model folder that bakeoff logged (artifacts/ holds the model file)."""
    from bakeoff.adapters.registry import model_file

    return RowScorer(load_bundle(model_file(model_dir)))


def settings(card) -> dict:
    return {}


def entity(card) -> str:
    """The request field that keys the challenger split: the card's id column."""
    return card.data.id if isinstance(card.data.id, str) else ""


def signature(bundle: ModelBundle, card) -> tuple[dict[str, str], dict[str, str]]:
    """The request's columns and the outputs, each a number or a category (a date column is text)."""
    columns = {name: NUMBER if kind == NUMBER else CATEGORY for name, kind in bundle.schema.items()}
    outputs = {out: CATEGORY if out == "prediction" and bundle.task != "regression" else NUMBER
               for out in bundle.output_columns()}
    return columns, outputs


def training_profile(card, fingerprint: str, bundle: ModelBundle) -> dict:
    """The reference profile of the card's data, once it matches the run's `fingerprint`."""
    from bakeoff.core.source import load_frame

    loaded = load_frame(card.data.source, card.base_dir)
    check_fingerprint(loaded.sha256, fingerprint)
    return reference_profile(loaded.frame, bundle)


def reference_profile(frame, bundle: ModelBundle) -> dict:
    """Per input column of the rows the model learned from: for numbers the count, the share
    missing, mean, standard deviation and quantiles; for categories the share of each of the
    most frequent levels (the rest as "other") and of missing values."""
    X = apply_schema(frame, bundle.schema, bundle.levels, bundle.booleans)
    profile = {"rows": int(len(X)), "columns": {}}
    for name, kind in bundle.schema.items():
        if kind == NUMBER:
            profile["columns"][name] = number_profile(X[name].to_numpy(dtype=float))
        elif kind == CATEGORY:
            shares = X[name].value_counts(normalize=True, dropna=False)
            top = shares.head(MOST_LEVELS)
            profile["columns"][name] = {
                "kind": CATEGORY, "missing": float(X[name].isna().mean()),
                "levels": {str(k): float(v) for k, v in top.items() if k == k},
                "other": float(shares.iloc[MOST_LEVELS:].sum())}
    return profile
