"""A bake-off from card to run folder: plan (check everything), race, build the result once,
write the run folder, track it. The same for every task; the task supplies what differs.

Example (under `if __name__ == "__main__":` in a script: candidates run in worker processes)::

    from bakeoff.core.bake import bake
    from bakeoff.core.card import load_card

    outcome = bake(load_card("examples/telco_churn/bakeoff.toml"))
    print(outcome.result.recommended, outcome.run_dir)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from bakeoff.core.card import Card
from bakeoff.core.engine import LocalEngine
from bakeoff.core.evaluation import Evaluation
from bakeoff.core.metrics import Metric
from bakeoff.core.race import Jobs, Observer, Outcome, RaceSettings, Silent, race
from bakeoff.core.registry import load_class, select
from bakeoff.core.result import (
    RECOMMENDED,
    CandidateResult,
    RunResult,
    Verdict,
    candidate_notes,
    candidate_result,
    intervals,
    monthly_cost,
    tuning_notes,
    verdict,
)
from bakeoff.core.runstore import (
    check_runs_folder,
    model_file,
    new_run_id,
    sha256,
    store_dir,
    write_run_folder,
)
from bakeoff.core.select import Tolerance
from bakeoff.core.task import Prepared, Task
from bakeoff.core.units import human_seconds
from bakeoff.core.urls import redact
from bakeoff.errors import ConfigError, TrackingError


@dataclass
class BakeOutcome:
    result: RunResult
    run_dir: Path
    outputs: dict[str, str] = dataclasses.field(default_factory=dict)  # a job's files and next step: label -> line
    unit: str = ""  # what a job's scores are means over ("series", "groups")

    @property
    def tracking_uri(self) -> str | None:
        return self.result.tracking_uri


@dataclass
class Plan:
    """Everything checked and ready before any candidate starts or anything is written."""

    card: Card
    task: Task
    prepared: Prepared
    candidates: list
    metric: Metric
    settings: RaceSettings
    expectations: list
    engine: LocalEngine
    warming: threading.Thread | None = None

    @property
    def dataset(self):
        """The task's data (for the tabular task, its split Dataset)."""
        return self.prepared.data


def plan(card: Card, extra: tuple[type, ...] = ()) -> Plan:
    """Load and check the data and the ladder; bad input raises here, before anything is written.
    `extra` are Candidate classes that join the race (defined in a notebook, say). The workers'
    engine warms up meanwhile."""
    from bakeoff.tasks import task_for

    task = task_for(card.problem.task)
    engine = LocalEngine(card.budget.memory_bytes, task.preload)
    warming = threading.Thread(target=engine.warm_up, daemon=True)
    warming.start()
    expected = task.expectations(card)
    prepared = task.prepare(card, frozenset(e.key for e in expected))
    candidates = task.applicable(ladder_of(card, task, extra), prepared)
    metric = task.metric(card.evaluate.metric, card.problem.task)
    settings = _settings(card, task, prepared, metric, len(candidates))
    return Plan(card, task, prepared, candidates, metric, settings, expected, engine, warming)


def job_runner(card: Card):
    """The function that runs this card as one job rather than a race of worker processes (a
    card for Spark, [engine] kind = "spark", or one bake-off per group, [data] group_by), or
    None. It takes the card and `out`, `observer`, `command`, `track`, `say` as `bake` does."""
    from bakeoff.tasks import task_for

    task = task_for(card.problem.task)
    if card.data.group_by:
        return load_function(task.grouped)
    return load_function(task.on_spark) if card.engine.kind == "spark" else None


def load_function(spec: str):
    """The function a "module:function" names."""
    import importlib

    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def ladder_of(card: Card, task: Task, extra: tuple[type, ...] = ()) -> list:
    """The card's candidates (its ladder, `[ladder] only/skip/extra` and `extra` classes), simplest first."""
    from bakeoff.core.registry import available, check_class

    classes = available(card.ladder.extra, card.base_dir, task.ladder(), [check_class(c) for c in extra])
    extra_names = [load_class(spec, card.base_dir).name for spec in card.ladder.extra]
    extra_names += [cls.name for cls in extra]
    return select(classes, card.problem.task, card.ladder.only, card.ladder.skip, extra_names)


