"""A Spark run's candidates from its summary (a row per candidate and status, counted and
averaged over series by Spark), and the one-model verdict among those that finished every series.

Pure functions. `summary` rows: candidate, rung, status, series, score and holdout (means over
those series), seconds (their sum), wins, error.

>>> summary = [{"candidate": "naive", "rung": 0, "status": "ok", "series": 4, "score": 2.0, "holdout": 2.5,
...             "seconds": 0.4, "wins": 1, "error": None},
...            {"candidate": "theta", "rung": 1, "status": "ok", "series": 4, "score": 1.0, "holdout": 1.1,
...             "seconds": 2.0, "wins": 3, "error": None}]
>>> rows = candidate_rows({"naive": 1, "theta": 27}, summary)
>>> [(r["name"], r["status"], r["score"]) for r in rows], verdict(rows, 0.05)[:2]
([('naive', 'ok', 2.0), ('theta', 'ok', 1.0)], ('theta', 'theta'))
>>> rows[0]["diff_ci"] = [-0.1, 2.1]  # the paired interval over series includes zero: naive is as good
>>> verdict(rows, 0.05)[1]
'naive'
"""

from __future__ import annotations


def candidate_rows(params: dict[str, int], summary: list[dict], classes: dict[str, type] | None = None) -> list[dict]:
    """One `CandidateResult` field dict per candidate (in `params`' order: numbers it learns per series)."""
    rows = []
    for name, per_series in params.items():
        mine = [s for s in summary if s["candidate"] == name]
        total = sum(s["series"] for s in mine)
        done = [s for s in mine if s["status"] == "ok"]
        finished = sum(s["series"] for s in done)
        cls = (classes or {}).get(name)
        row = {"name": name, "family": getattr(cls, "family", ""), "rung": mine[0]["rung"] if mine else 0,
               "title": getattr(cls, "title", "") or name, "summary": getattr(cls, "summary", ""),
               "requires": list(getattr(cls, "requires", ())), "n_params": per_series * finished or None,
               "fit_seconds": sum(s["seconds"] or 0.0 for s in mine), "wall_seconds": sum(s["seconds"] or 0.0 for s in mine)}
        if finished:
            row["score"] = sum(s["score"] * s["series"] for s in done) / finished
            row["holdout_score"] = sum(s["holdout"] * s["series"] for s in done) / finished
        others = {s["status"]: s for s in mine if s["status"] != "ok"}
        if not finished:
            status = next(iter(others), "skipped")
            row.update(status=status, error=(others.get(status) or {}).get("error"))
        else:
            row["status"] = "ok"
            if others:
                row["error"] = "not finished on " + ", ".join(
                    f"{s['series']:,} series ({status}: {s['error']})" for status, s in others.items()) + f" of {total:,}"
            if finished < total:
                row["fold_fit_rows"] = finished  # scored on some series only: not compared for the verdict
        rows.append(row)
    return rows


def verdict(rows: list[dict], tolerance: float) -> tuple[str | None, str | None, str]:
    """(best, recommended, reason): among candidates that finished every series, the lowest mean
    error, and the simplest (lowest rung, then fewest learned numbers) as good as it: within
    `tolerance` (a share) of it, or its paired interval over series (`diff_ci`) includes zero."""
    whole = [r for r in rows if r["status"] == "ok" and not r.get("fold_fit_rows")]
    if not whole:
        return None, None, "no candidate finished every series; see each candidate's error"
    best = min(whole, key=lambda r: r["score"])

    def why(row: dict) -> str:
        low, high = row.get("diff_ci") or (None, None)
        if row["score"] <= best["score"] * (1 + tolerance):
            return f"within {tolerance:.1%}"
        return "the interval of the difference over series includes zero" if low is not None and low <= 0 <= high else ""

    chosen = min([r for r in whole if why(r)], key=lambda r: (r["rung"], r["n_params"] or 0, r["name"]))
    if chosen is best:
        return best["name"], chosen["name"], (f"{best['name']} has the lowest mean error over the series "
                                              f"({best['score']:.4g}) and nothing simpler is as good")
    return best["name"], chosen["name"], (f"{chosen['name']} scores {chosen['score']:.4g} against {best['score']:.4g} "
                                          f"for {best['name']} ({why(chosen)}), and is simpler")


def normal_interval(mean: float | None, sd: float | None, n: int, z: float = 1.96) -> list | None:
    """The 95 % interval of a mean over `n` series from their standard deviation (the central
    limit theorem: series are many on Spark).

    >>> normal_interval(1.0, 2.0, 400)
    [0.804, 1.196]
    """
    if mean is None or sd is None or n < 2:
        return None
    half = z * sd / n ** 0.5
    return [round(mean - half, 12), round(mean + half, 12)]
