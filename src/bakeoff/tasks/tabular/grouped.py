"""A tabular card with `[data] group_by`: one bake-off per group, on the local engine (worker
processes, each given a share of the groups) or on Spark (`bakeoff.adapters.spark_groups`).

First the pooled bake-off (one model of every group's rows, the group columns among its
features) runs here; its model goes to every group, which scores it on its own holdout beside
its own choice (`bakeoff.tasks.tabular.group_job`). The run folder holds, as Parquet
partitioned by the job's part of the groups: per group and candidate its scores
(`group_scores.parquet`), per group its choice (`group_choices.parquet`) and its chosen model
(`group_models.parquet`); the pooled model is `models/pooled.pkl`.

Example (a script; the local engine starts worker processes)::

    from bakeoff.core.card import load_card
    from bakeoff.tasks.tabular.grouped import bake_groups

    outcome = bake_groups(load_card("stores.toml"))
    print(outcome.result.recommended, outcome.run_dir / "group_choices.parquet")
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from bakeoff.core.card import Card
from bakeoff.errors import DataError
from bakeoff.tasks.tabular.group_job import (
    GROUP,
    POOLED,
    GroupPlan,
    bake_group,
    group_keys,
    pooled_plan,
    run_groups,
)

SCORES, CHOICES, MODELS = "group_scores.parquet", "group_choices.parquet", "group_models.parquet"


@dataclass
class GroupJob:
    """What the driver keeps of a grouped job: a row per group (its choice, no model), the
    pooled bake-off, and the data's fingerprint and notes."""

    choices: pd.DataFrame
    scores: pd.DataFrame  # per candidate and status: groups, mean scores, seconds, wins (a few rows)
    pooled: object  # group_job.Baked
    rows: int
    sha256: str
    notes: list[str] = field(default_factory=list)
    pooled_rows: int = 0
    columns: int = 0
    model_files: dict[str, str] = field(default_factory=dict)  # sha256 of each file of group_models.parquet


def bake_groups(card: Card, *, out: Path | None = None, observer=None, command: list[str] | None = None,
                track: bool = True, say=lambda line: None):
    """Run the card's bake-off per group; the run folder as `bakeoff run` writes it (result.json,
    card.json, the pooled model) with the Parquet outputs beside it."""
    from bakeoff.core.bake import BakeOutcome, check_outputs, ladder_of
    from bakeoff.core.job_run import finish_job, staging_folder
    from bakeoff.core.runstore import new_run_id, write_atomic
    from bakeoff.tasks.tabular.group_summary import group_result
    from bakeoff.tasks.tabular.task import TABULAR

    started = time.time()
    check_outputs(card, out, track)
    candidates = tuple(ladder_of(card, TABULAR))
    plan = GroupPlan(card, candidates, card.budget.per_candidate_seconds, started + card.budget.total_seconds,
                     resamples=min(card.evaluate.bootstrap, 200))
    run_dir = Path(out or card.base_dir) / "runs" / new_run_id()
    staging = staging_folder(run_dir)
    try:
        if card.engine.kind == "spark":
            from bakeoff.adapters.spark_groups import run_on_spark

            job = run_on_spark(card, plan, staging, say)
        else:
            job = _run_locally(card, plan, staging, say)
        _write_pooled(job.pooled, staging)
        job.model_files = model_digests(staging)
        write_atomic(staging / "facts.json", json.dumps(group_facts(job.choices, card), indent=1))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    result = group_result(run_dir.name, card, job, command, started)
    tracked = finish_job(result, staging, run_dir, card, track)
    outputs = {"choice": f"{run_dir / CHOICES} (per group: its model, its score, the pooled model's)",
               "scores": f"{run_dir / SCORES} (per group and candidate)",
               "predict": f"bakeoff predict {result.run_id} {result.recommended or 'per_group'} rows.csv -o scored.csv"}
    return BakeOutcome(tracked, run_dir, outputs, "groups")


def bake_pooled(frame: pd.DataFrame, plan: GroupPlan):
    """The pooled bake-off: every group's rows, the group columns among the features."""
    return bake_group("(all groups)", frame.reset_index(drop=True), pooled_plan(plan), pooled_run=True)


def check_columns(card: Card, columns) -> None:
    """DataError naming the first group_by column (or the target) the data does not have."""
    from bakeoff.core.source import suggest

    names = [str(c) for c in columns]
    for key, name in [*[("group_by", g) for g in card.data.groups], ("target", card.data.target)]:
        if name not in names:
            raise DataError(f"[data] {key} column {name!r} is not in the data; {suggest(name, names)}")


def keyed_rows(card: Card, loaded) -> pd.DataFrame:
    """The card's rows with their group key (`GROUP`); DataError when a column is missing."""
    check_columns(card, loaded.frame.columns)
    return loaded.frame.assign(**{GROUP: group_keys(loaded.frame, card.data.groups)})


def _run_locally(card: Card, plan: GroupPlan, staging: Path, say) -> GroupJob:
    """The groups on this machine: the pooled bake-off here, the groups in worker processes."""
    from bakeoff.core.source import load_frame

    loaded = load_frame(card.data.source, card.base_dir)
    frame = keyed_rows(card, loaded)
    say(f"{card.problem.name}: {frame[GROUP].nunique():,} groups of {card.data.target} by "
        f"{', '.join(card.data.groups)}, {len(frame):,} rows; first the pooled bake-off of all rows")
    pooled = bake_pooled(frame.drop(columns=GROUP), plan)
    plan = replace(plan, pooled=pooled.holdout_model)
    rows = _map_groups(frame, plan, card, say)
    rows["part"] = rows["group"].map(part_of(_parts(card, rows["group"].nunique())))
    choices = choices_of(rows)
    _write_local(rows, choices, staging)
    return GroupJob(choices, candidate_summary(rows), pooled, len(frame), loaded.sha256,
                    list(loaded.notes), len(frame), columns=loaded.frame.shape[1])


