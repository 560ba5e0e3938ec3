"""A run's outcome as typed records, built once; `result.json` is their serialisation.

`CandidateResult` is one row of the scorecard, `RunResult` the whole run. Both are made from
everything they need (intervals, money, expert checks, notes, tracking ids) in one step and
never changed afterwards.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from bakeoff.core.cost import monthly_compute_cost
from bakeoff.core.jsonable import plain
from bakeoff.core.metrics import Interval, Metric, paired_intervals
from bakeoff.core.select import Contender, Tolerance, best_of, reason, recommend
from bakeoff.core.task import CandidateExtras
from bakeoff.core.units import money

SCHEMA_VERSION = 3  # 1: before it was typed (no schema_version field); 2: before models' sha256


def _finite(value):
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else value


RECOMMENDED = "recommended"  # the MLflow model of a recommendation that mixes candidates (one per series)


@dataclass(frozen=True)
class CandidateResult:
    name: str
    family: str
    rung: int
    status: str  # ok | timeout | failed | skipped
    error: str | None = None
    score: float | None = None
    score_ci: list | None = None
    holdout_score: float | None = None
    fit_seconds: float | None = None
    predict_us_per_row: float | None = None
    latency_ms_p50: float | None = None
    model_bytes: int | None = None
    n_params: int | None = None
    sql: bool | None = None
    sql_reason: str | None = None
    monthly_value: float | None = None
    monthly_cost: float | None = None
    threshold: float | None = None
    model_uri: str | None = None
    params: dict = field(default_factory=dict)
    tuning: dict | None = None
    description: str = ""
    wall_seconds: float = 0.0
    work_seconds: float | None = None  # of wall_seconds, the candidate's own fitting and scoring
    diff_ci: list | None = None  # paired interval of (this score - the best's score)
    title: str = ""
    summary: str = ""
    requires: list = field(default_factory=list)
    expectations: dict | None = None  # expert cases this candidate gets right: {right, total, ...}
    model_rows: int | None = None  # rows the saved model learned from (all rows with refit = "all")
    quick_score: float | None = None  # its quick pass: default settings on `quick_rows` sampled rows
    quick_rows: int | None = None
    remedy: str | None = None  # when it did not finish: what would let it ("raise [budget] total to 2m")
    fold_fit_rows: int | None = None  # rows each fold's model fitted on, when the budget allowed only a sample
    model_sha256: str | None = None  # of models/<name>.pkl: a file that differs is not loaded
    holdout_model_sha256: str | None = None  # of models/<name>.train.pkl, when there is one

    def contender(self) -> Contender:
        diff = tuple(math.nan if x is None else x for x in self.diff_ci or (math.nan, math.nan))
        return Contender(self.name, self.rung, self.n_params, self.score, diff, self.fit_seconds,
                         self.predict_us_per_row, self.model_bytes, bool(self.sql))


@dataclass(frozen=True)
class RunResult:
    run_id: str
    name: str
    question: str
    task: str
    metric: str
    higher_is_better: bool
    tolerance: float
    tolerance_is_relative: bool
    classes: list
    training_rows: int
    holdout_rows: int
    candidates: list[CandidateResult]
    best: str | None
    recommended: str | None
    reason: str
    notes: list[str]
    card_dir: str
    provenance: dict
    expectations: dict
    mlflow_run_id: str | None = None
    tracking_uri: str | None = None
    schema_version: int = SCHEMA_VERSION
    refit: str = "all"  # the saved models learned from "all" rows, or the "train"ing part only
    recommended_model_uri: str | None = None  # a recommendation mixing candidates (per series) as one model


    def to_dict(self) -> dict:
        """The result.json record (plain JSON values)."""
        out = dataclasses.asdict(self)
        if self.mlflow_run_id is None:  # an untracked run says nothing about MLflow
            del out["mlflow_run_id"], out["tracking_uri"]
        if self.recommended_model_uri is None:  # the recommendation is one candidate: its row has the model
            del out["recommended_model_uri"]
        return out

    def row(self, name: str) -> CandidateResult | None:
        return next((c for c in self.candidates if c.name == name), None)


def candidate_result(outcome, interval: Interval | None, extras: CandidateExtras | None,
                     business, cls: type | None) -> CandidateResult:
    """One scorecard row from a race outcome, its paired interval and the task's extras."""
    words = {"title": getattr(cls, "title", "") or outcome.name, "summary": getattr(cls, "summary", ""),
             "requires": list(getattr(cls, "requires", ()))}
    glance = outcome.glance
    words["remedy"] = outcome.remedy
    if glance is not None:
        words |= {"quick_score": _finite(glance.score), "quick_rows": glance.rows}
    ev = outcome.evaluation
    if ev is None:
        return CandidateResult(outcome.name, outcome.family, outcome.rung, outcome.status, outcome.error,
                               wall_seconds=round(outcome.wall_seconds, 2), **words)
    extras = extras or CandidateExtras()
    return CandidateResult(
        outcome.name, outcome.family, outcome.rung, outcome.status, outcome.error,
        score=_finite(ev.cv_score), holdout_score=_finite(ev.holdout_score),
        score_ci=[_finite(x) for x in interval.score_ci] if interval else None,
        diff_ci=[_finite(x) for x in interval.diff_ci] if interval else None,
        fit_seconds=round(ev.fit_seconds, 6), predict_us_per_row=round(ev.predict_us_per_row, 3),
        latency_ms_p50=round(ev.latency_ms_p50, 3), model_bytes=ev.model_bytes,
        n_params=ev.n_params, sql=ev.sql, sql_reason=ev.sql_reason,
        monthly_value=extras.monthly_value, threshold=_finite(extras.threshold),
        monthly_cost=None if business is None else round(monthly_cost(ev, business), 4),
        params={k: plain(v) for k, v in ev.tuning.params.items()},
        tuning={"trials": ev.tuning.trials, "stopped_by": ev.tuning.stopped_by},
        description=ev.description, wall_seconds=round(outcome.wall_seconds, 2),
        work_seconds=round(ev.work_seconds, 3), model_rows=ev.final_rows or None,
        fold_fit_rows=ev.fold_fit_rows or None,
        expectations=extras.expectations, **words)


