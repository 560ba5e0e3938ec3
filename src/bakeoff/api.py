"""The library entry point: card in, run folder (result.json, report, models) and MLflow runs out.

Example (under `if __name__ == "__main__":` in a script: candidates run in worker processes)::

    from bakeoff import bake, load_card

    outcome = bake(load_card("examples/telco_churn/bakeoff.toml"))
    print(outcome.result["recommended"], outcome.run_dir)
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bakeoff.tasks.tabular.bundle import ModelBundle, save_bundle, write_atomic
from bakeoff.core.card import Card
from bakeoff.tasks.tabular.data import Dataset, prepare
from bakeoff.errors import ConfigError
from bakeoff.tasks.tabular.evaluate import fair_share, run_resamples
from bakeoff.tasks.tabular.expect import Expectation, check
from bakeoff.core.registry import available, load_class, select
from bakeoff.core.metrics import Metric, get_metric
from bakeoff.core.provenance import collect
from bakeoff.core.result import summarise
from bakeoff.core.race import Observer, Outcome, RaceSettings, race
from bakeoff.tasks.tabular.schema import category_levels
from bakeoff.core.units import human_seconds
from bakeoff.core.urls import redact


REVIEW_ROWS = 200  # held-out cases kept for `bakeoff review --rows` (at most this many)
EXCLUDED_ROWS = "excluded_rows.json"  # keys of the rows a run kept out of its split (judged by experts)


@dataclass
class BakeOutcome:
    result: dict
    run_dir: Path
    tracking_uri: str | None


def new_run_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def runs_folder(out: Path) -> Path:
    """out/runs, made now so that an unwritable --out is refused before the race."""
    runs = out / "runs"
    try:
        runs.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot write runs under {out} ({err.strerror}); pass --out with a folder "
                          "you can write to") from err
    return runs


def store_dir(card: Card) -> Path:
    return card.base_dir / ".bakeoff"


@dataclass
class Plan:
    """Everything checked and ready before any candidate starts or anything is written."""

    card: Card
    dataset: Dataset
    candidates: list
    metric: Metric
    settings: RaceSettings
    expectations: list[Expectation] = field(default_factory=list)


def load_expectations(card: Card) -> list[Expectation]:
    """The card's SME feedback as expectations; none when no store exists yet."""
    from bakeoff.review.store import FeedbackStore, expectations, store_url

    default = store_dir(card) / "feedback.db"
    if not card.store.url and not default.is_file():
        return []
    store = FeedbackStore(store_url(card.store.url, store_dir(card)))
    try:
        return expectations(store.verdicts(card.problem.name))
    finally:
        store.close()


def plan(card: Card) -> Plan:
    """Load and check the data and the ladder; bad input raises here, before anything is written."""
    expected = load_expectations(card)
    dataset = prepare(card, exclude=frozenset(e.key for e in expected))
    classes = available(card.ladder.extra, card.base_dir)
    extra_names = [load_class(spec, card.base_dir).name for spec in card.ladder.extra]
    candidates = select(classes, card.problem.task, card.ladder.only, card.ladder.skip, extra_names)
    metric = get_metric(card.evaluate.metric, card.problem.task)
    cores = os.cpu_count() or 1
    workers = card.budget.workers or min(2, cores)
    share = fair_share(card.budget.per_candidate_seconds, card.budget.total_seconds, workers, len(candidates))
    resamples = run_resamples(dataset, metric, card.evaluate.bootstrap, share)
    if resamples < card.evaluate.bootstrap:
        dataset.notes.append(f"intervals from {resamples} bootstrap resamples, not {card.evaluate.bootstrap}: "
                             f"more would not fit in each candidate's {human_seconds(share)} with {metric.name} on "
                             f"{len(dataset.y_train):,} rows; raise [budget] total or per_candidate for more")
    if card.budget.workers > cores:
        dataset.notes.append(f"{card.budget.workers} workers on {cores} cores: candidates share cores, so fit "
                             f"times and latencies read high and slices end sooner; use [budget] workers <= {cores}")
    settings = RaceSettings(metric.name, card.budget.total_seconds, card.budget.per_candidate_seconds,
                            card.budget.trials, card.evaluate.seed, workers,
                            resamples, card.base_dir, card.budget.memory_bytes)
    return Plan(card, dataset, candidates, metric, settings, expected)


