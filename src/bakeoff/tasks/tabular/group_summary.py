"""A grouped run's result from what the driver keeps: a row per group (its choice) and a row per
candidate and status (counted and averaged over the groups). Pure functions.

The verdict answers "is one model per group worth it?": each group's own choice against the
pooled model, both scored on the same holdout rows of each group, the difference averaged over
the groups with a bootstrap interval over groups. The pooled model is recommended when it is as
good (within the tolerance, or the interval includes zero): one model is simpler than many.

>>> choices = pd.DataFrame({"group": list("abcd"), "chosen": ["linear", "constant", "linear", "pooled"],
...     "rung": [2, 0, 2, 0], "status": ["ok", "ok", "ok", "small"], "rows": [90, 80, 70, 5],
...     "cv_score": [.8, .6, .9, None], "holdout_score": [.82, .61, .88, None], "pooled_holdout": [.80, .60, .87, None]})
>>> own_against_pooled(choices, 0)[:3]
(0.77, 0.7566666666666667, 3)
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from bakeoff.core.card import Card
from bakeoff.tasks.tabular.group_job import PER_GROUP, POOLED


def own_against_pooled(choices: pd.DataFrame, seed: int, resamples: int = 2000) -> tuple:
    """(mean holdout of the groups' own models, of the pooled model, groups compared, the 95 %
    interval of the mean difference own - pooled) over the groups scored both ways."""
    both = choices[(choices["status"] == "ok") & choices["holdout_score"].notna() & choices["pooled_holdout"].notna()]
    own, pooled = both["holdout_score"].to_numpy(float), both["pooled_holdout"].to_numpy(float)
    if not len(both):
        return None, None, 0, (None, None)
    diff = own - pooled
    draws = np.random.default_rng(seed).integers(0, len(diff), (resamples, len(diff)))
    means = diff[draws].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(own.mean()), float(pooled.mean()), len(both), (float(low), float(high))


def verdict(own: float | None, pooled: float | None, interval: tuple, groups: int, pooled_name: str | None,
            tolerance, higher_is_better: bool) -> tuple[str | None, str | None, str]:
    """(best, recommended, reason) between a model per group and the pooled model."""
    if own is None:
        if pooled_name is None:
            return None, None, "no candidate finished, pooled or in any group; see each candidate's error"
        return POOLED, POOLED, (f"no group could be scored both ways, so the pooled {pooled_name} is recommended "
                                "(groups too small for the folds, or nothing finished in them)")
    gain = (own - pooled) if higher_is_better else (pooled - own)
    best = PER_GROUP if gain > 0 else POOLED
    low, high = interval
    figures = (f"over {groups:,} groups' holdout rows, a model per group scores {own:.4g} on average and the pooled "
               f"{pooled_name} {pooled:.4g} (difference {own - pooled:+.4g}, 95 % interval [{low:+.4g}, {high:+.4g}])")
    if best == POOLED:
        return best, POOLED, f"{figures}: one model for every group does better, and is simpler"
    within = gain <= tolerance.allowed(own)
    if within or low <= 0 <= high:
        why = f"within {tolerance}" if within else "the interval includes zero"
        return best, POOLED, f"{figures}: one model for every group is as good ({why}) and simpler"
    return best, PER_GROUP, f"{figures}: a model per group is worth it"


def group_result(run_id: str, card: Card, job, command: list[str] | None, started: float):
    """The grouped run's RunResult: a row per candidate (means over the groups it finished, and
    the groups it won), a row for the choice per group and one for the pooled model."""
    from bakeoff.core.provenance import collect
    from bakeoff.core.result import CandidateResult, RunResult
    from bakeoff.core.runstore import sha256
    from bakeoff.core.select import Tolerance
    from bakeoff.tasks.tabular.metrics import get_metric

    metric = get_metric(card.evaluate.metric, card.problem.task)
    choices = job.choices
    own, pooled, compared, interval = own_against_pooled(choices, card.evaluate.seed)
    pooled_name = job.pooled.chosen
    best, recommended, reason = verdict(own, pooled, interval, compared, pooled_name,
                                        Tolerance(card.evaluate.tolerance, metric.relative), metric.higher_is_better)
    rows = [CandidateResult(**row) for row in candidate_rows(job.scores, card)]
    top_rung = choices["rung"].max()
    rows.append(CandidateResult(PER_GROUP, "per group", int(top_rung) if pd.notna(top_rung) else 0,
                                "ok" if own is not None else "failed", holdout_score=own, diff_ci=list(interval) if own is not None else None,
                                title="A model per group", summary=f"each group's own choice ({compared:,} groups compared)"))
    pooled_row = next((r for r in job.pooled.rows if r["candidate"] == pooled_name), None)
    rows.append(CandidateResult(POOLED, "pooled", pooled_row["rung"] if pooled_row else 0,
                                "ok" if pooled_name else "failed", holdout_score=pooled,
                                n_params=pooled_row["n_params"] if pooled_row else None,
                                model_sha256=sha256(job.pooled.final_model) if job.pooled.final_model else None,
                                title=f"One model of all groups ({pooled_name})",
                                summary=f"{pooled_name} chosen by the pooled bake-off, fitted on every group's "
                                        f"training rows ({job.pooled_rows:,} rows)"))
    provenance = collect(card.base_dir, job.sha256, job.rows, job.columns, card.evaluate.seed, command)
    provenance["engine"] = {"kind": card.engine.kind, "master": card.engine.master or "local[*]",
                            "seconds": round(time.time() - started, 3)} if card.engine.kind == "spark" else \
        {"kind": "local", "seconds": round(time.time() - started, 3)}
    held_out = int(pd.to_numeric(choices["held_out"], errors="coerce").sum())
    provenance["groups"] = {"by": card.data.groups, "count": int(len(choices)), "models_sha256": job.model_files}
    return RunResult(run_id, card.problem.name, card.problem.question, card.problem.task, card.evaluate.metric,
                     metric.higher_is_better, card.evaluate.tolerance, metric.relative, [], job.rows - held_out,
                     held_out, rows,
                     best, recommended, reason, [*job.notes, *group_notes(choices, job.scores)], str(card.base_dir),
                     provenance, {"total": 0})


def candidate_rows(scores: pd.DataFrame, card: Card) -> list[dict]:
    """One `CandidateResult` field dict per ladder candidate: means over the groups it finished."""
    rows = []
    for name, mine in scores[~scores["candidate"].isin(["", POOLED])].groupby("candidate", sort=False):
        done = mine[mine["status"] == "ok"]
        finished = int(done["groups"].sum())
        row = {"name": name, "family": "", "rung": int(mine["rung"].iloc[0]), "title": f"{name} in each group",
               "fit_seconds": float(mine["seconds"].sum()), "wall_seconds": float(mine["seconds"].sum()),
               "summary": f"won {int(mine['wins'].sum()):,} of {int(mine['groups'].sum()):,} groups"}
        if finished:
            row |= {"status": "ok", "score": _weighted(done, "score"), "holdout_score": _weighted(done, "holdout")}
            others = mine[mine["status"] != "ok"]
            if len(others):
                row["error"] = "not finished on " + ", ".join(
                    f"{int(r.groups):,} groups ({r.status}: {r.error})" for r in others.itertuples())
        else:
            row |= {"status": str(mine["status"].iloc[0]), "error": mine["error"].dropna().iloc[0]
                    if mine["error"].notna().any() else None}
        rows.append(row)
    return sorted(rows, key=lambda r: (r["rung"], r["name"]))


def _weighted(done: pd.DataFrame, column: str) -> float | None:
    known = done[done[column].notna()]
    return float((known[column] * known["groups"]).sum() / known["groups"].sum()) if len(known) else None


def group_notes(choices: pd.DataFrame, scores: pd.DataFrame) -> list[str]:
    """Groups won per rung and candidate, groups left to the pooled model, skipped or failed."""
    notes = []
    own = choices[choices["status"] == "ok"]
    if len(own):
        wins = own.groupby(["rung", "chosen"]).size().sort_index()
        notes.append("groups won: " + ", ".join(f"{name} (rung {int(rung)}) {count:,}" for (rung, name), count in wins.items()))
    small = choices[choices["status"] == "small"]
    if len(small):
        notes.append(f"{len(small):,} group(s) too small for their own bake-off are scored by the pooled model "
                     f"(e.g. {small['group'].iloc[0]}: {small['error'].iloc[0]})"
                     + ("; most groups are: group by fewer or coarser columns" if len(small) > len(choices) / 2 else ""))
    for status, meaning in (("skipped", "not reached before [budget] total ran out: raise it to include them"),
                            ("failed", "had no candidate finish")):
        left = choices[choices["status"] == status]
        if len(left):
            names = ", ".join(left["group"].astype(str).head(5)) + (" …" if len(left) > 5 else "")
            notes.append(f"{len(left):,} group(s) {meaning} ({names}); the pooled model predicts for them")
    return notes
