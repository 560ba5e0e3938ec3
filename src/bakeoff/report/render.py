"""Render result.json and facts.json into one self-contained HTML page (jinja2, autoescaped).

Example::

    from bakeoff.report import render_run
    render_run(Path("runs/20261125-161230-ab12cd"))   # rewrites its report.html
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from bakeoff.core.units import human_bytes, money, readable
from bakeoff.report import charts


def _figure(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return readable(value, digits)
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _size(n: int | None) -> str:
    return "–" if n is None else human_bytes(n)


def _percent(share: float | None) -> str:
    if share is None:
        return "–"
    return f"{share * 100:.1f} %" if 0.99 < share < 1 or 0 < share < 0.01 else f"{share * 100:.0f} %"


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.3g} ms" if value < 1 else f"{value:.3g} s"


def headline(result: dict, facts: dict) -> str:
    """The answer in the business's terms, one or two sentences."""
    chosen = _row(result, result["recommended"])
    if chosen is None:
        return f"No candidate finished: {result['reason']}."
    title = chosen["title"] if chosen["name"] in chosen["title"].lower() else f"{chosen['title']} ({chosen['name']})"
    if chosen["rung"] == 0:
        return (f"No model did better than the {title}: giving every case the same answer is as good as "
                "anything tried, so the data as given does not support a model for this question.")
    kind, quality = facts.get("kind"), facts.get("quality", {}).get(chosen["name"], {})
    text = f"Use the {title}."
    if kind == "binary" and facts.get("headline"):
        head = facts["headline"]
        text += (f" Flagging the {_percent(head['share'])} of cases it ranks highest catches "
                 f"{_percent(head['capture'])} of those that turn out '{facts['positive']}'")
        if chosen.get("monthly_value") is not None:
            text += f"; worth about {money(chosen['monthly_value'])} a month at the values you gave"
        text += "."
    elif kind == "multiclass" and "accuracy" in quality:
        text += f" It gets {_percent(quality['accuracy'])} of the held-out cases right."
    elif kind == "regression" and "median_error" in quality:
        text += f" On held-out cases half its predictions are within {readable(quality['median_error'], 3)} of the truth."
    return text


def _row(result: dict, name: str | None) -> dict | None:
    return next((c for c in result["candidates"] if c["name"] == name), None)


def plain_quality(facts: dict, name: str) -> str:
    """The options table's figure in words, with its holdout interval when facts.json has one.

    >>> plain_quality({"quality": {"m": {"accuracy": 0.83, "low": 0.8, "high": 0.86}}}, "m")
    '83 % right (80 % – 86 %)'
    """
    quality = facts.get("quality", {}).get(name, {})
    if "capture" in quality:
        return f"catches {_percent(quality['capture'])}{_between(quality, _percent)} in its top " \
               f"{_percent(facts['headline']['share'])}" if facts.get("headline") else ""
    if "accuracy" in quality:
        return f"{_percent(quality['accuracy'])} right{_between(quality, _percent)}"
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


def render_report(result: dict, facts: dict | None = None) -> str:
    import jinja2

    facts = facts or {}
    template = resources.files("bakeoff.report").joinpath("report.html").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True)  # facts of another task are simply absent
    env.filters.update(figure=_figure, size=_size, money=money, percent=_percent, seconds=_seconds)
    chosen = _row(result, result["recommended"])
    overall = (chosen or {}).get("holdout_score")
    margin = segment_margin(result, overall)
    reference = column_averages(facts.get("segments", []))
    sign = 1 if result["higher_is_better"] else -1

    def worse(segment: dict) -> bool:
        score, average = segment["score"], reference.get(segment["column"])
        return None not in (score, margin, average) and sign * (average - score) > margin

    explain = facts.get("explain", {})
    figures = {
        "tradeoff": charts.tradeoff(result["candidates"], result["recommended"], result["best"],
                                    result["higher_is_better"], result["metric"]),
        "gains": charts.gains_chart(facts.get("gains", {}), facts.get("positive") or ""),
        "calibration": charts.calibration_chart(facts.get("calibration")),
        "importance": charts.importance_chart(explain.get("importance", []), result["metric"]),
        "fit": charts.fit_chart(facts.get("fit"), facts.get("target") or "target"),
    }
    return env.from_string(template).render(
        r=result, f=facts, chosen=chosen, figures=figures, headline=headline(result, facts),
        money=any(c["monthly_cost"] is not None for c in result["candidates"]),
        sme=result.get("expectations", {}).get("total", 0),
        plain_quality=lambda name: plain_quality(facts, name),
        overall=overall, margin=margin, worse=worse,
        rules_model=(chosen or {}).get("family") in ("rules", "tree"),  # their description is the model
        below_baseline=lambda row: _below_baseline(result, row))


def _below_baseline(result: dict, row: dict) -> bool:
    """Whether a candidate scores worse than the rung-0 baseline (something is off with it)."""
    baselines = [c["score"] for c in result["candidates"] if c["rung"] == 0 and c["score"] is not None]
    if not baselines or row["score"] is None or row["rung"] == 0:
        return False
    sign = 1 if result["higher_is_better"] else -1
    return sign * (max(baselines, key=lambda s: sign * s) - row["score"]) > 0


def render_run(run_dir: Path) -> tuple[Path, list[str]]:
    """Re-render a run folder's report.html from its result.json and facts.json; notes say
    what could not be shown."""
    from bakeoff.core.runstore import write_atomic
    from bakeoff.core.runstore import read_result
    from bakeoff.tasks.tabular.facts import FACTS_VERSION

    result = read_result(run_dir)
    facts_file = run_dir / "facts.json"
    try:
        facts = json.loads(facts_file.read_text()) if facts_file.is_file() else {}
    except ValueError:
        facts = {"version": "unreadable"}
    notes = []
    if not facts_file.is_file() or facts.get("version") == "unreadable":
        notes.append("this run's facts.json is missing or unreadable; the report shows the options, the "
                     "trade-off and provenance only (run the card again for the rest)")
        facts = {}
    elif facts.get("version") != FACTS_VERSION:
        notes.append("this run's holdout figures come from another bakeoff version; the report shows the options, "
                     "the trade-off and provenance only (run the card again for the rest)")
        facts = {}
    write_atomic(run_dir / "report.html", render_report(result, facts))
    return run_dir / "report.html", notes
