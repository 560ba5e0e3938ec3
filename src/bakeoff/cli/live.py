"""The live view of a bake-off in the terminal (rich), and the closing summary."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from bakeoff.core.bake import check_outputs, describe, execute, job_runner, plan
from bakeoff.core.card import Card
from bakeoff.core.race import Outcome
from bakeoff.core.units import human_bytes, human_seconds

_STYLE = {"ok": "green", "timeout": "yellow", "failed": "red", "skipped": "dim", "running": "cyan",
          "quick pass": "cyan", "queued (quick pass": "dim"}


def _fmt(value, spec: str = ".4g") -> str:
    return "" if value is None else format(value, spec)


class LiveTable:
    """Observer of the race: one row per candidate, updated as it starts and finishes."""

    def __init__(self, metric: str, log: Console | None = None):
        """With `log` (output that is not a terminal: a CI log, a pipe), each start and finish
        is also one line there, since a live table only shows when it ends."""
        self.metric, self.rows, self.started_at, self.log = metric, {}, {}, log
        self.live: Live | None = None
        self.caption: str | None = None

    def logging(self, name: str) -> None:
        """MLflow logging after the race, shown below the table."""
        self.caption = f"logging {name} to MLflow…"
        self._refresh()

    def glancing(self, candidate, seconds: float) -> None:
        self.started_at[candidate.name] = time.monotonic()
        self.rows[candidate.name] = [str(candidate.rung), candidate.name, "quick pass", "", "", "", "", ""]
        self._refresh()

    def glanced(self, candidate, glance) -> None:
        self.rows[candidate.name][2] = f"queued (quick pass: {glance.score:.3f})"
        self._refresh()

    def started(self, candidate, seconds: float) -> None:
        self.started_at[candidate.name] = time.monotonic()
        self.rows[candidate.name] = [str(candidate.rung), candidate.name, "running", "", "", "", "", ""]
        if self.log is not None:
            self.log.print(f"started  {candidate.name} (rung {candidate.rung}, up to {human_seconds(seconds)})",
                           markup=False, highlight=False)
        self._refresh()

    def finished(self, outcome: Outcome) -> None:
        ev = outcome.evaluation
        status = outcome.status if not outcome.error else f"{outcome.status}: {escape(_short(outcome.error))}"
        row = [str(outcome.rung), outcome.name, status, "", "", "", "", ""]
        if ev is not None:
            row[3:] = [f"{ev.cv_score:.4f} [{ev.score_ci[0]:.3f}, {ev.score_ci[1]:.3f}]",
                       _fmt(ev.fit_seconds, ".3g"), _fmt(ev.predict_us_per_row, ".3g"),
                       _fmt(ev.latency_ms_p50, ".3g"), human_bytes(ev.model_bytes)]
        self.rows[outcome.name] = row
        if self.log is not None:
            started = self.started_at.get(outcome.name)
            took = f"({time.monotonic() - started:.0f} s)" if started is not None else ""
            self.log.print(" ".join(part for part in (f"finished {outcome.name}: {outcome.status}", row[3], took)
                                    if part), markup=False, highlight=False)
        self._refresh()

    def table(self) -> Table:
        table = Table("rung", "candidate", "status", f"{self.metric} [95 % interval]", "fit s",
                      "µs/row", "p50 ms", "size", title="bake-off", caption=self.caption)
        for name, row in self.rows.items():
            status = row[2].split(":")[0]
            if status in ("running", "quick pass"):
                row = row[:2] + [f"{status} {time.monotonic() - self.started_at[name]:.0f}s"] + row[3:]
            table.add_row(*row, style=_STYLE.get(status))
        return table

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self.table())


def _short(reason: str, most: int = 320) -> str:
    """A reason as the table shows it: whole when short, else cut at a word with where the rest is.

    >>> _short("a b c", 4)
    'a b … (the rest in result.json)'
    """
    if len(reason) <= most:
        return reason
    return reason[:most].rsplit(" ", 1)[0] + " … (the rest in result.json)"


def run_live(card: Card, *, out: Path | None, track: bool) -> int:
    """Run with a live table; print the recommendation as soon as it is known, then where the
    outputs are once they are written. Exit code."""
    runner = job_runner(card)
    if runner is not None:
        return _run_job(card, runner, out, track)
    planned = plan(card)
    check_outputs(card, out, track)
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 120)
    console.print(escape(describe(planned)))
    view = LiveTable(card.evaluate.metric, log=None if console.is_terminal else console)
    outcome = _race(console, view, planned, out, track)
    _where(console, outcome, track)
    return 0 if outcome.result.recommended else 1


def _race(console: Console, view: LiveTable, planned, out, track: bool):
    """The race under the live table, the verdict, then the run folder and MLflow logging (a
    spinner in a terminal, one line in a log)."""
    finishing = console.status("writing the report" + (" and logging to MLflow…" if track else "…"))

    def verdict(result) -> None:
        if view.live is not None:
            view.live.update(view.table())
            view.live.stop()
            view.live = None
        else:
            console.print(view.table())
        _verdict(console, result.to_dict())
        if console.is_terminal:
            finishing.start()

    try:
        if not console.is_terminal:
            said: list[str] = []

            def logged(name: str) -> None:  # one line in a log, not one per candidate
                if not said:
                    said.append(name)
                    console.print("logging the runs and models to MLflow…")

            return execute(planned, out=out, observer=view, track=track, on_logged=logged, on_verdict=verdict)
        with Live(view.table(), console=console, refresh_per_second=4, get_renderable=view.table) as live:
            view.live = live
            return execute(planned, out=out, observer=view, track=track, on_logged=view.logging,
                           on_verdict=verdict)
    finally:
        finishing.stop()


def _verdict(console: Console, result: dict) -> None:
    console.print()
    for note in result["notes"]:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    if result["recommended"]:
        console.print(f"\n[bold]Recommended: {result['recommended']}[/bold] — {escape(result['reason'])}.")
    else:
        console.print(f"\n[bold red]No recommendation:[/bold red] {escape(result['reason'])}.")
    if result.get("expectations", {}).get("total"):
        met = [f"{r['name']} {r['expectations']['right']}" for r in result["candidates"] if r.get("expectations")]
        console.print(f"expert cases met (of {result['expectations']['total']}): {escape(', '.join(met))}")


def _run_job(card: Card, runner, out: Path | None, track: bool) -> int:
    """A card run as one job (on Spark, or a bake-off per group): a line as it starts, a spinner
    while it works, the summary, the files it wrote."""
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 120)
    with console.status("on Spark…" if card.engine.kind == "spark" else "one bake-off per group…"):
        outcome = runner(card, out=out, track=track, say=lambda line: console.print(escape(line)))
    table = Table(title=f"candidates (means over the {outcome.unit} each finished)")
    for column in ("candidate", "rung", "status", card.evaluate.metric, "holdout", "seconds"):
        table.add_column(column, justify="left" if column in ("candidate", "status") else "right")
    for row in outcome.result.candidates:
        figures = [f"{row.score:.4g}" if row.score is not None else "–",
                   f"{row.holdout_score:.4g}" if row.holdout_score is not None else "–"]
        table.add_row(row.name, str(row.rung), row.status, *figures, human_seconds(row.fit_seconds or 0.0))
    console.print(table)
    _verdict(console, outcome.result.to_dict())
    run_dir = outcome.run_dir
    console.print(f"result:  {run_dir / 'result.json'}")
    if (run_dir / "report.html").is_file():
        console.print(f"report:  {run_dir / 'report.html'}")
    for label, what in outcome.outputs.items():
        console.print(f"{label + ':':<8} {escape(what)}")
    if track and outcome.tracking_uri:
        console.print(f"MLflow:  mlflow ui --backend-store-uri {outcome.tracking_uri}")
    return 0 if outcome.result.recommended else 1


def _where(console: Console, outcome, track: bool) -> None:
    result = outcome.result
    console.print(f"result:  {outcome.run_dir / 'result.json'}")
    console.print(f"report:  {outcome.run_dir / 'report.html'}")
    if result.recommended:
        from bakeoff.tasks import task_for

        label, command = task_for(result.task).next_step
        console.print(f"{label + ':':<8} {command.format(run_dir=outcome.run_dir, run_id=result.run_id)}")
    if track and outcome.tracking_uri:
        console.print(f"MLflow:  mlflow ui --backend-store-uri {outcome.tracking_uri}")
