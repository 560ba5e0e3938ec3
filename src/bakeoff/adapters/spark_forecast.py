"""A forecast card on Apache Spark: the series are spread over partitions by a hash of their id,
and each partition runs the ladder, the evaluation and the per-series choice where it lies
(`applyInPandas` calling `bakeoff.tasks.forecast.partition.run_partition`).

Spark schedules the partitions; the driver holds only the summary per candidate (a few rows).
The per-series scores, the choice and the forecasts are written by Spark as Parquet into the
run folder, never collected. A model across all series (rung 3) needs them all in one place:
it is not run on Spark, and the result says so.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from bakeoff.core.card import Card
from bakeoff.errors import DataError
from bakeoff.tasks.forecast.predict import SPARK_FORECASTS as FORECASTS

SCORES, CHOICE = "scores.parquet", "selection.parquet"
SAMPLE_SERIES = 20  # series the driver reads to infer the frequency when the card names none


def bake_on_spark(card: Card, *, out: Path | None = None, observer=None, command: list[str] | None = None,
                  track: bool = True, say=lambda line: None):
    """Run the card's bake-off on Spark; the run folder as `bakeoff run` writes it (result.json,
    card.json) with the Parquet outputs beside it. `say(line)` is told what happens (`observer`,
    the local race's, has nothing to watch here: Spark schedules the work)."""
    from bakeoff.core.bake import BakeOutcome, check_outputs
    from bakeoff.core.job_run import finish_job, staging_folder
    from bakeoff.core.runstore import new_run_id

    started = time.time()
    check_outputs(card, out, track)
    candidates, notes = _candidates(card)
    run_dir = Path(out or card.base_dir) / "runs" / new_run_id()
    staging = staging_folder(run_dir)
    frequency, summary, spread = _run_job(card, candidates, staging, started, say)
    result = _result(run_dir.name, card, candidates, frequency, summary, spread, notes, command, started)
    tracked = finish_job(result, staging, run_dir, card, track)
    outputs = {"choice": f"{run_dir / CHOICE} (per series: chosen, its score, the best)",
               "forecasts": f"{run_dir / FORECASTS} (bakeoff predict {result.run_id} recommended)"}
    return BakeOutcome(tracked, run_dir, outputs, "series")


def _run_job(card: Card, candidates: list[type], staging: Path, started: float, say) -> tuple[str, list[dict], dict]:
    """The Spark job: every partition forecast, its outputs written under `staging` (removed if
    anything fails); the frequency used, the summary per candidate and the spread of its scores."""
    from bakeoff.adapters.spark import read_source, session
    from bakeoff.core.runstore import store_dir

    spark = session(card.engine, store_dir(card) / "spark.log")
    long = _long_rows(read_source(spark, card.data.source, card.base_dir), card)
    frequency = _frequency(long, card)
    plan = _plan(card, candidates, frequency, started)
    parts = card.engine.partitions or max(spark.sparkContext.defaultParallelism * 4, 1)
    if "spark.sql.shuffle.partitions" not in card.engine.conf:
        spark.conf.set("spark.sql.shuffle.partitions", str(parts))  # one task per group, not 200 mostly empty
    say(f"{card.problem.name}: forecast on Spark ({card.engine.master or 'local[*]'}), {parts} partitions of "
        f"series, {len(candidates)} candidates, {plan.seconds:g} s each per partition")
    rows = _forecast_partitions(long, plan, parts).persist()
    try:
        summary = _summary(rows)  # one pass over every partition: the cache is whole before the writes
        _refused(summary)
        summary = [s for s in summary if s["candidate"]]
        spread = _spread(rows, [c.name for c in candidates], _reference(summary))
        _write_outputs(rows, staging, card)
        return frequency, summary, spread
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        rows.unpersist()


def _candidates(card: Card) -> tuple[list[type], list[str]]:
    """The card's ladder without the models across all series, and a note naming them."""
    from bakeoff.core.bake import ladder_of
    from bakeoff.tasks import task_for

    ladder = ladder_of(card, task_for(card.problem.task))
    kept = [c for c in ladder if getattr(c, "local", True)]
    left = [c.name for c in ladder if c not in kept]
    notes = [f"not run on Spark: {', '.join(left)} (one model across all series needs every series in one "
             "place; run it with [engine] kind = \"local\", on a sample of the series if need be)"] if left else []
    if not kept:
        raise DataError(f"no candidate of the ladder runs on Spark ({', '.join(left)} learn across all series); "
                        "add per-series candidates to [ladder] only")
    from bakeoff.adapters.spark import ship_by_value

    ship_by_value(kept)
    return kept, notes


def _long_rows(frame, card: Card):
    """The card's columns as (id, time, value); several key columns joined by "/"."""
    from pyspark.sql import functions as F

    from bakeoff.tasks.forecast.data import KEY_JOIN, check_columns, key_columns

    check_columns(card, list(frame.columns))
    keys = key_columns(card)
    key = F.concat_ws(KEY_JOIN, *[F.col(k).cast("string") for k in keys]) if len(keys) > 1 else F.col(keys[0])
    return frame.select(key.cast("string").alias("id"), F.col(card.data.time).alias("time"),
                        F.col(card.data.target).alias("value"))


def _frequency(long, card: Card) -> str:
    """The card's frequency, or the one a few series show (every partition must use the same)."""
    if card.forecast.frequency:
        return card.forecast.frequency
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegralType

    from bakeoff.tasks.forecast.data import STEP, series_from

    if isinstance(long.schema["time"].dataType, IntegralType):
        return ""  # whole-number steps: every partition finds them itself
    ids = [row["id"] for row in long.select("id").limit(SAMPLE_SERIES * 50).distinct().limit(SAMPLE_SERIES).collect()]
    sample = long.filter(F.col("id").isin(ids)).toPandas()
    found = series_from(sample, card, "").frequency if not sample.empty else ""
    return "" if found == STEP else found  # whole-number steps: every partition finds them itself


def _plan(card: Card, candidates: list[type], frequency: str, started: float):
    from bakeoff.tasks.forecast.partition import PartitionPlan

    return PartitionPlan(card, tuple(candidates), frequency, card.budget.per_candidate_seconds,
                         started + card.budget.total_seconds)


def _forecast_partitions(long, plan, parts: int):
    """Every partition's rows (a row per series and candidate), with the partition's number."""
    from pyspark.sql import functions as F

    from bakeoff.tasks.forecast.partition import run_partition

    def forecast(frame):
        return run_partition(frame.drop(columns="part"), plan).assign(part=int(frame["part"].iloc[0]))

    schema = ", ".join(f"{name} {kind}" for name, kind in [*plan.columns(), ("part", "int")])
    spread = long.withColumn("part", F.pmod(F.xxhash64("id"), F.lit(parts)).cast("int"))
    return spread.groupBy("part").applyInPandas(forecast, schema)


def _refused(summary: list[dict]) -> None:
    """DataError with a partition's refusal (duplicate times, gaps, short series …)."""
    from bakeoff.tasks.forecast.partition import REFUSED

    refused = [s["error"] for s in summary if s["status"] == REFUSED]
    if refused:
        raise DataError(min(refused))


def _write_outputs(rows, folder: Path, card: Card) -> None:
    """Per series and candidate its scores; per series its choice; the chosen forecasts, one
    row per series and step: each partitioned as the job was (`part`)."""
    from pyspark.sql import functions as F

    from bakeoff.tasks.forecast.fitting import level_label

    folder.mkdir(parents=True, exist_ok=True)
    columns = ["part", "id", "candidate", "status", "error", "cv_score", "holdout_score"]
    rows.select(*columns).write.partitionBy("part").parquet(str(folder / SCORES))
    chosen = rows.filter("chosen").select("part", "id", F.col("candidate").alias("chosen"),
                                          F.col("cv_score").alias("chosen_score"),
                                          F.col("holdout_score").alias("chosen_holdout"), "best", "best_score")
    chosen.write.partitionBy("part").parquet(str(folder / CHOICE))
    bounds = [f"{side}_{level_label(level)}" for level in card.forecast.level for side in ("lo", "hi")]
    steps = rows.filter("chosen").select("part", "id", F.col("label").alias("candidate"),
                                         F.posexplode("times").alias("step", "time"), "prediction", *bounds)
    steps = steps.select("part", "id", "time", "candidate", F.col("prediction")[F.col("step")].alias("prediction"),
                         *[F.col(b)[F.col("step")].alias(b) for b in bounds])
    steps.write.partitionBy("part").parquet(str(folder / FORECASTS))


def _reference(summary: list[dict]) -> str | None:
    """The candidate with the lowest mean error among those that finished every series."""
    totals: dict[str, int] = {}
    for s in summary:
        totals[s["candidate"]] = totals.get(s["candidate"], 0) + s["series"]
    whole = [s for s in summary if s["status"] == "ok" and s["series"] == totals[s["candidate"]]]
    return min(whole, key=lambda s: s["score"])["candidate"] if whole else None


def _spread(rows, names: list[str], reference: str | None) -> dict[str, dict]:
    """Per candidate: the standard deviation of its scores over the series it finished, and the
    mean, standard deviation and count of its paired differences to `reference` (series by series)."""
    from pyspark.sql import functions as F

    if reference is None:
        return {}
    wide = rows.filter("status = 'ok'").groupBy("id").pivot("candidate", names).agg(F.first("cv_score"))
    base, figures = F.col(f"`{reference}`"), []
    for name in names:
        own = F.col(f"`{name}`")
        figures += [F.stddev(own).alias(f"{name}|sd"), F.avg(own - base).alias(f"{name}|diff"),
                    F.stddev(own - base).alias(f"{name}|diff_sd"), F.count(own - base).alias(f"{name}|paired")]
    found = wide.agg(*figures).collect()[0].asDict()
    return {name: {key: found[f"{name}|{key}"] for key in ("sd", "diff", "diff_sd", "paired")} for name in names}


def _summary(rows) -> list[dict]:
    """Per candidate and status: series, their mean scores, its seconds, the series it won (and
    a row per kind of refusal, with candidate "")."""
    from pyspark.sql import functions as F

    grouped = rows.groupBy("candidate", "rung", "status").agg(
        F.count("*").alias("series"), F.avg("cv_score").alias("score"), F.avg("holdout_score").alias("holdout"),
        F.sum("seconds").alias("seconds"), F.sum(F.col("chosen").cast("int")).alias("wins"),
        F.first("error", ignorenulls=True).alias("error"))
    return [row.asDict() for row in grouped.collect()]


def _result(run_id: str, card: Card, candidates: list[type], frequency: str, summary: list[dict], spread: dict,
            notes: list[str], command: list[str] | None, started: float):
    from bakeoff.core.provenance import collect
    from bakeoff.core.result import CandidateResult, RunResult
    from bakeoff.tasks.forecast.data import seasons_of
    from bakeoff.tasks.forecast.spark_summary import candidate_rows, normal_interval, verdict

    seasons = tuple(card.forecast.seasons or seasons_of(frequency))
    params = {c.name: c(seasons=seasons).learned_per_series() for c in candidates}
    rows = candidate_rows(params, summary, {c.name: c for c in candidates})
    for row in rows:
        figures = spread.get(row["name"])
        if figures and row.get("score") is not None:
            finished = sum(s["series"] for s in summary if s["candidate"] == row["name"] and s["status"] == "ok")
            row["score_ci"] = normal_interval(row["score"], figures["sd"], finished)
            row["diff_ci"] = normal_interval(figures["diff"], figures["diff_sd"], figures["paired"])
    best, recommended, reason = verdict(rows, card.evaluate.tolerance)
    series = sum(s["series"] for s in summary if s["candidate"] == candidates[0].name)
    wins = {s["candidate"]: s["wins"] for s in summary if s["wins"]}
    notes = [*notes, f"series won per candidate: {', '.join(f'{n} {w:,}' for n, w in sorted(wins.items(), key=lambda x: -x[1]))}"
             if wins else "no candidate finished on any series",
             "on Spark the intervals over series are the normal approximation (the mean over the series each "
             "candidate finished, 1.96 standard errors either side), not the bootstrap of the local engine"]
    provenance = collect(card.base_dir, "", series, 3, card.evaluate.seed, command)
    provenance["engine"] = {"kind": "spark", "master": card.engine.master or "local[*]",
                            "seconds": round(time.time() - started, 3)}
    return RunResult(run_id, card.problem.name, card.problem.question, "forecast", card.evaluate.metric, False,
                     card.evaluate.tolerance, True, [], series, series, [CandidateResult(**r) for r in rows],
                     best, recommended, reason, notes, str(card.base_dir), provenance, {"total": 0})
