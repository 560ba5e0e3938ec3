"""One tabular bake-off per group of rows (`[data] group_by`), run where the rows lie: a worker
of the local engine or a Spark task (`bakeoff.tasks.tabular.grouped`).

Pure pandas and numpy, and the tabular task's own functions (its data checks, folds, metrics,
tie rule), so a group gets the same scores and the same choice on either engine. Per group:
every candidate with its default settings, cross-validated on the group's training part,
scored on its holdout, the simplest as good as the best chosen and refitted on all the group's
rows. The pooled model (one model of every group's training rows, fitted on the driver) is
scored on each group's holdout beside it. A group too small for the folds gets the pooled
model. Each candidate has `seconds` per group (a timer stops it: `timeout`); one that raises is
`failed` for that group; groups reached after the job's `deadline` are `skipped`.
"""

from __future__ import annotations

import hashlib
import pickle
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from bakeoff.core.card import Card
from bakeoff.core.metrics import Metric, fold_bootstrap, paired_intervals, split_aware_interval
from bakeoff.core.select import Contender, Tolerance, recommend
from bakeoff.core.time_limit import OutOfTime, attempt, time_limit
from bakeoff.errors import DataError

GROUP = "_bakeoff_group"  # the column holding each row's group key (the group_by values joined by "/")
KEY_JOIN = "/"
POOLED = "pooled"  # the candidate name of the model of all groups (models/pooled.pkl)
PER_GROUP = "per_group"  # the recommendation of each group's own model
SMALL, SKIPPED = "small", "skipped"  # a group's status when it has no bake-off of its own


@dataclass(frozen=True)
class GroupPlan:
    """What every group is told: the card, the candidates (classes: shipped to the executors),
    the seconds each candidate may take per group, the job's deadline (epoch seconds), and the
    pooled model fitted on every group's training part (a pickled ModelBundle), if any."""

    card: Card
    candidates: tuple[type, ...]
    seconds: float
    deadline: float
    pooled: bytes | None = None
    resamples: int = 200

    def columns(self) -> list[tuple[str, str]]:
        """The output's columns and their Spark SQL types: a row per group and candidate."""
        return [("group", "string"), ("candidate", "string"), ("rung", "int"), ("status", "string"),
                ("error", "string"), ("rows", "long"), ("held_out", "long"), ("cv_score", "double"), ("cv_low", "double"),
                ("cv_high", "double"), ("holdout_score", "double"), ("pooled_holdout", "double"),
                ("n_params", "long"), ("seconds", "double"), ("chosen", "boolean"), ("model", "binary")]


@dataclass
class Baked:
    """One group's (or the pooled) bake-off: its result rows, the chosen candidate, and the
    chosen model fitted on every row and (the pooled one's) on the training part, as pickled
    ModelBundles."""

    rows: list[dict]
    chosen: str | None = None
    holdout_model: bytes | None = None
    final_model: bytes | None = None