def execute(planned: Plan, *, out: Path | None = None, observer: Observer | None = None,
            command: list[str] | None = None) -> BakeOutcome:
    """Race the planned candidates and write the run folder (not yet tracked)."""
    card, dataset = planned.card, planned.dataset
    runs_dir = runs_folder(Path(out or card.base_dir))
    run_id = new_run_id()
    # the workers need features and target only, not a second copy of the rows as read
    outcomes = race(planned.candidates, dataclasses.replace(dataset, raw=None), planned.settings, observer)
    provenance = collect(card.base_dir, dataset.sha256, dataset.rows, dataset.columns,
                         card.evaluate.seed, command)
    result = summarise(run_id, outcomes, dataset, planned.metric, card, provenance,
                       {cls.name: cls for cls in planned.candidates})
    add_expectation_checks(result, outcomes, dataset, planned.expectations)
    facts = report_facts(result, outcomes, dataset, card)
    run_dir = _write_run_folder(runs_dir / run_id, result, facts, outcomes, dataset, card,
                                sorted(e.key for e in planned.expectations))
    return BakeOutcome(result, run_dir, None)


def bake(card: Card, *, out: Path | None = None, observer: Observer | None = None,
         command: list[str] | None = None, track: bool = True) -> BakeOutcome:
    """Run the bake-off a card describes: plan, race, write the run folder, log to MLflow."""
    planned = plan(card)
    if track:
        check_tracking(card)
    outcome = execute(planned, out=out, observer=observer, command=command)
    if track:
        track_outcome(outcome, card)
    return outcome


def _tracker():
    with warnings.catch_warnings():  # mlflow advises on import; the user has nothing to act on
        warnings.simplefilter("ignore")
        from bakeoff import track
    return track


def check_tracking(card: Card) -> None:
    """Raise TrackingError now if the MLflow store cannot be reached, before the race starts."""
    track = _tracker()
    track.check_store(track.tracking_uri(card.store.tracking_uri, store_dir(card)))


def add_expectation_checks(result: dict, outcomes: list[Outcome], dataset: Dataset, expected: list[Expectation]) -> None:
    """Score every finished candidate on the SME expectations ("gets 7 of 9 SME cases right")."""
    result["expectations"] = {"total": len(expected)}
    by_name = {o.name: o for o in outcomes}
    for row in result["candidates"]:
        fitted = getattr(by_name[row["name"]].evaluation, "fitted", None)
        row["expectations"] = (check(fitted, expected, dataset.schema, dataset.classes, dataset.task)
                               if expected and fitted is not None else None)


def report_facts(result: dict, outcomes: list[Outcome], dataset: Dataset, card: Card) -> dict:
    """What the report shows beyond result.json, computed on the holdout while the models are here."""
    from bakeoff.tasks.tabular.facts import collect_facts

    fitted = {o.name: o.evaluation.fitted for o in outcomes if o.evaluation is not None}
    try:
        return collect_facts(result, fitted, dataset, card)
    except Exception as err:  # a model that cannot be explained must not cost the finished run
        result["notes"].append(f"the report's holdout figures could not be computed ({type(err).__name__}: "
                               f"{str(err)[:200]}); the scores above are unaffected")
        return {}