def monthly_cost(evaluation, business) -> float:
    """Compute money per month for a finished candidate at the card's [business] figures."""
    return monthly_compute_cost(evaluation.predict_us_per_row, evaluation.fit_seconds,
                                business.predictions_per_month, business.compute_cost_per_hour)


def intervals(outcomes: list, metric: Metric, samples_compare: bool = True) -> dict[str, Interval]:
    """Each finished candidate's interval (as its evaluation gave it: see
    `metrics.split_aware_interval`), and its paired difference to the best's (bootstrap); unless
    `samples_compare`, the best among those evaluated on every case (see `verdict`)."""
    ok = [o for o in outcomes if o.status == "ok" and math.isfinite(o.evaluation.cv_score)]
    whole = [o for o in ok if samples_compare or not o.evaluation.fold_fit_rows]
    if not whole:
        return {}
    sign = 1 if metric.higher_is_better else -1
    reference = max(whole, key=lambda o: sign * o.evaluation.cv_score).name
    paired = paired_intervals({o.name: o.evaluation.bootstrap for o in ok}, reference)
    return {o.name: dataclasses.replace(paired[o.name], score_ci=tuple(o.evaluation.score_ci)) for o in ok}


@dataclass(frozen=True)
class Verdict:
    best: str | None
    recommended: str | None
    reason: str


