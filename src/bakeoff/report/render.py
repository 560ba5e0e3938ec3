"""Render result.json into one self-contained HTML page with jinja2 (autoescaped)."""

from __future__ import annotations

from importlib import resources

from ..units import human_bytes


def _figure(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _money(value: float | None) -> str:
    if value is None:
        return "–"
    rounded = round(value)
    return f"{rounded:,}" if rounded else "0"


def _size(n: int | None) -> str:
    return "–" if n is None else human_bytes(n)


def render_report(result: dict) -> str:
    import jinja2

    template = resources.files("bakeoff.report").joinpath("plain.html").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(figure=_figure, size=_size, money=_money)
    chosen = next((c for c in result["candidates"] if c["name"] == result["recommended"]), None)
    money = any(c["monthly_cost"] is not None for c in result["candidates"])
    return env.from_string(template).render(r=result, chosen=chosen, money=money)