def _settings(card: Card, task: Task, prepared: Prepared, metric: Metric, n: int) -> RaceSettings:
    """The race's settings; notes when resamples or workers had to differ from the card."""
    cores = os.cpu_count() or 1
    workers = card.budget.workers or min(2, cores)
    share = fair_share(card.budget.per_candidate_seconds, card.budget.total_seconds, workers, n)
    resamples = task.resamples(prepared, metric, card.evaluate.bootstrap, share)
    if resamples < card.evaluate.bootstrap:
        prepared.notes.append(
            f"intervals from {resamples} bootstrap resamples, not {card.evaluate.bootstrap}: more would "
            f"not fit in each candidate's {human_seconds(share)} with {metric.name} on "
            f"{prepared.training_rows:,} rows; raise [budget] total or per_candidate for more")
    if card.budget.workers > cores:
        prepared.notes.append(
            f"{card.budget.workers} workers on {cores} cores: candidates share cores, so fit times and "
            f"latencies read high and slices end sooner; use [budget] workers <= {cores}")
    return RaceSettings(metric.name, card.budget.total_seconds, card.budget.per_candidate_seconds,
                        card.budget.trials, card.evaluate.seed, workers, resamples, card.base_dir,
                        card.budget.memory_bytes, metric.higher_is_better, card.evaluate.refit,
                        task.sampled_note[1])


def fair_share(per_candidate: float, total: float, workers: int, candidates: int) -> float:
    """The seconds one candidate can count on: its slice, or its share of the total budget
    when the total is the tighter limit.

    >>> fair_share(60, 300, 2, 10), fair_share(30, 30, 2, 10)
    (60, 6.0)
    """
    return min(per_candidate, total * workers / max(candidates, 1))


def describe(planned: Plan) -> str:
    """One line saying what will run, including what the quick start inferred."""
    card, n = planned.card, len(planned.candidates)
    return (f"{planned.task.describe(card, planned.prepared, n)}; {n} candidate{'s' if n != 1 else ''}, "
            f"{human_seconds(card.budget.total_seconds)} in all, up to "
            f"{human_seconds(card.budget.per_candidate_seconds)} each")


def run_race(planned: Plan, observer: Observer | None = None) -> list[Outcome]:
    """Race the planned candidates on the plan's engine."""
    _check_engine(planned)
    planned.engine.share(planned.prepared.job_data)
    try:
        return race(planned.candidates, planned.settings, planned.engine,
                    Jobs(planned.task.quick_job, planned.task.job), observer)
    finally:
        planned.engine.close()


def _check_engine(planned: Plan) -> None:
    """Wait until the engine has warmed up; ConfigError when it cannot start processes."""
    if planned.warming is not None:
        planned.warming.join()
    if planned.engine.failure is not None:
        raise ConfigError("bakeoff cannot start its worker processes while your script is still being "
                          "imported; put the call under `if __name__ == \"__main__\":`") \
            from planned.engine.failure


def execute(planned: Plan, *, out: Path | None = None, observer: Observer | None = None,
            command: list[str] | None = None, track: bool = True,
            on_logged=None, on_verdict=None) -> BakeOutcome:
    """Race, build the result once, write the run folder and (with `track`) log it to MLflow.
    `on_verdict(result)` is told the result as soon as it is built (before the report is
    rendered and MLflow logs it), `on_logged(name)` as each candidate reaches MLflow."""
    card = planned.card
    run_dir = Path(out or card.base_dir) / "runs" / new_run_id()  # made when it is written
    _check_engine(planned)  # before MLflow's process starts: a script being imported cannot start one
    session = _tracking_session(card) if track else None
    charts = threading.Thread(target=_warm_charts, daemon=True)
    idle = _WarmWhenIdle(observer, len(planned.candidates), planned.settings.workers, charts)
    try:
        outcomes = run_race(planned, idle)
        draft = _draft(run_dir.name, planned, outcomes, command)
        if on_verdict is not None:
            on_verdict(draft.result)
        if charts.ident is not None:
            charts.join()
        if session is None:
            return BakeOutcome(draft.result, write_run_folder(run_dir, draft.files(draft.result)))
        return _tracked(draft, card, run_dir, on_logged or (lambda name: None), session)
    finally:
        if session is not None:
            session.close()


