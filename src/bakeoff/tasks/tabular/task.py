"""The tabular task's side of the seam (`bakeoff.core.task.Task`): one table, one target.

Heavy modules (scikit-learn, the ladder) are imported by the methods that need them.
"""

from __future__ import annotations

import dataclasses
import json

from bakeoff.core.result import SAMPLED_ROWS
from bakeoff.core.task import CandidateExtras, Prepared
from bakeoff.tasks.tabular.facts import FACTS_VERSION

REVIEW_ROWS = 200  # held-out cases kept for `bakeoff review --rows` (at most this many)
EXCLUDED_ROWS = "excluded_rows.json"  # keys of the rows a run kept out of its split (judged by experts)


class TabularTask:
    name = "tabular"
    kinds = ("classification", "regression")
    quick_job = "bakeoff.tasks.tabular.glance:glance_job"
    job = "bakeoff.tasks.tabular.evaluate:evaluate_job"
    facts_version = FACTS_VERSION  # facts.json of another version is not shown in the report
    next_step = ("review", "bakeoff review {run_dir}")
    serving = "bakeoff.tasks.tabular.serving"
    preload = ("bakeoff.tasks.tabular.evaluate", "bakeoff.tasks.tabular.ladder.models",
               "bakeoff.tasks.tabular.glance", "bakeoff.tasks.tabular.ladder.one_rule", "bakeoff.tasks.tabular.ladder.baseline",
               "bakeoff.tasks.tabular.sql", "sqlglot.dialects.duckdb", "sklearn.pipeline", "optuna")  # what its workers import once, before any job

    def default_metric(self, kind: str) -> str:
        from bakeoff.tasks.tabular.metrics import DEFAULT_METRIC

        return DEFAULT_METRIC[kind]

    def metric(self, name: str, kind: str):
        from bakeoff.tasks.tabular.metrics import get_metric

        return get_metric(name, kind)

    def ladder(self) -> dict:
        from bakeoff.tasks.tabular.ladder import builtin

        return builtin()

    sampled_note = (SAMPLED_ROWS, "rows")
    samples_compare = True
    section = None
    data_keys = {"target": "target = ..."}
    pyfunc_files: tuple[str, ...] = ()  # run-folder files its MLflow models need beside the model
    artifacts: tuple[str, ...] = ()  # run-folder files of its own the MLflow parent run keeps
    on_spark = None  # on Spark only per group: `grouped` runs those cards on either engine
    grouped = "bakeoff.tasks.tabular.grouped:bake_groups"

    def pyfunc_predictor(self, artifacts: dict[str, str]):
        """What an MLflow pyfunc model of this task calls: raw rows in, predictions out."""
        from bakeoff.tasks.tabular.bundle import load_bundle

        bundle = load_bundle(artifacts["bundle"])
        return lambda rows: bundle.score(rows)[bundle.output_columns()]

    def portfolio_files(self, files: dict[str, bytes | str]) -> dict[str, str]:
        return {}  # the recommendation is one candidate, whose model is logged with it

    def applicable(self, candidates: list, prepared: Prepared) -> list:
        return candidates

    def write_card(self, data, output, force: bool = False, *, target: str | None, **given) -> list[str]:
        """`bakeoff init`: a commented card (task and metric inferred), checked, written to
        `output`; the columns left out as copies of the target."""
        from bakeoff.errors import ConfigError
        from bakeoff.tasks.tabular.quickstart import write_card_file

        forecast_only = [f"--{name}" for name, value in given.items() if value]
        if forecast_only:
            raise ConfigError(f"{', '.join(forecast_only)} are for forecasts (--task forecast, with --id, --time and "
                              "--horizon) or customers (--task customer), or leave them out")
        if not target:
            raise ConfigError(f"bakeoff init needs --target: the column to predict, e.g. bakeoff init {data} --target "
                              "COLUMN")
        return write_card_file(data, target, output, force)

    def predict(self, run_dir, candidate: str, data=None, threshold: str | None = None,
                horizon: float | None = None):
        """The data file's rows scored by the run's candidate, and notes on surprising values."""
        from bakeoff.tasks.tabular.predict import score_run

        if horizon is not None:
            from bakeoff.errors import ConfigError

            raise ConfigError("--horizon is for customer runs; a tabular run scores the rows given: leave it out")
        return score_run(run_dir, candidate, data, threshold)

    def prepare(self, card, exclude: frozenset[str] = frozenset()) -> Prepared:
        from bakeoff.tasks.tabular.data import prepare

        dataset = prepare(card, exclude=exclude)
        return Prepared(dataset, dataclasses.replace(dataset, raw=None),  # workers need no raw rows
                        dataset.sha256, dataset.rows, dataset.columns, len(dataset.train_index),
                        len(dataset.holdout_index), dataset.classes, dataset.notes)

    def expectations(self, card) -> list:
        """The card's SME feedback as expectations; none when no store exists yet."""
        from bakeoff.adapters.feedback import FeedbackStore, store_url
        from bakeoff.core.runstore import store_dir
        from bakeoff.tasks.tabular.expect import expectations

        default = store_dir(card) / "feedback.db"
        if not card.store.url and not default.is_file():
            return []
        store = FeedbackStore(store_url(card.store.url, store_dir(card)))
        try:
            return expectations(store.verdicts(card.problem.name))
        finally:
            store.close()

    def resamples(self, prepared: Prepared, metric, wanted: int, seconds: float) -> int:
        from bakeoff.tasks.tabular.evaluate import run_resamples

        return run_resamples(prepared.data, metric, wanted, seconds)

    def describe(self, card, prepared: Prepared, candidates: int) -> str:
        """What the run will do, including what the quick start inferred, as one line's start."""
        data = prepared.data
        positive = f" (positive class: {data.classes[-1]})" if len(data.classes) == 2 else ""
        id_part = f", id column {card.data.id} not a feature" if card.data.id else ""
        return (f"{card.problem.name}: {data.task} of {card.data.target}{positive}, "
                f"{card.evaluate.metric} over {card.evaluate.folds} folds of "
                f"{len(data.train_index):,} rows, {len(data.holdout_index):,} held out{id_part}")

    def extras(self, evaluation, prepared: Prepared, card, expected: list,
               monthly_cost: float | None) -> CandidateExtras:
        """Money at the value-maximising threshold (binary with [business]); expert cases met."""
        from bakeoff.tasks.tabular.expect import check

        data = prepared.data
        checked = (check(evaluation.fitted, expected, data.schema, data.classes, data.task)
                   if expected and evaluation.fitted is not None else None)
        if card.business is None or len(data.classes) != 2:
            return CandidateExtras(expectations=checked)
        from bakeoff.core.cost import best_threshold_value

        business, scored = card.business, evaluation.scored
        threshold, per_row = best_threshold_value(
            data.y_train[scored], evaluation.oof[scored][:, 1], business.value_true_positive,
            business.cost_false_positive, business.cost_false_negative)
        value = per_row * business.predictions_per_month - (monthly_cost or 0.0)
        return CandidateExtras(round(value, 2), threshold, checked)

    def facts(self, result: dict, evaluations: dict, prepared: Prepared, card) -> dict:
        from bakeoff.tasks.tabular.facts import collect_facts

        fitted = {name: ev.holdout_model for name, ev in evaluations.items()}  # never saw the holdout
        return collect_facts(result, fitted, prepared.data, card)

    def report_sections(self, result: dict, facts: dict) -> tuple[str, dict]:
        from bakeoff.tasks.tabular.report import report_sections

        return report_sections(result, facts)

    def run_files(self, evaluations: dict, prepared: Prepared, card, facts: dict,
                  expected: list) -> dict[str, bytes | str]:
        """The fitted models, the rows `bakeoff review` shows, and the rows experts judged."""
        import pickle

        from bakeoff.tasks.tabular.bundle import ModelBundle
        from bakeoff.tasks.tabular.schema import boolean_columns, category_levels

        data = prepared.data
        levels = category_levels(data.X_train, data.schema)
        files: dict[str, bytes | str] = {}
        for name, ev in evaluations.items():
            for path, model in model_files(name, ev).items():
                bundle = ModelBundle(name, data.task, model, data.schema, data.classes,
                                     card.data.target, levels, boolean_columns(data.raw, data.schema))
                files[path] = pickle.dumps(bundle, protocol=pickle.HIGHEST_PROTOCOL)
        files["review_rows.json"] = json.dumps(_review_rows(data, facts, card), indent=1)
        files[EXCLUDED_ROWS] = json.dumps(sorted(e.key for e in expected))
        return files


def model_files(name: str, evaluation) -> dict:
    """A finished candidate's saved models by path: the one users get (`models/<name>.pkl`)
    and, when that one learned from every row, the one that scored the holdout
    (`models/<name>.train.pkl`)."""
    from bakeoff.core.runstore import model_file

    files = {model_file(name): evaluation.fitted} if evaluation.fitted is not None else {}
    if evaluation.scored_model is not None:
        files[model_file(name, holdout=True)] = evaluation.scored_model
    return files


def _review_rows(dataset, facts: dict, card) -> list[dict]:
    """Held-out rows for `bakeoff review`: the report's telling cases first, then a random draw."""
    from bakeoff.tasks.tabular.data import feature_columns
    from bakeoff.tasks.tabular.expect import review_sample

    holdout = dataset.holdout_index if len(dataset.holdout_index) else dataset.train_index
    telling = [int(holdout[s["position"]]) for s in facts.get("samples", []) if "position" in s]
    return review_sample(dataset.raw, holdout, feature_columns(dataset.raw.columns, card),
                         dataset.id_column, card.data.target, telling, size=REVIEW_ROWS,
                         seed=card.evaluate.seed)


TABULAR = TabularTask()
