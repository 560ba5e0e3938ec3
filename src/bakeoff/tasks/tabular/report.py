"""The tabular task's report sections: the headline in the business's terms, the figure in
plain words per option, the recommended model inside, where it works, sample predictions."""

from __future__ import annotations

from importlib import resources

from bakeoff.core.units import money, readable
from bakeoff.reporting import charts
from bakeoff.reporting.render import percent, row_of


def report_sections(result: dict, facts: dict) -> tuple[str, dict]:
    """The sections' template and what it reads, beside what the frame gives every task."""
    chosen = row_of(result, result["recommended"])
    overall = (chosen or {}).get("holdout_score")
    margin = segment_margin(result, overall)
    reference = column_averages(facts.get("segments", []))
    sign = 1 if result["higher_is_better"] else -1

    def worse(segment: dict) -> bool:
        score, average = segment["score"], reference.get(segment["column"])
        return None not in (score, margin, average) and sign * (average - score) > margin

    explain = facts.get("explain", {})
    figures = {
        "gains": charts.gains_chart(facts.get("gains", {}), facts.get("positive") or ""),
        "calibration": charts.calibration_chart(facts.get("calibration")),
        "importance": charts.importance_chart(explain.get("importance", []), result["metric"]),
        "fit": charts.fit_chart(facts.get("fit"), facts.get("target") or "target"),
    }
    template = resources.files("bakeoff.tasks.tabular").joinpath("report.html").read_text(encoding="utf-8")
    return template, {
        "figures": figures, "headline": headline(result, facts),
        "plain_quality": lambda name: plain_quality(facts, name),
        "overall": overall, "margin": margin, "worse": worse,
        "rules_model": (chosen or {}).get("family") in ("rules", "tree")}  # their description is the model


def headline(result: dict, facts: dict) -> str:
    """The answer in the business's terms, one or two sentences."""
    chosen = row_of(result, result["recommended"])
    if chosen is None:
        return f"No candidate finished: {result['reason']}."
    if facts.get("groups"):
        answer = "Give each group its own model" if chosen["name"] == "per_group" else "Use one model for every group"
        return f"{answer}: {result['reason']}."
    title = chosen["title"] if chosen["name"] in chosen["title"].lower() else f"{chosen['title']} ({chosen['name']})"
    if chosen["rung"] == 0:
        return (f"No model did better than the {title}: giving every case the same answer is as good as "
                "anything tried, so the data as given does not support a model for this question.")
    kind, quality = facts.get("kind"), facts.get("quality", {}).get(chosen["name"], {})
    text = f"Use the {title}."
    if kind == "binary" and facts.get("headline"):
        head = facts["headline"]
        text += (f" Flagging the {percent(head['share'])} of cases it ranks highest catches "
                 f"{percent(head['capture'])} of those that turn out '{facts['positive']}'")
        if chosen.get("monthly_value") is not None:
            text += f"; worth about {money(chosen['monthly_value'])} a month at the values you gave"
        text += "."
    elif kind == "multiclass" and "accuracy" in quality:
        text += f" It gets {percent(quality['accuracy'])} of the held-out cases right."
    elif kind == "regression" and "median_error" in quality:
        text += f" On held-out cases half its predictions are within {readable(quality['median_error'], 3)} of the truth."
    return text


def plain_quality(facts: dict, name: str) -> str:
    """The options table's figure in words, with its holdout interval when facts.json has one.

    >>> plain_quality({"quality": {"m": {"accuracy": 0.83, "low": 0.8, "high": 0.86}}}, "m")
    '83 % right (80 % – 86 %)'
    """
    quality = facts.get("quality", {}).get(name, {})
    if "capture" in quality:
        return f"catches {percent(quality['capture'])}{_between(quality, percent)} in its top " \
               f"{percent(facts['headline']['share'])}" if facts.get("headline") else ""
    if "accuracy" in quality:
        return f"{percent(quality['accuracy'])} right{_between(quality, percent)}"
    if "median_error" in quality:
        return f"half within {readable(quality['median_error'], 3)}" \
               f"{_between(quality, lambda v: readable(v, 3))}"
    return ""


def _between(quality: dict, show) -> str:
    return f" ({show(quality['low'])} – {show(quality['high'])})" if "low" in quality else ""


def segment_margin(result: dict, overall: float | None) -> float | None:
    """How much worse than the model's overall holdout score a segment must be to be marked:
    twice the card's tolerance, at least 0.01 (relative to the score for error metrics).

    >>> segment_margin({"tolerance": 0.005, "tolerance_is_relative": False}, 0.85)
    0.01
    """
    if overall is None:
        return None
    margin = max(2 * result["tolerance"], 0.01)
    return margin * abs(overall) if result["tolerance_is_relative"] else margin


def column_averages(segments: list[dict]) -> dict[str, float]:
    """Per column, the row-weighted average score of its segments: the fair yardstick for one
    segment (a ranking metric within a segment is lower than over all rows by nature).

    >>> column_averages([{"column": "a", "score": .8, "rows": 30}, {"column": "a", "score": .9, "rows": 10}])
    {'a': 0.825}
    """
    totals: dict[str, list[float]] = {}
    for s in segments:
        if s["score"] is not None:
            t = totals.setdefault(s["column"], [0.0, 0.0])
            t[0] += s["score"] * s["rows"]
            t[1] += s["rows"]
    return {column: round(total / rows, 6) for column, (total, rows) in totals.items() if rows}