@dataclass
class _Draft:
    """What a finished race yields before tracking adds its ids: the result and the folder's files."""

    result: RunResult
    evaluations: dict[str, Evaluation]
    task_files: dict[str, bytes | str]
    facts: dict
    card: Card

    def files(self, result: RunResult, report: str | None = None) -> dict[str, bytes | str]:
        """The run folder's files; the result is serialised before the report is rendered (unless
        it is given), and a report that cannot be rendered leaves a page saying so, never a lost run."""
        plain = result.to_dict()
        written = {**self.task_files, "facts.json": json.dumps(self.facts, indent=1),
                   "card.json": public_card(self.card).model_dump_json(indent=2),
                   "result.json": json.dumps(plain, indent=2)}
        return {**written, "report.html": report if report is not None else self.report(result)}

    def report(self, result: RunResult) -> str:
        return report_page(result.to_dict(), self.facts)


def report_page(plain: dict, facts: dict) -> str:
    """The report, or (when rendering fails) a short page naming the failure: the run folder is
    written either way, and `bakeoff report RUN_ID` renders it again."""
    from html import escape

    from bakeoff.reporting import render_report

    try:
        return render_report(plain, facts)
    except Exception as err:  # a finished race must not be lost to its report
        reason = escape(f"{type(err).__name__}: {str(err)[:200]}")
        return (f"<!doctype html><meta charset=\"utf-8\"><title>{escape(str(plain.get('name', 'bake-off')))}"
                f"</title><p>The report could not be rendered ({reason}). The run's scores are in "
                f"result.json beside this page; run <code>bakeoff report {escape(str(plain['run_id']))}</code> "
                "to render it again.</p>")


def _draft(run_id: str, planned: Plan, outcomes: list[Outcome], command: list[str] | None) -> _Draft:
    from bakeoff.core.provenance import collect

    card, task, prepared, metric = planned.card, planned.task, planned.prepared, planned.metric
    evaluations = {o.name: o.evaluation for o in outcomes if o.evaluation is not None}
    rows = _rows(planned, outcomes)
    chosen = verdict(rows, Tolerance(card.evaluate.tolerance, metric.relative), metric, task.samples_compare,
                     task.sampled_note[1])
    facts, fact_notes = _facts(task, chosen, metric, rows, evaluations, prepared, card)
    provenance = collect(card.base_dir, prepared.sha256, prepared.rows, prepared.columns,
                         card.evaluate.seed, command)
    result = RunResult(
        run_id, card.problem.name, card.problem.question, card.problem.task, metric.name,
        metric.higher_is_better, card.evaluate.tolerance, metric.relative, prepared.classes,
        prepared.training_rows, prepared.holdout_rows, rows, chosen.best, chosen.recommended,
        chosen.reason, [*prepared.notes, *tuning_notes(outcomes, *task.sampled_note), *candidate_notes(outcomes),
                        *fact_notes], str(card.base_dir),
        provenance, {"total": len(planned.expectations)}, refit=card.evaluate.refit)
    files = task.run_files(evaluations, prepared, card, facts, planned.expectations)
    rows = [dataclasses.replace(r, **model_digests(files, r.name)) for r in result.candidates]
    return _Draft(dataclasses.replace(result, candidates=rows), evaluations, files, facts, card)


def model_digests(files: dict[str, bytes | str], name: str) -> dict[str, str | None]:
    """The sha256 of a candidate's model files among a run folder's `files`, checked before
    any command loads them."""
    paths = {"model_sha256": model_file(name), "holdout_model_sha256": model_file(name, holdout=True)}
    return {key: sha256(files[path]) if isinstance(files.get(path), bytes) else None
            for key, path in paths.items()}


