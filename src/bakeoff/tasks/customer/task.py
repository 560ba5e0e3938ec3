"""The customer task's side of the seam (`bakeoff.core.task.Task`): a transaction log in, per
customer their purchases, P(active), spend and value out.

The core races the candidates; this task reads the log in DuckDB (`data`), scores each
candidate on the holdout period (`evaluate`), and writes each model users get.
"""

from __future__ import annotations

from bakeoff.core.task import CandidateExtras, Prepared
from bakeoff.tasks.customer.facts import FACTS_VERSION

BOOTSTRAP_SECONDS = 1.0  # what a candidate's bootstrap may take
MIN_RESAMPLES = 100


class CustomerTask:
    name = "customer"
    kinds = ("customer",)
    quick_job = "bakeoff.tasks.customer.evaluate:glance_job"
    job = "bakeoff.tasks.customer.evaluate:evaluate_job"
    facts_version = FACTS_VERSION
    next_step = ("customers", "bakeoff predict {run_id} recommended -o customers.csv")
    serving = "bakeoff.tasks.customer.serving"
    preload = ("bakeoff.tasks.customer.evaluate", "scipy.special", "scipy.optimize", "lightgbm")
    sampled_note = ("", "customers")
    section = "customer"
    data_keys = {"id": 'id = "customer_id"', "time": 'time = "order_date"'}
    samples_compare = True  # every candidate scores every customer
    pyfunc_files = ()
    artifacts = ()
    on_spark = None
    grouped = None

    def default_metric(self, kind: str) -> str:
        from bakeoff.tasks.customer.metrics import DEFAULT_METRIC

        return DEFAULT_METRIC

    def metric(self, name: str, kind: str):
        from bakeoff.tasks.customer.metrics import get_metric

        return get_metric(name, kind)

    def ladder(self) -> dict:
        from bakeoff.tasks.customer.ladder import ladder

        return ladder()

    def pyfunc_predictor(self, artifacts: dict[str, str]):
        """A frame of customer summaries (x, t_x, T; mean_spend, first_spend with amounts) in, each
        customer's expected purchases over the card's horizon, P(active) and spend out."""
        import pickle
        from pathlib import Path

        import numpy as np

        from bakeoff.tasks.customer.data import Summaries

        model = pickle.loads(Path(artifacts["bundle"]).read_bytes())

        def predict(frame):
            import pandas as pd

            n = len(frame)

            def column(name):
                return frame[name].to_numpy(float) if name in frame else np.full(n, np.nan)

            s = Summaries(np.arange(n), column("x"), column("t_x"), column("T"), column("mean_spend"),
                          column("first_spend"), np.zeros(n), np.full(n, np.nan), 0.0)
            horizon = float(frame["horizon"].iloc[0]) if "horizon" in frame and n else 52.0
            return pd.DataFrame({"expected_purchases": model.expected(s, horizon),
                                 "p_active": model.p_active(s, horizon), "expected_spend": model.spend(s)})

        return predict

    def portfolio_files(self, files: dict) -> dict[str, str]:
        return {}

    def applicable(self, candidates: list, prepared: Prepared) -> list:
        return candidates

    def prepare(self, card, exclude: frozenset[str] = frozenset()) -> Prepared:
        from bakeoff.tasks.customer.data import prepare

        data = prepare(card)
        return Prepared(data, data, data.sha256, data.rows, 3, data.count, data.count, [], data.notes)

    def expectations(self, card) -> list:
        return []

    def resamples(self, prepared: Prepared, metric, wanted: int, seconds: float) -> int:
        """`wanted`, or as many as take about a second for a candidate (at least 100): resampling a
        million customers 500 times takes several, around models that fit in one."""
        from bakeoff.tasks.customer.metrics import SECONDS_PER_DRAW

        return min(wanted, max(MIN_RESAMPLES, int(BOOTSTRAP_SECONDS / (prepared.data.count * SECONDS_PER_DRAW))))

    def describe(self, card, prepared: Prepared, candidates: int) -> str:
        data = prepared.data
        dates = data.dates
        return (f"{card.problem.name}: {data.count:,} customers from {prepared.rows:,} log rows, calibration "
                f"{dates['start']} to {dates['calibration_end']}, holdout to {dates['holdout_end']} "
                f"({data.holdout_units:.3g} {data.time_unit}s), {card.evaluate.metric} on the holdout")

    def extras(self, evaluation, prepared: Prepared, card, expected: list, monthly_cost) -> CandidateExtras:
        return CandidateExtras()

    def facts(self, result: dict, evaluations: dict, prepared: Prepared, card) -> dict:
        from bakeoff.tasks.customer.facts import collect_facts

        return collect_facts(result, evaluations, prepared.data, card)

    def report_sections(self, result: dict, facts: dict) -> tuple[str, dict]:
        from bakeoff.tasks.customer.report import report_sections

        return report_sections(result, facts)

    def run_files(self, evaluations: dict, prepared: Prepared, card, facts: dict, expected: list) -> dict:
        """Each finished candidate's model users get (`models/<name>.pkl`) and the one that scored
        the holdout (`models/<name>.train.pkl`)."""
        import pickle

        from bakeoff.core.runstore import model_file

        files: dict[str, bytes | str] = {}
        for name, ev in evaluations.items():
            for path, model in ((model_file(name), ev.fitted), (model_file(name, holdout=True), ev.scored_model)):
                if model is not None:
                    files[path] = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        return files

    def write_card(self, data, output, force: bool = False, **given) -> list[str]:
        from bakeoff.tasks.customer.quickstart import write_card_file

        return write_card_file(data, output, force, **given)

    def predict(self, run_dir, candidate: str, data=None, threshold: str | None = None, horizon: float | None = None):
        from bakeoff.tasks.customer.predict import predict

        if threshold is not None:
            from bakeoff.errors import ConfigError

            raise ConfigError("--threshold is for classification runs; a customer run predicts purchases and "
                              "P(active): leave --threshold out")
        return predict(run_dir, candidate, data, horizon)


CUSTOMER = CustomerTask()