def group_keys(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Each row's group: the `columns`' values as text, joined by "/".

    >>> group_keys(pd.DataFrame({"store": [1, 2], "dept": ["a", "b"]}), ["store", "dept"]).tolist()
    ['1/a', '2/b']
    """
    text = [frame[c].astype(str) for c in columns]
    key = text[0]
    for part in text[1:]:
        key = key + KEY_JOIN + part
    return key.rename(GROUP)


def held_out(frame: pd.DataFrame, share: float, seed: int) -> np.ndarray:
    """Which rows are held out: a seeded hash of each row's values below `share`. A row is held
    out or not whatever group it is read with and in whatever order, so the pooled model never
    learns a row that a group's holdout scores it on.

    >>> frame = pd.DataFrame({"x": range(10_000)})
    >>> round(float(held_out(frame, 0.2, 0).mean()), 2), bool((held_out(frame[::-1], 0.2, 0)[::-1] == held_out(frame, 0.2, 0)).all())
    (0.2, True)
    """
    return (row_hash(frame, seed) % np.uint64(1_000_003)).astype(float) / 1_000_003 < share


def row_hash(frame: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """A seeded hash of each row's values (uint64): the same for the same values in any process,
    on either engine (whole numbers are hashed as 64-bit, as pandas reads them and Spark may not)."""
    wide = frame.apply(lambda c: c.astype("int64") if pd.api.types.is_integer_dtype(c) and not c.isna().any() else c)
    return pd.util.hash_pandas_object(wide, index=False, hash_key=f"bakeoff-{seed:09d}"[-16:]).to_numpy()


def in_row_order(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows in an order of their values alone (Spark hands a group's rows over in any order;
    the folds are drawn by position)."""
    return frame.iloc[np.argsort(row_hash(frame), kind="stable")].reset_index(drop=True)


def run_groups(frame: pd.DataFrame, plan: GroupPlan) -> pd.DataFrame:
    """Rows (group, candidate, …) for the groups in `frame` (its `GROUP` column names them)."""
    columns = [name for name, _ in plan.columns()]
    rows = []
    for key, group in frame.groupby(GROUP, sort=True):
        rows.extend(bake_group(str(key), group.drop(columns=GROUP).reset_index(drop=True), plan).rows)
    return pd.DataFrame(rows, columns=columns)


def bake_group(key: str, frame: pd.DataFrame, plan: GroupPlan, *, pooled_run: bool = False) -> Baked:
    """The bake-off of one group's rows (or, with `pooled_run`, of every group's: the group
    columns are then features)."""
    card = plan.card
    if time.time() > plan.deadline:
        return Baked([_row(key, "", 0, SKIPPED, len(frame), error="the job's [budget] total had run out")])
    try:
        dataset = _dataset(in_row_order(frame), card, pooled_run)
    except DataError as err:
        if pooled_run:
            raise
        reason = str(err).split("; ")[0]  # the data's fault, not the card's: its advice is for a whole table
        return Baked([_row(key, POOLED, 0, SMALL, len(frame), error=reason, chosen=True)])
    from bakeoff.tasks.tabular.metrics import get_metric

    metric = get_metric(card.evaluate.metric, card.problem.task)
    runs = {cls.name: _run(cls, dataset, metric, plan) for cls in plan.candidates}
    chosen = _choose(runs, metric, card)
    pooled = None if pooled_run else _pooled_score(plan.pooled, dataset, metric)
    baked = Baked([], chosen)
    if chosen is not None:
        if pooled_run:  # what the groups score the pooled model with: it never saw their holdout rows
            baked.holdout_model = _bundle(chosen, runs[chosen]["fitted"], dataset, card)
        baked.final_model = _bundle(chosen, _refit(runs[chosen], dataset, plan), dataset, card)
    for name, run in runs.items():
        baked.rows.append(_row(
            key, name, run["rung"], run["status"], len(frame), held_out=len(dataset.holdout_index),
            error=run["error"], cv_score=run.get("cv"),
            cv_low=run.get("low"), cv_high=run.get("high"), holdout_score=run.get("holdout"),
            pooled_holdout=pooled, n_params=run.get("n_params"), seconds=run["seconds"], chosen=name == chosen,
            model=baked.final_model if name == chosen else None))
    return baked


def _row(key: str, candidate: str, rung: int, status: str, rows: int, **figures) -> dict:
    return {"group": key, "candidate": candidate, "rung": rung, "status": status, "rows": rows, "held_out": None,
            "chosen": False, **figures}


def _dataset(frame: pd.DataFrame, card: Card, pooled_run: bool):
    """The group's rows as a split Dataset; within one group its group columns say nothing."""
    from bakeoff.core.source import Loaded
    from bakeoff.tasks.tabular.data import prepare

    drop = card.data.drop if pooled_run else [*card.data.drop, *card.data.groups]
    own = card.model_copy(update={"data": card.data.model_copy(update={"drop": drop, "group_by": ""})})
    return prepare(own, Loaded(frame, "", []),
                   holdout=lambda usable: held_out(usable, card.evaluate.holdout, card.evaluate.seed))


def _run(cls: type, dataset, metric: Metric, plan: GroupPlan) -> dict:
    """One candidate on one group: its cross-validated score with interval, its holdout score
    and the model fitted on the training part; or why not."""
    from bakeoff.tasks.tabular.evaluate import _holdout_score, cross_validate

    card = plan.card
    candidate = cls(task=dataset.task, seed=card.evaluate.seed, n_classes=len(dataset.classes),
                    class_names=tuple(dataset.classes))
    run = {"rung": cls.rung, "status": "ok", "error": None, "candidate": candidate}
    def work():
        oof, _, score = cross_validate(candidate, dataset, metric)
        if not np.isfinite(score):
            raise ValueError(f"its {metric.name} is undefined on this group's folds")
        fitted = candidate.fit(dataset.X_train, dataset.y_train)
        return oof, score, fitted, _holdout_score(fitted, dataset, metric)

    began = time.perf_counter()
    done, failure = attempt(work, plan.seconds, "this group")
    seconds = time.perf_counter() - began
    if failure:
        return {**run, **failure, "seconds": seconds}
    oof, score, fitted, holdout = done
    validation = [val for _, val in dataset.folds]
    boot = fold_bootstrap(metric, dataset.y_train, oof, validation, plan.resamples, card.evaluate.seed)
    low, high = split_aware_interval(boot, [float(metric.score(dataset.y_train[v], oof[v])) for v in validation])
    return {**run, "cv": float(score), "boot": boot, "low": _finite(low), "high": _finite(high),
            "holdout": _finite(holdout), "fitted": fitted, "n_params": int(fitted.n_params), "seconds": seconds}


def _finite(value) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _choose(runs: dict[str, dict], metric: Metric, card: Card) -> str | None:
    """The simplest candidate as good as the best (the tabular tie rule), among those that finished."""
    done = {name: run for name, run in runs.items() if run["status"] == "ok"}
    if not done:
        return None
    sign = 1 if metric.higher_is_better else -1
    best = max(done, key=lambda n: (sign * done[n]["cv"], -done[n]["rung"], -done[n]["n_params"]))
    diffs = paired_intervals({n: r["boot"] for n, r in done.items()}, best)
    contenders = [Contender(n, r["rung"], r["n_params"], r["cv"], diffs[n].diff_ci, 0.0, 0.0, 0, False)
                  for n, r in done.items()]
    return recommend(contenders, Tolerance(card.evaluate.tolerance, metric.relative), metric.higher_is_better).name


def _refit(run: dict, dataset, plan: GroupPlan):
    """The chosen model fitted on every row of the group (training part and holdout), as the
    card's `refit` asks; the training part's model when the refit overruns its seconds."""
    if plan.card.evaluate.refit != "all" or not len(dataset.holdout_index):
        return run["fitted"]
    try:
        with time_limit(plan.seconds):
            return run["candidate"].fit(dataset.X, dataset.y)
    except OutOfTime:
        return run["fitted"]


def _bundle(name: str, fitted, dataset, card: Card) -> bytes:
    from bakeoff.tasks.tabular.bundle import ModelBundle
    from bakeoff.tasks.tabular.schema import boolean_columns, category_levels

    bundle = ModelBundle(name, dataset.task, fitted, dataset.schema, dataset.classes, card.data.target,
                         category_levels(dataset.X_train, dataset.schema), boolean_columns(dataset.raw, dataset.schema))
    return pickle.dumps(bundle, protocol=pickle.HIGHEST_PROTOCOL)


_POOLED_CACHE: dict[bytes, object] = {}  # the pooled model by its digest, unpickled once per process


def _pooled_score(pooled: bytes | None, dataset, metric: Metric) -> float | None:
    """The pooled model's score on this group's holdout rows (None without either)."""
    if pooled is None or not len(dataset.holdout_index):
        return None
    from bakeoff.tasks.tabular.bundle import loads_bundle

    digest = hashlib.sha256(pooled).digest()
    if digest not in _POOLED_CACHE:
        _POOLED_CACHE.clear()
        _POOLED_CACHE[digest] = loads_bundle(pooled)
    bundle = _POOLED_CACHE[digest]
    rows = dataset.raw.iloc[dataset.holdout_index]
    pred = pooled_predictions(bundle, rows, dataset.classes)
    return _finite(float(metric.score(dataset.y[dataset.holdout_index], pred)))


def pooled_predictions(bundle, rows: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """What a metric scores for the pooled model on a group's rows: values, or probabilities of
    the group's own classes (in its order: a group may lack some of the pooled classes)."""
    from bakeoff.tasks.tabular.schema import apply_schema

    X = apply_schema(rows, bundle.schema, bundle.levels, bundle.booleans)
    if bundle.task == "regression":
        return np.asarray(bundle.fitted.predict(X), float)
    proba = np.asarray(bundle.fitted.predict_proba(X), float)
    position = {label: i for i, label in enumerate(bundle.classes)}
    mine = np.column_stack([proba[:, position[c]] if c in position else np.zeros(len(rows)) for c in classes])
    total = mine.sum(axis=1, keepdims=True)
    return np.divide(mine, total, out=np.full_like(mine, 1 / len(classes)), where=total > 0)


def pooled_plan(plan: GroupPlan) -> GroupPlan:
    """The plan for the pooled bake-off on the driver: no deadline of its own (it runs first)."""
    return replace(plan, deadline=float("inf"), pooled=None)
