"""The report's charts, drawn with matplotlib as inline SVG (text stays text: small and sharp)."""

from __future__ import annotations

import functools
import io
import json
import math
import re

from bakeoff.core.select import pareto_front

INK, MUTED, ACCENT, BEST, GRID = "#1f2933", "#9aa5b1", "#0b7a4b", "#b54708", "#e4e7eb"
PALETTE = ["#2563eb", "#b54708", "#9aa5b1"]
STYLE = {"svg.fonttype": "none",  # text stays text
         "svg.hashsalt": "bakeoff",  # the same run renders the same page
         "font.family": "sans-serif", "font.size": 9, "axes.edgecolor": MUTED, "axes.labelcolor": INK,
         "xtick.color": INK, "ytick.color": INK, "axes.spines.top": False, "axes.spines.right": False}


def _text(value) -> str:
    """User text (names, labels) as matplotlib shows it literally: a '$' is a dollar, not TeX."""
    return str(value).replace("$", r"\$")


_DRAWN: dict[str, str | None] = {}  # the last charts drawn, by what they show
_KEEP = 32


def _styled(chart):
    """Draw `chart` under the report's matplotlib style, leaving the global settings alone. A
    chart of the same figures as one drawn before in this process is that one's SVG (a report
    rendered again once its MLflow run id is known draws nothing twice)."""

    @functools.wraps(chart)
    def draw(*args, **kwargs):
        import matplotlib

        key = json.dumps([chart.__name__, args, kwargs], sort_keys=True, default=repr)
        if key not in _DRAWN:
            if len(_DRAWN) >= _KEEP:
                _DRAWN.clear()
            with matplotlib.rc_context(STYLE):
                _DRAWN[key] = chart(*args, **kwargs)
        return _DRAWN[key]

    return draw


SERIES_COLUMNS = 3  # small multiples of series per row