def _review_rows(dataset: Dataset, facts: dict, card: Card) -> list[dict]:
    """Held-out rows for `bakeoff review`: the report's telling cases first, then a random draw."""
    from bakeoff.tasks.tabular.data import feature_columns
    from bakeoff.tasks.tabular.expect import review_sample

    holdout = dataset.holdout_index if len(dataset.holdout_index) else dataset.train_index
    telling = [int(holdout[s["position"]]) for s in facts.get("samples", []) if "position" in s]
    return review_sample(dataset.raw, holdout, feature_columns(dataset.raw.columns, card), dataset.id_column,
                         card.data.target, telling, size=REVIEW_ROWS, seed=card.evaluate.seed)


def _write_run_folder(run_dir: Path, result: dict, facts: dict, outcomes, dataset: Dataset, card: Card,
                      excluded: list[str]) -> Path:
    """Build the folder beside its final place, then move it there in one step. `excluded` are
    the keys of the rows experts judged, kept out of the split (its holdout is re-derived later)."""
    from bakeoff.report import render_report

    staging = run_dir.with_name(f".{run_dir.name}.partial")
    try:
        for outcome in outcomes:
            if outcome.evaluation is not None and outcome.evaluation.fitted is not None:
                bundle = ModelBundle(outcome.name, dataset.task, outcome.evaluation.fitted,
                                     dataset.schema, dataset.classes, card.data.target,
                                     category_levels(dataset.X_train, dataset.schema))
                save_bundle(bundle, staging / "models" / f"{outcome.name}.pkl")
        write_atomic(staging / "result.json", json.dumps(result, indent=2))
        write_atomic(staging / "facts.json", json.dumps(facts, indent=1))
        write_atomic(staging / "review_rows.json", json.dumps(_review_rows(dataset, facts, card), indent=1))
        write_atomic(staging / "report.html", render_report(result, facts))
        write_atomic(staging / "card.json", public_card(card).model_dump_json(indent=2))
        write_atomic(staging / EXCLUDED_ROWS, json.dumps(excluded))
        os.replace(staging, run_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return run_dir


def extra_modules(card: Card) -> list[str]:
    """Files of the card's own [ladder] extra modules, to ship with the logged models."""
    files = {card.base_dir / (spec.partition(":")[0].replace(".", "/") + ".py") for spec in card.ladder.extra}
    return sorted(str(f) for f in files if f.is_file())


def public_card(card: Card) -> Card:
    """The card with the passwords of its URLs masked (${VARIABLE} placeholders stay)."""
    source = card.data.source
    if not isinstance(source, str):
        source = source.model_copy(update={"url": redact(source.url)})
    return card.model_copy(update={
        "data": card.data.model_copy(update={"source": source}),
        "store": card.store.model_copy(update={"url": redact(card.store.url),
                                               "tracking_uri": redact(card.store.tracking_uri)})})


def card_params(card: Card) -> dict:
    flat = {}
    for section, values in public_card(card).model_dump(mode="json").items():
        for key, value in (values or {}).items():
            flat[f"{section}.{key}"] = json.dumps(value) if isinstance(value, (dict, list)) else value
    return flat


def track_outcome(outcome: BakeOutcome, card: Card, on_candidate=None) -> None:
    """Log a finished run to MLflow and write the model URIs into its result.json."""
    track = _tracker()
    result, run_dir = outcome.result, outcome.run_dir
    uri = track.tracking_uri(card.store.tracking_uri, store_dir(card))
    parent_id, model_uris = track.log_bakeoff(result, run_dir, card_params(card), uri=uri,
                                              experiment=card.problem.name, store_dir=store_dir(card),
                                              code_paths=extra_modules(card),
                                              on_candidate=on_candidate or (lambda name: None))
    result["mlflow_run_id"] = parent_id
    result["tracking_uri"] = redact(uri)
    for row in result["candidates"]:
        row["model_uri"] = model_uris.get(row["name"])
    write_atomic(run_dir / "result.json", json.dumps(result, indent=2))
    from bakeoff.report import render_run

    render_run(run_dir)  # the report names the MLflow run too
    outcome.tracking_uri = redact(uri)
