"""The customer report's sections: the answer first, the tracking of repeat purchases, expected
against actual purchases by past purchases, P(active), the customers most likely gone and the
most valuable."""

from __future__ import annotations

from importlib import resources

from bakeoff.reporting import charts
from bakeoff.tasks.customer.metrics import TITLES


def report_sections(result: dict, facts: dict) -> tuple[str, dict]:
    template = resources.files("bakeoff.tasks.customer").joinpath("report.html").read_text(encoding="utf-8")
    highlight = [n for n in dict.fromkeys([result.get("recommended"), result.get("best"), facts.get("shown")])
                 if n in facts.get("scores", {})]
    unit = facts.get("unit", "week")
    holdout = f"{facts.get('holdout_units', 0):.3g} {unit}s"
    figures = {"tracking": charts.tracking_chart(facts.get("tracking"), unit, highlight),
               "frequency": charts.frequency_chart(facts.get("by_frequency", []), highlight, holdout),
               "histogram": charts.histogram_chart(facts.get("histogram"),
                                                   f"P(active) by {facts.get('shown')}")}
    dates = facts.get("dates", {})
    scored_how = (f"on the holdout period ({holdout} after {dates.get('calibration_end')}), which no option saw while "
                  "learning, with a 95 % interval from resampling customers; \"checked\" is the same figure.")
    return template, {"headline": headline(result, facts), "figures": figures, "titles": TITLES, "holdout": holdout,
                      "scored_how": scored_how, "plain_quality": lambda name: plain_quality(name, facts),
                      "data_line": (f"{facts.get('customers', 0):,} customers, calibration {dates.get('start')} to "
                                    f"{dates.get('calibration_end')}, holdout to {dates.get('holdout_end')}")}


def plain_quality(name: str, facts: dict) -> str:
    """A candidate's holdout in plain words: the purchases it expected against those made.

    >>> plain_quality("bg_nbd", {"holdout_total": 1882, "expected_total": {"bg_nbd": 1609.4}})
    'expected 1,609 purchases in the holdout; 1,882 were made'
    """
    expected = facts.get("expected_total", {}).get(name)
    if expected is None:
        return ""
    return f"expected {expected:,.0f} purchases in the holdout; {facts['holdout_total']:,.0f} were made"


def headline(result: dict, facts: dict) -> str:
    """The answer: the recommended model, and what it is as good as, from how many numbers.

    >>> r = {"recommended": "pareto_nbd", "best": "lightgbm_rfm", "reason": "", "candidates": [
    ...     {"name": "pareto_nbd", "n_params": 7}, {"name": "lightgbm_rfm", "n_params": 5200}]}
    >>> headline(r, {"holdout_units": 39, "unit": "week"})
    "pareto_nbd predicts the next 39 weeks' purchases as well as lightgbm_rfm, from 7 numbers (lightgbm_rfm: 5,200)."
    """
    recommended, best = result.get("recommended"), result.get("best")
    if not recommended:
        return f"No candidate finished: {result['reason']}."
    params = {c["name"]: c.get("n_params") for c in result.get("candidates", [])}
    period = f"the next {facts.get('holdout_units', 0):.3g} {facts.get('unit', 'week')}s' purchases"
    own, theirs = params.get(recommended) or 0, params.get(best) or 0
    if recommended == best:
        return f"{recommended} predicts {period} best, from {own:,} numbers."
    return (f"{recommended} predicts {period} as well as {best}, from {own:,} numbers"
            + (f" ({best}: {theirs:,})." if theirs > own else "."))
