"""`bakeoff predict` for a run of one bake-off per group: each row scored by its group's own
model (`per_group`), by the pooled model (`pooled`), or as the run recommends (`recommended`).
A row of a group with no model of its own (too small, skipped, new) gets the pooled model.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bakeoff.errors import ConfigError, DataError
from bakeoff.tasks.tabular.group_job import PER_GROUP, POOLED

MODEL_COLUMN = "model"  # which model scored the row: "<group's candidate>" or "pooled"


def score_groups(run_dir: Path, candidate: str, frame: pd.DataFrame, result: dict) -> tuple[pd.DataFrame, list[str]]:
    """The rows with `prediction` (and probabilities) from their group's model, and notes."""
    from bakeoff.tasks.tabular.predict import load_model

    name = result.get("recommended") if candidate == "recommended" else candidate
    if name not in (PER_GROUP, POOLED):
        raise ConfigError(f"run {run_dir.name} is one bake-off per group: predict with per_group (each group's own "
                          f"model), pooled (one model of all groups) or recommended ({result.get('recommended')})")
    pooled = load_model(run_dir, POOLED)
    notes = pooled.surprises(frame)
    if name == POOLED:
        return pooled.score(frame).assign(**{MODEL_COLUMN: POOLED}), notes
    from bakeoff.tasks.tabular.group_job import group_keys

    by = result["provenance"]["groups"]["by"]
    missing = [c for c in by if c not in frame.columns]
    if missing:
        raise DataError(f"the rows have no {missing[0]!r} column; each group's model is found by "
                        f"{', '.join(by)}: add the column(s), or predict with pooled")
    keys = group_keys(frame, by)
    models = _group_models(run_dir, result, set(keys))
    pieces, pooled_rows = [], 0
    for key, rows in frame.groupby(keys.to_numpy(), sort=False):
        bundle = models.get(key)
        if bundle is None:
            pooled_rows += len(rows)
            pieces.append(pooled.score(rows).assign(**{MODEL_COLUMN: POOLED}))
        else:
            pieces.append(bundle.score(rows).assign(**{MODEL_COLUMN: bundle.name}))
    if pooled_rows:
        notes.append(f"{pooled_rows:,} row(s) of groups without a model of their own (too small, skipped or new) "
                     "are scored by the pooled model")
    return pd.concat(pieces).loc[frame.index], notes


def _group_models(run_dir: Path, result: dict, keys: set[str]) -> dict:
    """The chosen model of each group in `keys` that has one, from group_models.parquet (only
    files whose sha256 the run recorded are read)."""
    import pyarrow.dataset as ds

    from bakeoff.core.runstore import sha256
    from bakeoff.tasks.tabular.bundle import loads_bundle
    from bakeoff.tasks.tabular.grouped import MODELS

    recorded = result["provenance"]["groups"].get("models_sha256", {})
    files = sorted((run_dir / MODELS).rglob("*.parquet"))
    for path in files:
        relative = path.relative_to(run_dir).as_posix()
        if recorded.get(relative) != sha256(path.read_bytes()):
            raise ConfigError(f"{relative} does not match the sha256 recorded in its run's result.json, so it was "
                              "changed or replaced after the run; bakeoff will not load it: run the card again")
    if not files:
        return {}
    table = ds.dataset([str(p) for p in files], format="parquet").to_table(
        columns=["group", "model"], filter=ds.field("group").isin(sorted(keys)))
    return {group: loads_bundle(model) for group, model in zip(table["group"].to_pylist(), table["model"].to_pylist())}