def _figure(width: float, height: float, columns: int = 1, rows: int = 1):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    axes = fig.subplots(rows, columns, squeeze=rows == 1)
    for ax in (axes.ravel() if rows > 1 else axes if columns > 1 else [axes]):
        ax.grid(True, color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
    return fig, axes


def warm() -> None:
    """Draw one small chart, so that matplotlib's first-use costs (fonts) are paid ahead."""
    fig, ax = _figure(1, 1)
    ax.plot([0, 1], [0, 1])
    _svg(fig)


def _svg(fig) -> str:
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return re.sub(r"<!--.*?-->\s*", "", text[text.index("<svg"):], flags=re.S)  # comments: only size


@_styled
def tradeoff(rows: list[dict], recommended: str | None, best: str | None, higher_is_better: bool,
             metric: str) -> str | None:
    """Quality against fit time and against prediction time (log scales), Pareto front drawn.

    The quality axis spans the candidates above the baseline rung, so that a constant far below
    does not squash the rest; it is drawn as a line at the edge with its score."""
    from adjustText import adjust_text

    done = [r for r in rows if r["status"] == "ok" and r["score"] is not None]
    if not done:
        return None
    low, high = _quality_range(done)
    fig, axes = _figure(9.0, 3.8, 2)
    for ax, key, label in ((axes[0], "fit_seconds", "time to fit (seconds, log scale)"),
                           (axes[1], "predict_us_per_row", "time to predict one row (µs, log scale)")):
        points = [(r["name"], r["score"], max(r[key], 1e-6)) for r in done if r.get(key) is not None]
        if not points:  # a job's rows (on Spark, per group) have no per-row latency
            ax.set_visible(False)
            continue
        front = sorted((p for p in points if p[0] in pareto_front(points, higher_is_better)), key=lambda p: p[2])
        ax.step([p[2] for p in front], [p[1] for p in front], where="post", color=MUTED, linewidth=1,
                linestyle="--", label="best trade-offs")
        labels = []
        for name, score, cost in points:
            colour = ACCENT if name == recommended else BEST if name == best else INK
            marker = "*" if name == recommended else "D" if name == best else "o"
            shown = min(max(score, low), high)
            ax.scatter([cost], [shown], s=130 if marker == "*" else 34, color=colour, marker=marker, zorder=3,
                       clip_on=False)
            text = name if shown == score else f"{name} ({score:.3g}, off the scale)"
            labels.append(ax.text(cost, shown, _text(text), fontsize=8, color=colour))
        ax.set_xscale("log")
        ax.set_ylim(low, high)
        ax.set_xlabel(label)
        ax.set_ylabel(_text(metric))
        adjust_text(labels, ax=ax, expand=(1.15, 1.4), iter_lim=300, arrowprops={"arrowstyle": "-", "color": GRID, "lw": 0.6})
    axes[0].legend(loc="lower right", frameon=False, fontsize=8)
    return _svg(fig)


def _quality_range(rows: list[dict]) -> tuple[float, float]:
    """The score axis: all candidates above rung 0 (or all when that leaves fewer than two)."""
    ranked = [r["score"] for r in rows if r["rung"] > 0]
    scores = ranked if len(ranked) >= 2 else [r["score"] for r in rows]
    low, high = min(scores), max(scores)
    pad = (high - low) * 0.12 or abs(high) * 0.02 or 0.01
    return low - pad, high + pad


@_styled
def gains_chart(curves: dict[str, list[list[float]]], positive: str) -> str | None:
    if not curves:
        return None
    fig, ax = _figure(4.4, 3.4)
    ax.plot([0, 100], [0, 100], color=MUTED, linestyle=":", linewidth=1, label="random order")
    for colour, (name, points) in zip(PALETTE, curves.items()):
        ax.plot([p[0] * 100 for p in points], [p[1] * 100 for p in points], color=colour, linewidth=1.8,
                label=_text(name))
    ax.set_xlabel("% of rows flagged, highest scores first")
    ax.set_ylabel(_text(f"% of all '{positive}' caught"))
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    return _svg(fig)


@_styled
def calibration_chart(calibration: dict | None) -> str | None:
    if not calibration:
        return None
    fig, ax = _figure(4.4, 3.4)
    ax.plot([0, 1], [0, 1], color=MUTED, linestyle=":", linewidth=1, label="perfectly calibrated")
    ax.plot(calibration["predicted"], calibration["observed"], color=PALETTE[0], marker="o", linewidth=1.5,
            markersize=4, label="model")
    ax.set_xlabel("predicted probability (10 equal-size groups)")
    ax.set_ylabel("observed share")
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    return _svg(fig)


@_styled
def importance_chart(importance: list[dict], metric: str, top: int = 10) -> str | None:
    shown = [i for i in importance[:top] if math.isfinite(i["drop"])][::-1]
    if not shown:
        return None
    fig, ax = _figure(4.4, 0.26 * len(shown) + 1.1)
    ax.barh([_text(i["feature"]) for i in shown], [i["drop"] for i in shown], xerr=[i["spread"] for i in shown],
            color=PALETTE[0], error_kw={"ecolor": MUTED, "linewidth": 0.8})
    ax.set_xlabel(_text(f"drop in {metric} when the column is shuffled"))
    ax.grid(axis="y", visible=False)
    return _svg(fig)


@_styled
def fit_chart(fit: dict | None, target: str) -> str | None:
    if not fit:
        return None
    fig, ax = _figure(4.4, 3.6)
    actual, predicted = fit["actual"], fit["predicted"]
    low, high = min(actual + predicted), max(actual + predicted)
    ax.plot([low, high], [low, high], color=MUTED, linestyle=":", linewidth=1)
    ax.scatter(actual, predicted, s=6, alpha=0.5, color=PALETTE[0], linewidths=0)
    ax.set_xlabel(_text(f"actual {target}"))
    ax.set_ylabel("predicted")
    return _svg(fig)


@_styled
def series_chart(samples: list[dict], target: str) -> str | None:
    """Small multiples of forecast series: recent history, the holdout's actuals, the forecast
    made without them and its interval."""
    if not samples:
        return None
    columns = min(len(samples), SERIES_COLUMNS)
    rows = -(-len(samples) // columns)
    fig, axes = _figure(3.0 * columns, 2.6 * rows, columns, rows)
    panels = list(axes.ravel()) if rows > 1 else list(axes) if columns > 1 else [axes]
    for ax in panels[len(samples):]:
        ax.set_visible(False)  # the last row's empty places
    for ax, s in zip(panels, samples):
        past, steps = len(s["history"]), len(s["actual"])
        ahead = range(past, past + steps)
        ax.plot(range(past), s["history"], color=MUTED, linewidth=0.8)
        ax.plot(ahead, s["actual"], color=INK, linewidth=0.9, label="actual")
        if s.get("low") is not None:
            ax.fill_between(ahead, s["low"], s["high"], color=PALETTE[0], alpha=0.15, linewidth=0)
        ax.plot(ahead, s["forecast"], color=PALETTE[0], linewidth=1.1, label="forecast")
        ax.set_title(_text(f"{s['role']}: {s['id']} ({s['candidate']})"), fontsize=8)
        ax.set_xticks([])
    for row in range(rows):
        panels[row * columns].set_ylabel(_text(target))
    return _svg(fig)


CURVES = ["#2563eb", "#b54708", "#0b7a4b", "#7c3aed", "#be185d", "#0891b2", "#9aa5b1"]


@_styled
def tracking_chart(tracking: dict | None, unit: str, highlight: list[str]) -> str | None:
    """Cumulative repeat purchases per period: the actual count (dark), and from the calibration's
    end each candidate's expectation (the `highlight`ed ones in colour, the others grey)."""
    if not tracking or not tracking.get("actual"):
        return None
    fig, ax = _figure(6.4, 3.4)
    actual = tracking["actual"]
    ax.plot(range(1, len(actual) + 1), actual, color=INK, linewidth=1.4, label="actual")
    ax.axvline(tracking["split"], color=MUTED, linestyle=":", linewidth=1)
    for k, (name, curve) in enumerate(tracking["curves"].items()):
        periods = range(tracking["start"] + 1, tracking["start"] + len(curve) + 1)
        shown = name in highlight
        ax.plot(periods, curve, color=CURVES[highlight.index(name) % len(CURVES)] if shown else MUTED,
                linewidth=1.1 if shown else 0.7, linestyle="-" if shown else "--", label=_text(name) if shown else None)
    ax.set_xlabel(_text(f"{unit}s since the log's first day (dotted: end of calibration)"))
    ax.set_ylabel("cumulative repeat purchases")
    ax.legend(frameon=False, fontsize=8)
    return _svg(fig)


@_styled
def frequency_chart(rows: list[dict], highlight: list[str], unit_label: str) -> str | None:
    """Mean holdout purchases by past repeat purchases: actual (bars) and each highlighted candidate."""
    if not rows:
        return None
    fig, ax = _figure(6.0, 3.2)
    labels = [r["x"] for r in rows]
    ax.bar(range(len(rows)), [r["actual"] for r in rows], color=GRID, edgecolor=MUTED, label="actual")
    for k, name in enumerate(highlight):
        ax.plot(range(len(rows)), [r["expected"].get(name, float("nan")) for r in rows], marker="o", markersize=3,
                color=CURVES[k % len(CURVES)], linewidth=1.1, label=_text(name))
    ax.set_xticks(range(len(rows)), labels)
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel(_text(f"purchases in the holdout ({unit_label})"))
    ax.legend(frameon=False, fontsize=8)
    return _svg(fig)


@_styled
def histogram_chart(histogram: dict | None, label: str) -> str | None:
    """Customers by P(active), in bins of a tenth."""
    if not histogram:
        return None
    fig, ax = _figure(5.0, 2.8)
    edges, counts = histogram["edges"], histogram["counts"]
    ax.bar(edges[:-1], counts, width=[b - a for a, b in zip(edges, edges[1:])], align="edge", color=PALETTE[0],
           edgecolor="white")
    ax.set_xlabel(_text(label))
    ax.set_ylabel("customers")
    return _svg(fig)