def _parts(card: Card, groups: int) -> int:
    return card.engine.partitions or max(1, min(groups, _workers(card) * 4))


def _workers(card: Card) -> int:
    return card.budget.workers or min(2, os.cpu_count() or 1)


def part_of(parts: int):
    """The part a group's outputs are written to: a stable hash of its key."""
    return lambda key: zlib.crc32(str(key).encode()) % parts


def _map_groups(frame: pd.DataFrame, plan: GroupPlan, card: Card, say) -> pd.DataFrame:
    """Every group's rows baked: in this process with one worker, else spread over a pool."""
    workers, groups = _workers(card), frame[GROUP].nunique()
    if workers == 1 or groups == 1:
        return run_groups(frame, plan)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    parts = _parts(card, groups)
    chunks = [chunk for _, chunk in frame.groupby(frame[GROUP].map(part_of(parts)), sort=True)]
    done, out = 0, []
    with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_ready, initargs=(card,)) as pool:
        futures = {pool.submit(run_groups, chunk, plan): chunk[GROUP].nunique() for chunk in chunks}
        for future in as_completed(futures):
            out.append(future.result())
            done += futures[future]
            say(f"groups: {done:,} of {groups:,} done")
    return pd.concat(out, ignore_index=True).sort_values(["group", "candidate"], kind="stable", ignore_index=True)


def _worker_ready(card: Card) -> None:
    """A worker imports what the groups need once, the card's own candidates among it."""
    from bakeoff.core.bake import ladder_of
    from bakeoff.tasks.tabular.task import TABULAR

    ladder_of(card, TABULAR)


def _write_local(rows: pd.DataFrame, choices: pd.DataFrame, folder: Path) -> None:
    """The three Parquet outputs, partitioned by part, as Spark writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen = rows[rows["chosen"] & rows["model"].notna()]
    chosen[["part", "group", "candidate", "model"]].to_parquet(folder / MODELS, partition_cols=["part"], index=False)
    rows.drop(columns="model").to_parquet(folder / SCORES, partition_cols=["part"], index=False)
    choices.to_parquet(folder / CHOICES, partition_cols=["part"], index=False)


CHOICE_COLUMNS = ["part", "group", "chosen", "rung", "status", "rows", "held_out", "cv_score", "holdout_score",
                  "pooled_holdout", "error"]


def choices_of(rows: pd.DataFrame) -> pd.DataFrame:
    """A row per group: its chosen candidate ("pooled" for a group too small for the folds) and
    its scores; a group where nothing finished has no choice and says why."""
    chosen = rows[rows["chosen"]].drop(columns="chosen").rename(columns={"candidate": "chosen"})
    rest = rows[~rows["group"].isin(chosen["group"])]
    unchosen = rest.groupby("group", sort=True).agg(
        part=("part", "first"), rows=("rows", "first"), held_out=("held_out", "first"),
        pooled_holdout=("pooled_holdout", "first"),
        status=("status", lambda s: "skipped" if (s == "skipped").any() else "failed"),
        error=("error", "first")).reset_index()
    out = pd.concat([chosen, unchosen], ignore_index=True)
    return out.reindex(columns=CHOICE_COLUMNS).sort_values("group", ignore_index=True)


def candidate_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per candidate and status: groups, mean scores, seconds, groups won (what Spark computes
    with the same names in `bakeoff.adapters.spark_groups`)."""
    return rows.groupby(["candidate", "rung", "status"], as_index=False, dropna=False).agg(
        groups=("group", "count"), score=("cv_score", "mean"), holdout=("holdout_score", "mean"),
        seconds=("seconds", "sum"), wins=("chosen", "sum"), error=("error", "first"))


REPORT_GROUPS = 50  # groups the report lists (the largest)


def group_facts(choices: pd.DataFrame, card: Card) -> dict:
    """What the report shows of a grouped run: the largest groups' choices and scores."""
    from bakeoff.tasks.tabular.facts import FACTS_VERSION

    shown = choices.sort_values(["rows", "group"], ascending=[False, True]).head(REPORT_GROUPS)
    rows = [{key: (None if pd.isna(value) else value.item() if hasattr(value, "item") else value)
             for key, value in row.items() if key != "part"} for row in shown.to_dict("records")]
    return {"version": FACTS_VERSION, "groups": {"by": card.data.groups, "count": int(len(choices)), "rows": rows}}


def model_digests(folder: Path) -> dict[str, str]:
    """The sha256 of each file holding the groups' models (by path in the run folder): loading a
    model runs code, so `bakeoff predict` loads none from a file changed since the run."""
    from bakeoff.core.runstore import sha256

    return {path.relative_to(folder).as_posix(): sha256(path.read_bytes())
            for path in sorted((folder / MODELS).rglob("*.parquet"))}


def _write_pooled(pooled, folder: Path) -> None:
    from bakeoff.core.runstore import model_file, write_atomic

    if pooled.final_model is not None:
        write_atomic(folder / model_file(POOLED), pooled.final_model)
