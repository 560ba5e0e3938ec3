"""The seam between the shared core and a task family (tabular today; forecast and customer next).

The core races candidates under a budget, computes intervals, applies the tie rule, measures
cost, records provenance, writes the run folder and tracks it. A task knows its data, its
ladder, its splits and metrics, how its models predict, and what its report shows. The core
never asks which task it runs; it asks the task.

Adding a task: a package under `bakeoff.tasks` with one object that implements `Task`, named
for the card's `[problem] task` values it serves in `bakeoff.tasks.TASKS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bakeoff.core.candidate import Candidate
from bakeoff.core.evaluation import Evaluation
from bakeoff.core.metrics import Metric


@dataclass
class Prepared:
    """A task's data, checked and split, with what the core records about it. `data` is the
    task's own value; `job_data` what its jobs read in the workers (often less)."""

    data: Any
    job_data: Any
    sha256: str
    rows: int  # as read
    columns: int
    training_rows: int
    holdout_rows: int
    classes: list[str] = field(default_factory=list)  # class labels; [] when there are none
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CandidateExtras:
    """Task-specific figures of one finished candidate for its result row (money, a threshold)."""

    monthly_value: float | None = None
    threshold: float | None = None
    expectations: dict | None = None


class Task(Protocol):
    """What a task family provides to the core (`bakeoff.tasks.tabular.task` is the example)."""

    name: str  # the family, e.g. "tabular"
    kinds: tuple[str, ...]  # the card's [problem] task values it serves
    quick_job: str  # "module:function", a worker's quick pass: (class, job_data, settings, seconds,
    #                  None) -> Glance (its defaults on a sample: a first score and the costs measured)
    job: str  # "module:function", a worker's full evaluation: (class, job_data, settings, seconds,
    #            glance) -> Evaluation
    preload: tuple[str, ...]  # modules the workers import once, before any job
    facts_version: int | str  # of the report's figures it writes (facts.json); others are not shown
    next_step: tuple[str, str]  # what a user does with a finished run: a label and a command with
    #                             {run_dir} / {run_id}, printed after the verdict
    serving: str | None  # the module that serves its models over HTTP (`bakeoff.tasks.tabular.serving`
    #                      is the example: load, columns, outputs, reference_profile), None: not served yet

    def default_metric(self, kind: str) -> str:
        """The metric a card of this kind gets when it names none."""

    def metric(self, name: str, kind: str) -> Metric:
        """The metric called `name`; ValueError naming the valid ones."""

    def ladder(self) -> dict[str, type[Candidate]]:
        """The built-in candidates by name (imported here, on first use)."""

    pyfunc_files: tuple[str, ...]  # run-folder files its MLflow models need beside the model
    section: str | None  # the card section of its own (e.g. "forecast"), required on its cards
    data_keys: dict[str, str]  # the [data] keys its cards must give, each with an example
    sampled_note: tuple[str, str]  # the note on candidates evaluated on a sample ({names}), and its unit
    samples_compare: bool  # a candidate evaluated on a sample can be best or recommended (its score
    #                        is over the same cases as the others': a tabular fold's rows are sampled
    #                        for fitting, never for scoring)
    artifacts: tuple[str, ...]  # run-folder files of its own the MLflow parent run keeps
    on_spark: str | None  # "module:function" that runs a card of this task on Spark ([engine] kind = "spark")
    grouped: str | None  # "module:function" that runs one bake-off per group ([data] group_by), on either engine

    def pyfunc_predictor(self, artifacts: dict[str, str]):
        """What an MLflow pyfunc model of this task calls on its input frame (`artifacts`: the
        model file as "bundle", and `pyfunc_files` by name), returning a frame."""

    def portfolio_files(self, files: dict[str, bytes | str]) -> dict[str, str]:
        """Where the recommendation is a mix of candidates (one per series), the run-folder files
        its MLflow pyfunc model needs, by artifact name; empty where it is one candidate's model."""

    def applicable(self, candidates: list[type[Candidate]], prepared: Prepared) -> list[type[Candidate]]:
        """The candidates that suit this data (e.g. intermittent-demand models only for intermittent series)."""

    def write_card(self, data, output, force: bool = False, **given) -> list[str]:
        """`bakeoff init`: a commented card for `data` (`given`: the CLI's target, id, time,
        horizon, amount when given), checked as `bakeoff run` would, written to `output`; columns it left out."""

    def predict(self, run_dir, candidate: str, data=None, threshold: str | None = None,
                horizon: float | None = None) -> tuple[Any, list[str]]:
        """`bakeoff predict`: a finished run's candidate applied (to `data`, where the task takes
        data; over `horizon` time units, where the task predicts a horizon): a DataFrame and notes."""

    def prepare(self, card, exclude: frozenset[str]) -> Prepared:
        """Read and check the card's data and split it; bad input raises a BakeoffError.
        `exclude`: keys of rows experts judged, kept out of training and holdout."""

    def expectations(self, card) -> list:
        """What experts said about earlier runs of this card, as checks for every candidate."""

    def resamples(self, prepared: Prepared, metric: Metric, wanted: int, seconds: float) -> int:
        """Bootstrap resamples every candidate uses: `wanted`, or fewer when they cost too much."""

    def describe(self, card, prepared: Prepared, candidates: int) -> str:
        """The run in one line's start, for the terminal: task, target, rows, folds."""

    def extras(self, evaluation: Evaluation, prepared: Prepared, card, expected: list,
               monthly_cost: float | None) -> CandidateExtras:
        """Figures of its own for a finished candidate's result row."""

    def facts(self, result: dict, evaluations: dict[str, Evaluation], prepared: Prepared, card) -> dict:
        """What its report sections show, computed on the holdout while the models are here."""

    def report_sections(self, result: dict, facts: dict) -> tuple[str, dict]:
        """The report's sections for this task: a Jinja template (it sees the frame's `r`, `f`,
        filters, and) the context returned with it; `headline`, `plain_quality(name)` and
        `figures` there fill the frame's answer, options table and charts."""

    def run_files(self, evaluations: dict[str, Evaluation], prepared: Prepared, card, facts: dict,
                  expected: list) -> dict[str, bytes | str]:
        """Files it keeps in the run folder (relative path -> content): models, review rows."""
