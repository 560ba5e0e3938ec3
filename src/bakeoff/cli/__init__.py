"""The `bakeoff` command: thin commands that call the library and render with rich."""

from __future__ import annotations

import errno
import os
import sys
import traceback
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from bakeoff.core.urls import redact_text
from bakeoff.errors import BakeoffError, ConfigError
from bakeoff.tasks import kinds

Task = Enum("Task", {kind: kind for kind in kinds()}, type=str)  # the card's [problem] task values


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Run from complexity: race simple and complex models, keep the simplest that is as good.")

Runs = Annotated[Path, typer.Option(help="Folder that holds runs/ (default: .).")]
Out = Annotated[Optional[Path], typer.Option("--out", help="Folder for runs/<id>/ (default: the card's folder, or . for a CSV).")]


def _show_version(value: bool) -> None:
    if value:
        from bakeoff import __version__

        typer.echo(f"bakeoff {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
):
    """bakeoff: a timeboxed bake-off on a complexity ladder."""


@app.command()
def run(
    source: Annotated[Path, typer.Argument(help="A bakeoff.toml problem card, or a CSV/Parquet file.")],
    target: Annotated[Optional[str], typer.Option(help="Target column (quick start without a card).")] = None,
    task: Annotated[Optional[Task], typer.Option(help="Default: inferred from the target.")] = None,
    metric: Annotated[Optional[str], typer.Option(help="Metric, e.g. roc_auc or rmse.")] = None,
    budget: Annotated[Optional[str], typer.Option(help="Total time budget, e.g. 2m.")] = None,
    per_candidate: Annotated[Optional[str], typer.Option(help="Time slice per candidate, e.g. 30s.")] = None,
    only: Annotated[Optional[str], typer.Option(help="Comma-separated candidates to run.")] = None,
    skip: Annotated[Optional[str], typer.Option(help="Comma-separated candidates to leave out.")] = None,
    drop: Annotated[Optional[str], typer.Option(help="Comma-separated columns to leave out of the features.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Random seed.")] = None,
    folds: Annotated[Optional[int], typer.Option(help="Cross-validation folds.")] = None,
    holdout: Annotated[Optional[float], typer.Option(help="Share of rows kept for the final check.")] = None,
    tolerance: Annotated[Optional[float], typer.Option(help="How much worse a simpler model may be.")] = None,
    trials: Annotated[Optional[int], typer.Option(help="Optuna trials per candidate.")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Candidates run side by side.")] = None,
    out: Out = None,
    no_track: Annotated[bool, typer.Option("--no-track", help="Do not log to MLflow.")] = False,
):
    """Run the bake-off and write runs/<id>/result.json and report.html.

    Example: bakeoff run examples/telco_churn/bakeoff.toml
    Example: bakeoff run houses.csv --target price --budget 2m
    """
    from bakeoff.tasks.tabular.quickstart import card_for

    overrides = {"task": task.value if task else None, "metric": metric, "total": budget,
                 "per_candidate": per_candidate, "only": only, "skip": skip, "seed": seed,
                 "folds": folds, "holdout": holdout, "tolerance": tolerance, "trials": trials,
                 "workers": workers, "drop": drop}
    card = card_for(source, target, overrides)
    from bakeoff.cli.live import run_live

    code = run_live(card, out=out if out is not None else (None if source.suffix == ".toml" else Path.cwd()),
                    track=not no_track)
    raise typer.Exit(code)


@app.command()
def init(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    target: Annotated[Optional[str], typer.Option(help="The column to predict (not for --task customer).")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the card.")] = Path("bakeoff.toml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing card.")] = False,
    task: Annotated[Optional[Task], typer.Option(help="Default: inferred from the target; 'forecast' for many series.")] = None,
    id: Annotated[Optional[str], typer.Option("--id", help="Forecast: the series key column (or several: store,item); customer: the customer id column.")] = None,
    time: Annotated[Optional[str], typer.Option("--time", help="Forecast: the time column; customer: the purchase date column.")] = None,
    horizon: Annotated[Optional[int], typer.Option(help="Forecast: steps to forecast; customer: time units to predict.", min=1)] = None,
    amount: Annotated[Optional[str], typer.Option(help="Customer: the column of each purchase's amount.")] = None,
):
    """Write a commented bakeoff.toml for DATA to edit.

    Example: bakeoff init churn.csv --target Churn
    Example: bakeoff init sales.csv --task forecast --id store_item --time date --target units --horizon 28
    Example: bakeoff init orders.csv --task customer --id customer_id --time order_date --amount total
    """
    leaks = _api().init(data, target, output, force, task=task.value if task else None, id=id, time=time,
                        horizon=horizon, amount=amount)
    left_out = f" (left out {', '.join(leaks)}: copies of {target})" if leaks else ""
    typer.echo(f"wrote {output}{left_out}; edit it, then run: bakeoff run {output}")


@app.command()
def predict(
    run_id: Annotated[str, typer.Argument(help="Run id (or the run folder).")],
    candidate: Annotated[str, typer.Argument(help="Candidate name, or 'recommended' / 'best'.")],
    data: Annotated[Optional[Path], typer.Argument(help="CSV or Parquet with the feature columns (none for a forecast run).")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Output .csv or .parquet (default: CSV on stdout).")] = None,
    threshold: Annotated[Optional[str], typer.Option(help="Binary: label positive from this probability up (default 0.5), or 'business' for the run's money-best threshold.")] = None,
    horizon: Annotated[Optional[float], typer.Option(help="Customer: time units to predict over (default: the card's [customer] horizon).", min=0.001)] = None,
    runs: Runs = Path("."),
):
    """Score new rows: the input with `prediction` (and `probability`) columns added; for a forecast
    run, every series' forecasts with their intervals (`recommended`: each series its own choice).

    Example: bakeoff predict 20261125-161230-ab12cd linear new.csv -o scored.csv --threshold business
    """
    from bakeoff.tasks.tabular.predict import check_output, write_scored

    if output is not None:
        check_output(output)
    scored, notes = _api().predict(run_id, candidate, data, runs=runs, threshold=threshold, horizon=horizon)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    if output is None:
        with _stdout("the scored rows", "write them to a file with -o scored.csv") as out:
            scored.to_csv(out, index=False)
        return
    write_scored(scored, output)
    typer.echo(f"wrote {len(scored)} rows to {output}", err=True)


@app.command()
def report(
    run_id: Annotated[str, typer.Argument(help="Run id (or the run folder).")],
    runs: Runs = Path("."),
):
    """Re-render a run's report.html from its result.json and facts.json.

    Example: bakeoff report 20261125-161230-ab12cd
    """
    with _working("rendering the report (charts)…"):
        path, notes = _api().report(run_id, runs=runs)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"report:  {path}")


@app.command()
def review(
    run_id: Annotated[str, typer.Argument(help="Run id (or the run folder).")],
    candidate: Annotated[str, typer.Option(help="Candidate whose predictions to review.")] = "recommended",
    rows: Annotated[int, typer.Option(min=1, max=200, help="How many held-out cases to show.")] = 30,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0: any free port).")] = 8765,
    runs: Runs = Path("."),
):
    """Open a local page where subject-matter experts judge a run's predictions.

    Their verdicts are stored under .bakeoff/ next to the card (or \\[store] url) and become expectations every candidate is checked against in the next `bakeoff run` of the card.

    Example: bakeoff review 20261125-161230-ab12cd --rows 20
    """
    def ready(url: str, review_set) -> None:
        typer.echo(f"review {review_set.title} ({review_set.candidate}) of run {review_set.run_id} at {url}  "
                   "(Ctrl+C to stop)", err=True)

    _api().review(run_id, candidate=candidate, rows=rows, port=port, runs=runs, on_ready=ready)


@app.command()
def sql(
    run_id: Annotated[str, typer.Argument(help="Run id (or the run folder).")],
    candidate: Annotated[str, typer.Argument(help="Candidate name, or 'recommended' / 'best'.")],
    dialect: Annotated[Optional[str], typer.Option(help="duckdb, postgres, sqlite, bigquery, snowflake or spark "
                                                   "(default: the --check database's, else duckdb).")] = None,
    table: Annotated[str, typer.Option(help="The table (or view) with the raw columns.")] = "data",
    id: Annotated[Optional[str], typer.Option("--id", help="Column(s) that identify a row, comma-separated (default: the card's \\[data] id).")] = None,
    check: Annotated[Optional[str], typer.Option(help="A database URL: run the query on the holdout rows there "
                                                 "and compare with Python row by row.")] = None,
    runs: Runs = Path("."),
):
    """Print the candidate as one SQL SELECT over TABLE's raw columns.

    Example: bakeoff sql RUN_ID linear --dialect postgres --table customers > score.sql
    Example: bakeoff sql RUN_ID linear --dialect postgres --check postgresql://me@db/shop
    """
    from bakeoff.adapters.sqldb import dialect_of
    from bakeoff.core.runstore import find_run
    from bakeoff.tasks.tabular.indb import check_in_database, default_id
    from bakeoff.tasks.tabular.sql import check_dialect

    run_dir = find_run(run_id, runs)
    dialect = dialect or (dialect_of(check) if check else "duckdb")
    if check and dialect_of(check) != check_dialect(dialect):
        raise ConfigError(f"--check runs in {dialect_of(check)} but --dialect is {dialect}; pass --dialect "
                          f"{dialect_of(check)} so that the query checked is the query printed")
    parity = None
    if check:
        with _working("checking the query against Python on the holdout rows…"):
            parity = check_in_database(run_dir, candidate, check, table)
        typer.echo(f"check: {parity}", err=True)
    if not (id if id is not None else default_id(run_dir)):
        raise ConfigError(f"run {run_dir.name} has no id column, so the query's rows could not be matched "
                          "to their inputs (databases return rows in any order); pass --id with the "
                          "column(s) that identify a row, e.g. --id customer_id or --id store,day")
    query = _api().sql(run_dir, candidate, dialect=dialect, table=table, id=id)
    with _stdout("the query", "redirect it to a file on a disk with room") as out:
        out.write(query + "\n")
    if parity is not None and not parity.ok:
        raise typer.Exit(1)


@app.command()
def score(
    run_id: Annotated[str, typer.Argument(help="Run id (or the run folder).")],
    candidate: Annotated[str, typer.Argument(help="Candidate name, or 'recommended' / 'best'.")],
    sql_url: Annotated[str, typer.Option("--sql", help="Database URL: duckdb:///file.db, sqlite:///file.db, "
                                         "postgresql://user@host/db.")],
    table: Annotated[str, typer.Option(help="The table with the raw columns.")],
    into: Annotated[str, typer.Option(help="The table to (re)create with the predictions.")] = "scores",
    id: Annotated[Optional[str], typer.Option("--id", help="Column(s) that identify a row, comma-separated (default: the card's \\[data] id).")] = None,
    runs: Runs = Path("."),
):
    """Score TABLE inside the database into table INTO (created or replaced in one transaction).

    Example: bakeoff score RUN_ID linear --sql duckdb:///warehouse.db --table customers --into scores
    """
    from bakeoff.core.runstore import find_run
    from bakeoff.tasks.tabular.indb import default_id

    run_dir = find_run(run_id, runs)
    with _working(f"scoring {table} into {into}…"):
        rows = _api().score(run_dir, candidate, sql_url=sql_url, table=table, into=into, id=id)
    typer.echo(f"wrote {rows:,} predictions to {into}", err=True)
    if not (id if id is not None else default_id(run_dir)):
        typer.echo(f"note: the run has no id column, so {into} has no key to join back to {table}; pass --id COLUMN",
                   err=True)


@app.command()
def candidates():
    """List the ladder: names, rungs, families, tasks and SQL export.

    Example: bakeoff candidates
    """
    from rich.console import Console
    from rich.table import Table

    table = Table("rung", "name", "family", "tasks", "SQL")
    table.add_column("what it is", ratio=1)  # the one column that wraps on a narrow terminal
    for cls in _api().candidates():
        table.add_row(str(cls.rung), cls.name, cls.family,
                      ", ".join(cls.tasks),
                      ("if small" if cls.family == "ensemble" else "yes") if cls.sql_exportable else "no",
                      cls.summary)
    Console().print(table)


@app.command()
def reproduce(
    run_id: Annotated[str, typer.Argument(help="Run id (or the run folder).")],
    runs: Runs = Path("."),
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for the new runs/<id>/ (default: the one that holds the run's).")] = None,
    no_track: Annotated[bool, typer.Option("--no-track", help="Do not log to MLflow.")] = False,
):
    """Run a finished run again from its record and compare each candidate's old and new score.

    Same card, seed and data source, into a new run folder; says what differs since the run: the data (its sha256 against the one recorded), python and package versions.

    Example: bakeoff reproduce 20261125-161230-ab12cd --no-track
    """
    from rich.console import Console
    from rich.markup import escape

    with _working(f"running {run_id} again…"):
        done = _api().reproduce(run_id, runs=runs, out=out, track=not no_track)
    console = Console()
    console.print(f"ran {done.run_id} again as {done.new_run_id} (seed {done.seed})")
    if done.data:
        console.print(f"[yellow]data changed since the run:[/yellow] {escape(str(done.data))}")
    for title, lines in (("environment differs from the run's:", done.environment),
                         ("also differs from the run:", done.others)):
        if lines:
            console.print(f"[yellow]{title}[/yellow]")
            for line in lines:
                console.print(f"  {escape(str(line))}", highlight=False)
    console.print(_scores_table(done))
    console.print(("[green]" if done.reproduced else "[yellow]") + escape(done.summary()))
    console.print(f"result:  {done.new_run_dir / 'result.json'}", highlight=False)
    console.print(f"report:  {done.new_run_dir / 'report.html'}", highlight=False)


def _scores_table(done):
    """The old and new score of each candidate of a reproduced run, and their difference."""
    from rich.table import Table

    table = Table("candidate", "status", f"old {done.metric}", f"new {done.metric}", "difference")

    def figure(value) -> str:
        return "–" if value is None else f"{value:.6g}"

    for change in done.scores:
        status = (change.old_status if change.old_status == change.new_status
                  else f"{change.old_status or 'absent'} -> {change.new_status or 'absent'}")
        difference = "same" if change.same else ("–" if change.delta is None else f"{change.delta:+.3g}")
        table.add_row(change.name, status, figure(change.old), figure(change.new), difference,
                      style=None if change.same else "yellow")
    return table


def _api():
    """The library, imported when a command runs (so that --help stays fast)."""
    from bakeoff import api

    return api


@contextmanager
def _stdout(what: str, fix: str):
    """stdout for a command's output, flushed at the end: a full disk or a closed pipe is one
    line naming `what` and the `fix` (exit 2), not a traceback."""
    try:
        yield sys.stdout
        sys.stdout.flush()
    except OSError as err:
        _discard_stdout()
        raise ConfigError(f"cannot write {what} to standard output ({err.strerror or err}); {fix}") from err


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush at exit does not fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # no file descriptor (stdout captured in a notebook or a test)
        pass


def _working(message: str):
    """A spinner on stderr while something takes a while (stdout may be a query or a CSV)."""
    from rich.console import Console

    return Console(stderr=True).status(message)


def main(argv: list[str] | None = None) -> int:
    """Console entry point. Every mistake a user can make, in the command line, the card or
    the data, becomes one line on stderr and exit 2; --debug shows the traceback."""
    try:
        from typer._click import exceptions as usage  # typer 0.29 carries its own click
    except ImportError:  # typer releases that use click itself
        from click import exceptions as usage

    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = app(args=args, prog_name="bakeoff", standalone_mode=False)
    except usage.NoArgsIsHelpError as err:
        err.show()
        return err.exit_code
    except usage.UsageError as err:
        typer.echo(f"error: {redact_text(_usage_line(err))}", err=True)
        return 2
    except BakeoffError as err:
        if "--debug" in args:
            traceback.print_exc()  # the traceback asked for, with the same exit code
        typer.echo(f"error: {redact_text(str(err))}", err=True)  # a credential in a URL never shows
        return err.exit_code
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("aborted", err=True)
        return 130
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EPIPE, errno.EIO) or "--debug" in args:
            raise
        typer.echo(f"error: cannot write the output ({err.strerror}); write it to a file or a device "
                   "with room, or to a pipe that stays open", err=True)
        return 2
    return code if isinstance(code, int) else 0


def _usage_line(err) -> str:
    """A usage error as one line with the help command to run."""
    message = " ".join(err.format_message().split()).rstrip(".")
    command = err.ctx.command_path if err.ctx is not None else "bakeoff"
    return f"{message}; see '{command} --help'"


def console_main() -> None:
    """The `bakeoff` console script: `main`, then a fast exit. Once the outputs are written and
    flushed, nothing is left for the interpreter's teardown to do but free the libraries a run
    loaded (seconds with MLflow, scikit-learn and matplotlib), so the process ends at once. A
    coverage measurement keeps the normal exit, which saves its data."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # stdout is full or gone: main has said so on stderr where it could
        code = code or 2
    if "coverage" in sys.modules:
        sys.exit(code)
    os._exit(code)


from bakeoff.cli import ship  # noqa: E402,F401  (promote, serve, feedback: their commands join `app`)

if __name__ == "__main__":
    console_main()
