"""The forecasting report's sections: the answer per series, wins by rung, the per-series choice
against one model for every series, interval coverage, and sample series."""

from __future__ import annotations

from importlib import resources

from bakeoff.reporting import charts
from bakeoff.reporting.render import percent
from bakeoff.tasks.forecast.fitting import level_label


def report_sections(result: dict, facts: dict) -> tuple[str, dict]:
    template = resources.files("bakeoff.tasks.forecast").joinpath("report.html").read_text(encoding="utf-8")
    figures = {"series": charts.series_chart(facts.get("samples", []), facts.get("target", "value"))}
    keys = sorted({level for shares in facts.get("coverage", {}).values() for level in shares}, key=float)
    levels = [(key, level_label(float(key))) for key in keys]  # ("80.0", "80")
    return template, {"headline": headline(result, facts), "figures": figures, "levels": levels}


def headline(result: dict, facts: dict) -> str:
    """The answer: which candidate is as good as anything else for how many series.

    >>> headline({"recommended": "seasonal_naive", "reason": ""}, {"series": 10, "selection":
    ...     {"by_candidate": {"seasonal_naive": 6, "auto_ets": 4}}})
    'seasonal_naive is as good as anything else for 60 % of your series; auto_ets earns its keep on the other 40 %. For one model for every series: seasonal_naive.'
    """
    selection, total = facts.get("selection"), facts.get("series")
    if not result.get("recommended"):
        return f"No candidate finished: {result['reason']}."
    if not selection or not total:
        return f"Use {result['recommended']} for every series."
    wins = list(selection["by_candidate"].items())
    first, count = wins[0]
    text = f"{first} is as good as anything else for {percent(count / total)} of your series"
    if len(wins) == 2:
        text += f"; {wins[1][0]} earns its keep on the other {percent(wins[1][1] / total)}"
    elif len(wins) > 2:
        rest = ", ".join(f"{name} {percent(n / total)}" for name, n in wins[1:4])
        text += f"; the others: {rest}{' …' if len(wins) > 4 else ''}"
    return f"{text}. For one model for every series: {result['recommended']}."