def _rows(planned: Plan, outcomes: list[Outcome]) -> list[CandidateResult]:
    card, task, prepared = planned.card, planned.task, planned.prepared
    spans = intervals(outcomes, planned.metric, task.samples_compare)
    classes = {cls.name: cls for cls in planned.candidates}
    rows = []
    for o in outcomes:
        extras = None
        if o.evaluation is not None:
            cost = monthly_cost(o.evaluation, card.business) if card.business else None
            extras = task.extras(o.evaluation, prepared, card, planned.expectations, cost)
        rows.append(candidate_result(o, spans.get(o.name), extras, card.business, classes.get(o.name)))
    return rows


def _facts(task: Task, chosen: Verdict, metric: Metric, rows: list[CandidateResult],
           evaluations: dict, prepared: Prepared, card: Card) -> tuple[dict, list[str]]:
    """The report's holdout figures, computed while the models are here; a model that cannot be
    explained must not cost the finished run, so a failure becomes a note."""
    summary = {"recommended": chosen.recommended, "best": chosen.best, "metric": metric.name,
               "candidates": [{"name": r.name, "threshold": r.threshold} for r in rows]}
    try:
        return task.facts(summary, evaluations, prepared, card), []
    except Exception as err:  # any task or model code can fail here
        return {}, [(f"the report's holdout figures could not be computed ({type(err).__name__}: "
                    f"{str(err)[:200]}); the scores above are unaffected")]


def _tracked(draft: _Draft, card: Card, run_dir: Path, on_logged, session) -> BakeOutcome:
    """Log to MLflow from the session's process while the report renders here, then write the
    folder with the model URIs; a tracking failure still leaves the run folder complete, then
    raises."""
    uri = tracking_uri_of(card)
    written = False
    try:
        session.log(draft.result.to_dict(), draft.task_files, card_params(card), extra_modules(card))
        draft.report(draft.result)  # draws the charts while MLflow loads; the page below reuses them
        tracked = dataclasses.replace(draft.result, mlflow_run_id=session.parent(on_logged),
                                      tracking_uri=redact(uri))
        report = draft.report(tracked)  # the report shows the MLflow run, not the model URIs
        model_uris = session.models(on_logged)
        result = dataclasses.replace(tracked, candidates=[dataclasses.replace(r, model_uri=model_uris.get(r.name))
                                                          for r in tracked.candidates],
                                     recommended_model_uri=model_uris.get(RECOMMENDED))
        write_run_folder(run_dir, draft.files(result, report))
        written = True
        session.finish(run_dir)
    except TrackingError:
        if not written:
            write_run_folder(run_dir, draft.files(draft.result))
        raise
    return BakeOutcome(result, run_dir)


def bake(card: Card, *, out: Path | None = None, observer: Observer | None = None,
         command: list[str] | None = None, track: bool = True) -> BakeOutcome:
    """Run the bake-off a card describes: plan, race, write the run folder, log to MLflow."""
    runner = job_runner(card)
    if runner is not None:
        return runner(card, out=out, observer=observer, command=command, track=track)
    planned = plan(card)
    check_outputs(card, out, track)
    return execute(planned, out=out, observer=observer, command=command, track=track)


class _WarmWhenIdle(Silent):
    """Observer that, once every candidate has started its full evaluation (or will not) and a
    worker's core is free, starts `warm` (a thread that pays what follows the race ahead: CPU
    that would otherwise come after the race, and must not be taken from a candidate)."""

    def __init__(self, observer: Observer | None, candidates: int, workers: int, warm: threading.Thread):
        self.observer, self.warm = observer or Silent(), warm
        self.waiting, self.running = candidates, set()
        self.workers = min(workers, os.cpu_count() or 1)

    def glancing(self, candidate, seconds: float) -> None:
        self.observer.glancing(candidate, seconds)

    def glanced(self, candidate, glance) -> None:
        self.observer.glanced(candidate, glance)

    def started(self, candidate, seconds: float) -> None:
        self.waiting -= 1
        self.running.add(candidate.name)
        self.observer.started(candidate, seconds)

    def finished(self, outcome: Outcome) -> None:
        if outcome.name in self.running:
            self.running.discard(outcome.name)
        else:  # it ended before its full evaluation started
            self.waiting -= 1
        if self.waiting <= 0 and len(self.running) < self.workers and self.warm.ident is None:
            self.warm.start()
        self.observer.finished(outcome)