def verdict(rows: list[CandidateResult], tolerance: Tolerance, metric: Metric,
            samples_compare: bool = True, unit: str = "rows") -> Verdict:
    """The best, the simplest as good as the best, and why (the tie rule of `select`). Unless
    `samples_compare`, candidates evaluated on a sample (`fold_fit_rows`: of a forecast's
    series, say, whose scores are over other series than the rest's) are left out, and the
    reason says so."""
    ranked = [r for r in rows if samples_compare or not r.fold_fit_rows]
    contenders = [r.contender() for r in ranked if r.status == "ok" and r.score is not None]
    if not contenders:
        return Verdict(None, None, "no candidate finished; see each candidate's error")
    best = best_of(contenders, metric.higher_is_better)
    chosen = recommend(contenders, tolerance, metric.higher_is_better)
    reason = _full_reason(ranked, chosen, best, tolerance, metric)
    left_out = [f"{r.name} ({r.fold_fit_rows:,} {unit})" for r in rows if r not in ranked and r.status == "ok"]
    if left_out:
        reason += f"; not compared, as evaluated on a sample only: {', '.join(left_out)}"
    return Verdict(best.name, chosen.name, reason)


def _full_reason(rows: list[CandidateResult], chosen: Contender, best: Contender,
                 tolerance: Tolerance, metric: Metric) -> str:
    """The rule's reason, the money where [business] gives it, and what did not finish."""
    by_name = {r.name: r for r in rows}
    if sum(r.status == "ok" for r in rows) == 1:
        text = f"{chosen.name} is the only candidate that finished"
    else:
        text = reason(chosen, best, tolerance, metric.higher_is_better)
    value, best_value = by_name[chosen.name].monthly_value, by_name[best.name].monthly_value
    if value is not None and chosen.name != best.name:
        text += f"; worth {money(value)} a month against {money(best_value)} for {best.name}"
    return text + unfinished_clause(rows)


def unfinished_clause(rows: list[CandidateResult]) -> str:
    """What the recommendation could not compare against, and what would include it.

    >>> unfinished_clause([CandidateResult("lightgbm", "boosting", 4, "skipped",
    ...                                    remedy="raise [budget] total to 2m")])
    '; it could not compare against lightgbm (skipped: raise [budget] total to 2m to include it)'
    """
    missing = [f"{r.name} ({r.status}: {r.remedy + ' to include it' if r.remedy else 'see its error'})"
               for r in rows if r.status != "ok"]
    if not missing:
        return ""
    return f"; it could not compare against {', '.join(missing)}"


SAMPLED_ROWS = ("cross-validated with each fold's model fitted on a sample of the rows, as all would not fit in "
                "their share of the budget: {names}; their scores may read a little low; raise [budget] total to "
                "compare them at full size")


def candidate_notes(outcomes: list) -> list[str]:
    """What each finished candidate's evaluation says the run's notes must carry."""
    return [note for o in outcomes if o.evaluation is not None for note in o.evaluation.notes]


def tuning_notes(outcomes: list, sampled_note: str = SAMPLED_ROWS, unit: str = "rows") -> list[str]:
    """Notes on cross-validation and tuning the schedule cut short or moved to a sample of the
    rows: one line for each kind, naming the candidates."""
    done = [o for o in outcomes if o.evaluation is not None]
    notes = []
    sampled = [f"{o.name} ({o.evaluation.fold_fit_rows:,} {unit})" for o in done if o.evaluation.fold_fit_rows]
    if sampled:
        notes.append(sampled_note.format(names=", ".join(sampled)))
    stopped = [o for o in done if o.remedy]
    if stopped:
        notes.append(f"stopped at the end of their slice while being tuned, so scored with their default "
                     f"settings: {', '.join(o.name for o in stopped)}; {stopped[0].remedy} to tune them")
    small = [f"{o.name} ({o.evaluation.tuning.rows:,} rows)" for o in done if o.evaluation.tuning.rows]
    if small:
        notes.append(f"tuned on a sample of the rows, as on all rows too few trials would fit in their share "
                     f"of the budget: {', '.join(small)}; raise [budget] total for more")
    cut = [o.name for o in done if o.evaluation.tuning.stopped_by == "time" and not o.remedy]
    if cut:
        their = "its score" if len(cut) == 1 else "their scores"
        notes.append(f"the budget, not the trial count, ended the tuning of {', '.join(cut)}: {their} "
                     "can differ between runs of the same card and seed; raise [budget] total (or "
                     "per_candidate) to repeat them exactly")
    return notes
