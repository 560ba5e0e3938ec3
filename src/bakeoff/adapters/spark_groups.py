"""A tabular card with `[data] group_by` on Apache Spark: the groups are spread over partitions by
a hash of their key, and each partition runs every group's bake-off where it lies
(`applyInPandas` calling `bakeoff.tasks.tabular.group_job.run_groups`).

The pooled model is fitted on the driver first, from every row or, past `POOLED_ROWS`, a seeded
sample of them (the result says so), and travels with the job. The driver keeps a row per group
(its choice, without its model) and a row per candidate and status; the scores, the choices and
the models are written by Spark as Parquet, never collected.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bakeoff.core.card import Card

POOLED_ROWS = 1_000_000  # rows the pooled model may learn from on the driver


def run_on_spark(card: Card, plan, staging: Path, say):
    """The grouped job on Spark; its outputs written under `staging`."""
    from pyspark.sql import functions as F

    from bakeoff.adapters.spark import read_source, session, ship_by_value
    from bakeoff.core.runstore import store_dir
    from bakeoff.tasks.tabular.group_job import GROUP, KEY_JOIN
    from bakeoff.tasks.tabular.grouped import GroupJob, bake_pooled, check_columns

    spark = session(card.engine, store_dir(card) / "spark.log")
    frame = read_source(spark, card.data.source, card.base_dir, typed=True)
    check_columns(card, frame.columns)
    ship_by_value(plan.candidates)
    rows = frame.count()
    pooled_frame, notes = _pooled_rows(frame, rows, card.evaluate.seed)
    say(f"{card.problem.name}: groups of {card.data.target} by {', '.join(card.data.groups)} on Spark "
        f"({card.engine.master or 'local[*]'}), {rows:,} rows; first the pooled bake-off of {len(pooled_frame):,} rows")
    pooled = bake_pooled(pooled_frame, plan)
    plan = replace(plan, pooled=pooled.holdout_model)
    parts = card.engine.partitions or max(spark.sparkContext.defaultParallelism * 4, 1)
    if "spark.sql.shuffle.partitions" not in card.engine.conf:
        spark.conf.set("spark.sql.shuffle.partitions", str(parts))
    key = F.concat_ws(KEY_JOIN, *[F.col(c).cast("string") for c in card.data.groups])
    spread = frame.withColumn(GROUP, key).withColumn("part", F.pmod(F.xxhash64(GROUP), F.lit(parts)).cast("int"))
    baked = _bake_partitions(spread, plan).persist()
    try:
        summary = _summary(baked)  # one pass over every partition: the cache is whole before the writes
        choices = _choices(baked).toPandas()
        _write_outputs(baked, staging)
    finally:
        baked.unpersist()
    return GroupJob(choices.sort_values("group", ignore_index=True), summary, pooled, rows, "", notes,
                    len(pooled_frame), columns=len(frame.columns))


def _pooled_rows(frame, rows: int, seed: int):
    """The rows the pooled model learns from (all, or a seeded sample), and a note when sampled."""
    if rows <= POOLED_ROWS:
        return frame.toPandas(), []
    sample = frame.sample(False, POOLED_ROWS / rows, seed).toPandas()
    return sample, [f"the pooled model learned from a sample of {len(sample):,} of the {rows:,} rows (it is fitted "
                    "on the driver)"]


def _bake_partitions(spread, plan):
    from bakeoff.tasks.tabular.group_job import run_groups

    def bake(frame):
        return run_groups(frame.drop(columns="part"), plan).assign(part=int(frame["part"].iloc[0]))

    schema = ", ".join(f"{name} {kind}" for name, kind in [*plan.columns(), ("part", "int")])
    return spread.groupBy("part").applyInPandas(bake, schema)


def _summary(baked):
    """Per candidate and status: groups, mean scores, seconds, groups won (as `candidate_summary`)."""
    from pyspark.sql import functions as F

    grouped = baked.groupBy("candidate", "rung", "status").agg(
        F.count("*").alias("groups"), F.avg("cv_score").alias("score"), F.avg("holdout_score").alias("holdout"),
        F.sum("seconds").alias("seconds"), F.sum(F.col("chosen").cast("int")).alias("wins"),
        F.first("error", ignorenulls=True).alias("error"))
    import pandas as pd

    return pd.DataFrame([row.asDict() for row in grouped.collect()],
                        columns=["candidate", "rung", "status", "groups", "score", "holdout", "seconds", "wins", "error"])


def _choices(baked):
    """A row per group (as `grouped.choices_of`): its chosen candidate, or why it has none."""
    from pyspark.sql import functions as F

    from bakeoff.tasks.tabular.grouped import CHOICE_COLUMNS

    chosen = baked.filter("chosen").drop("chosen").withColumnRenamed("candidate", "chosen")
    unchosen = baked.groupBy("part", "group").agg(
        F.max(F.col("chosen").cast("int")).alias("any_chosen"), F.first("rows").alias("rows"),
        F.first("held_out").alias("held_out"),
        F.first("pooled_holdout").alias("pooled_holdout"), F.first("error", ignorenulls=True).alias("error"),
        F.max((F.col("status") == "skipped").cast("int")).alias("any_skipped")).filter("any_chosen = 0")
    unchosen = unchosen.select(
        "part", "group", F.lit(None).cast("string").alias("chosen"), F.lit(None).cast("int").alias("rung"),
        F.when(F.col("any_skipped") == 1, "skipped").otherwise("failed").alias("status"), "rows", "held_out",
        F.lit(None).cast("double").alias("cv_score"), F.lit(None).cast("double").alias("holdout_score"),
        "pooled_holdout", "error")
    return chosen.select(*CHOICE_COLUMNS).unionByName(unchosen.select(*CHOICE_COLUMNS))


def _write_outputs(baked, folder: Path) -> None:
    """The scores, the choices and the chosen models, each partitioned as the job was (`part`)."""
    from bakeoff.tasks.tabular.grouped import CHOICES, MODELS, SCORES

    folder.mkdir(parents=True, exist_ok=True)
    baked.filter("chosen AND model IS NOT NULL").select("part", "group", "candidate", "model") \
        .write.partitionBy("part").parquet(str(folder / MODELS))
    baked.drop("model").write.partitionBy("part").parquet(str(folder / SCORES))
    _choices(baked).write.partitionBy("part").parquet(str(folder / CHOICES))
