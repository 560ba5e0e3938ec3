"""Render result.json and facts.json into one self-contained HTML page (jinja2, autoescaped).

Example::

    from bakeoff.reporting import render_run
    render_run(Path("runs/20261125-161230-ab12cd"))   # rewrites its report.html
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from bakeoff.core.units import human_bytes, money, readable
from bakeoff.errors import ConfigError
from bakeoff.reporting import charts


def _figure(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return readable(value, digits)
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _size(n: int | None) -> str:
    return "–" if n is None else human_bytes(n)


def percent(share: float | None) -> str:
    if share is None:
        return "–"
    return f"{share * 100:.1f} %" if 0.99 < share < 1 or 0 < share < 0.01 else f"{share * 100:.0f} %"


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.3g} ms" if value < 1 else f"{value:.3g} s"


def row_of(result: dict, name: str | None) -> dict | None:
    return next((c for c in result["candidates"] if c["name"] == name), None)


FILTERS = {"figure": _figure, "size": _size, "money": money, "percent": percent, "seconds": _seconds}


SCORED_HOW = ("by cross-validation, with a 95 % interval from resampling; \"checked\" is the same figure on rows "
              "no option saw while learning.")  # a task's report_sections may say otherwise (`scored_how`)


def render_report(result: dict, facts: dict | None = None) -> str:
    """The page: the frame every task shares (the answer, the options, quality against cost,
    notes, provenance) around the sections its task adds (`report_sections`)."""
    import jinja2

    from bakeoff.tasks import task_for

    facts = facts or {}
    template, context = task_for(result["task"]).report_sections(result, facts)
    frame = resources.files("bakeoff.reporting").joinpath("report.html").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, loader=jinja2.DictLoader({"task.html": template}))
    env.filters.update(FILTERS)
    tradeoff = charts.tradeoff(result["candidates"], result["recommended"], result["best"],
                               result["higher_is_better"], result["metric"])
    context = {"headline": f"Use {result['recommended']}." if result["recommended"] else
               f"No candidate finished: {result['reason']}.", "plain_quality": lambda name: "",
               "scored_how": SCORED_HOW, **context}
    context["figures"] = {"tradeoff": tradeoff, **context.get("figures", {})}
    return env.from_string(frame).render(
        r=result, f=facts, chosen=row_of(result, result["recommended"]),
        money=any(c["monthly_cost"] is not None for c in result["candidates"]),
        sme=result.get("expectations", {}).get("total", 0),
        below_baseline=lambda row: _below_baseline(result, row), **context)


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
    from bakeoff.core.runstore import read_result, write_atomic
    from bakeoff.tasks import task_for

    result = read_result(run_dir)
    page = run_dir / "report.html"
    if page.is_dir():
        raise ConfigError(f"{page} is a folder, so the report cannot be written there; move it away, then run "
                          "bakeoff report again")
    facts_version = task_for(result["task"]).facts_version
    facts_file = run_dir / "facts.json"
    try:
        facts = json.loads(facts_file.read_text()) if facts_file.is_file() else {}
    except ValueError:
        facts = {"version": "unreadable"}
    notes = []
    provenance = result.get("provenance", {})
    job = provenance.get("groups") or provenance.get("engine", {}).get("kind") == "spark"
    if job and facts.get("version") != facts_version:
        facts = {}  # a job's figures are in its summary.csv and Parquet outputs
    elif not facts_file.is_file() or facts.get("version") == "unreadable":
        notes.append("this run's facts.json is missing or unreadable; the report shows the options, the "
                     "trade-off and provenance only (run the card again for the rest)")
        facts = {}
    elif facts.get("version") != facts_version:
        notes.append("this run's holdout figures come from another bakeoff version; the report shows the options, "
                     "the trade-off and provenance only (run the card again for the rest)")
        facts = {}
    try:
        write_atomic(page, render_report(result, facts))
    except OSError as err:
        raise ConfigError(f"cannot write {page} ({err.strerror or err}); make the run folder writable "
                          "(or free some space), then run bakeoff report again") from err
    return page, notes