def _tracking_session(card: Card):
    """MLflow's logging process, started now: it loads MLflow while the race runs (see
    `bakeoff.adapters.tracking_session`)."""
    from bakeoff.adapters.tracking_session import TrackingSession

    return TrackingSession(tracking_uri_of(card), card.problem.name, store_dir(card))


def _warm_charts() -> None:
    """Pay matplotlib's first-use costs (fonts) for the report; failures are met again, and
    reported, where they matter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from bakeoff.reporting import charts

            charts.warm()
        except Exception:  # noqa: S110 - met again where it matters, with its own message
            pass


def tracking_uri_of(card: Card) -> str:
    """The MLflow tracking URI a card's runs are logged to."""
    from bakeoff.adapters.tracking_store import tracking_uri

    return tracking_uri(card.store.tracking_uri, store_dir(card))


def check_outputs(card: Card, out: Path | None, track: bool) -> None:
    """Refuse now an `out` where runs/ cannot be written, and (with `track`) make the MLflow
    store's folder, so that an output that cannot be written is refused before the race; a
    refusal leaves no folder made here."""
    check_runs_folder(Path(out or card.base_dir))
    if track:
        check_tracking(card)


def check_tracking(card: Card) -> None:
    """Raise TrackingError now if the MLflow store cannot be reached, or its folder beside the
    card (artifacts, the default SQLite file) cannot be made, before the race starts."""
    from bakeoff.adapters.tracking_store import check_store

    folder = store_dir(card)
    with _undone_on_error(folder):
        _check_store_dir(folder)
        check_store(tracking_uri_of(card))


@contextlib.contextmanager
def _undone_on_error(folder: Path):
    """Remove `folder` if it did not exist before the block, the block raised, and it is empty."""
    existed = folder.exists()
    try:
        yield
    except BaseException:
        if not existed:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _check_store_dir(folder: Path) -> None:
    """The folder MLflow writes to beside the card, made now; TrackingError if it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        problem = None if os.access(folder, os.W_OK | os.X_OK) else "is not writable"
    except OSError as err:
        problem = "is a file, not a folder" if folder.is_file() else f"cannot be made ({err.strerror})"
    if problem:
        raise TrackingError(f"{folder} {problem}, and MLflow keeps its runs and models there; make it "
                            "a folder you can write to, or run with --no-track")


def extra_modules(card: Card) -> list[str]:
    """Files of the card's own [ladder] extra modules, to ship with the logged models."""
    files = {card.base_dir / (spec.partition(":")[0].replace(".", "/") + ".py") for spec in card.ladder.extra}
    return sorted(str(f) for f in files if f.is_file())


def public_card(card: Card) -> Card:
    """The card with the credentials of its URLs masked (${VARIABLE} placeholders stay)."""
    source = card.data.source
    if isinstance(source, str) or hasattr(source, "url"):
        source = redact(source) if isinstance(source, str) else source.model_copy(update={"url": redact(source.url)})
    return card.model_copy(update={
        "data": card.data.model_copy(update={"source": source}),
        "store": card.store.model_copy(update={"url": redact(card.store.url),
                                               "tracking_uri": redact(card.store.tracking_uri)}),
        "engine": card.engine.model_copy(update={"master": redact(card.engine.master)})})


def card_params(card: Card) -> dict:
    flat = {}
    for section, values in public_card(card).model_dump(mode="json").items():
        for key, value in (values or {}).items():
            flat[f"{section}.{key}"] = json.dumps(value) if isinstance(value, (dict, list)) else value
    return flat
