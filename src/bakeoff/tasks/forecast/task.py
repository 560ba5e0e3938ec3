"""The forecasting task's side of the seam (`bakeoff.core.task.Task`): many series, one horizon.

The core races each candidate over every series; this task reads the series, scores the
rolling-origin windows, chooses a candidate per series (`selection`), and writes the forecasts.
statsforecast is imported by the methods that need it.
"""

from __future__ import annotations

import json

from bakeoff.core.task import CandidateExtras, Prepared

FACTS_VERSION = "forecast-1"
SELECTION = "selection.csv"
SERIES_INDEX = "series.json"  # the series ids and the timestamps of the forecast steps


class ForecastTask:
    name = "forecast"
    kinds = ("forecast",)
    quick_job = "bakeoff.tasks.forecast.evaluate:glance_job"
    job = "bakeoff.tasks.forecast.evaluate:evaluate_job"
    facts_version = FACTS_VERSION
    next_step = ("forecasts", "bakeoff predict {run_id} recommended -o forecasts.csv")
    serving = "bakeoff.tasks.forecast.serving"
    preload = ("bakeoff.tasks.forecast.evaluate", "statsforecast.models", "statsforecast.core")

    def default_metric(self, kind: str) -> str:
        from bakeoff.tasks.forecast.metrics import DEFAULT_METRIC

        return DEFAULT_METRIC

    def metric(self, name: str, kind: str):
        from bakeoff.tasks.forecast.metrics import get_metric

        return get_metric(name, kind)

    def ladder(self) -> dict:
        from bakeoff.tasks.forecast.ladder import ladder

        return ladder()

    sampled_note = ("evaluated on a sample of the series, as all would not fit in their share of the budget: "
                    "{names}; their scores are over those series only (compare them with the others' with care), "
                    "they are chosen only among those series, and they forecast the others as seasonal naive; "
                    "raise [budget] total (or per_candidate) to evaluate them on every series", "series")
    section = "forecast"
    data_keys = {"target": "target = ..."}
    samples_compare = False  # scored over other series than the rest: it joins the per-series choice only
    pyfunc_files = (SERIES_INDEX,)
    artifacts = (SELECTION,)
    on_spark = "bakeoff.adapters.spark_forecast:bake_on_spark"
    grouped = None  # the series are the groups: [data] id

    def pyfunc_predictor(self, artifacts: dict[str, str]):
        """What an MLflow pyfunc model of this task calls: a frame with an `id` column (the series
        wanted; all of them when it has none) in, their forecasts out."""
        from bakeoff.tasks.forecast.predict import pyfunc_predictor

        return pyfunc_predictor(artifacts)

    def portfolio_files(self, files: dict[str, bytes | str]) -> dict[str, str]:
        """The per-series choice, the series and each chosen candidate's forecasts."""
        import io

        import pandas as pd

        from bakeoff.core.runstore import model_file
        from bakeoff.tasks.forecast.predict import portfolio_key

        text = files[SELECTION]
        chosen = pd.read_csv(io.StringIO(text if isinstance(text, str) else text.decode()))["chosen"]
        if chosen.empty:
            return {}
        names = sorted(set(chosen.dropna()))
        return {SELECTION: SELECTION, SERIES_INDEX: SERIES_INDEX, **{portfolio_key(n): model_file(n) for n in names}}

    def applicable(self, candidates: list, prepared: Prepared) -> list:
        """Croston and TSB only where the series are intermittent (many zeros)."""
        from bakeoff.tasks.forecast.ladder import suited

        return suited(candidates, prepared.data.intermittent())

    def prepare(self, card, exclude: frozenset[str] = frozenset()) -> Prepared:
        from bakeoff.tasks.forecast.data import prepare

        series = prepare(card)
        steps = sum(len(v) for v in series.values)
        holdout = series.count * series.horizon
        return Prepared(series, series, series.sha256, series.rows, 3, steps - holdout, holdout, [], series.notes)

    def expectations(self, card) -> list:
        return []

    def resamples(self, prepared: Prepared, metric, wanted: int, seconds: float) -> int:
        return wanted  # resampling series costs microseconds

    def describe(self, card, prepared: Prepared, candidates: int) -> str:
        data = prepared.data
        return (f"{card.problem.name}: forecast of {card.data.target}, {data.count:,} series, horizon "
                f"{data.horizon}, season {'/'.join(map(str, data.seasons))}, {card.evaluate.metric} over "
                f"{data.windows} rolling windows, the last {data.horizon} steps held out")

    def extras(self, evaluation, prepared: Prepared, card, expected: list,
               monthly_cost: float | None) -> CandidateExtras:
        return CandidateExtras()

    def facts(self, result: dict, evaluations: dict, prepared: Prepared, card) -> dict:
        from bakeoff.tasks.forecast.facts import collect_facts

        return collect_facts(result, evaluations, prepared.data, card)

    def report_sections(self, result: dict, facts: dict) -> tuple[str, dict]:
        from bakeoff.tasks.forecast.report import report_sections

        return report_sections(result, facts)

    def run_files(self, evaluations: dict, prepared: Prepared, card, facts: dict,
                  expected: list) -> dict[str, bytes | str]:
        """Each finished candidate's forecasts (`models/<name>.pkl`, from every step of every series)
        and its holdout forecasts (`models/<name>.train.pkl`, made without the holdout), the
        per-series choice, and the series' ids and steps."""
        import pickle

        from bakeoff.core.runstore import model_file

        data = prepared.data
        files: dict[str, bytes | str] = {}
        for name, ev in evaluations.items():
            for path, model in ((model_file(name), ev.fitted), (model_file(name, holdout=True), ev.scored_model)):
                if model is not None:
                    files[path] = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        times = data.future_time_texts(data.horizon)
        files[SERIES_INDEX] = json.dumps({"ids": data.ids, "times": times, "target": card.data.target,
                                          "key_columns": data.key_columns, "key_parts": data.key_parts})
        files[SELECTION] = selection_csv(facts)
        return files

    def write_card(self, data, output, force: bool = False, **given) -> list[str]:
        """`bakeoff init --task forecast`: a commented card, checked, written to `output`."""
        from bakeoff.tasks.forecast.quickstart import write_card_file

        return write_card_file(data, output, force, **given)

    def predict(self, run_dir, candidate: str, data=None, threshold: str | None = None,
                horizon: float | None = None):
        """Forecasts of every series from a finished run, as `bakeoff predict` gives them."""
        from bakeoff.tasks.forecast.predict import forecasts

        if horizon is not None:
            from bakeoff.errors import ConfigError

            raise ConfigError("--horizon is for customer runs; a forecast run forecasts its card's [forecast] horizon "
                              "(change it there and run again)")
        if data is not None:
            from bakeoff.errors import ConfigError

            raise ConfigError("a forecast run forecasts the series it learned from and takes no data file; "
                              "run bakeoff predict RUN_ID CANDIDATE -o forecasts.csv")
        return forecasts(run_dir, candidate), []


def selection_csv(facts: dict) -> str:
    """The per-series choice as CSV: id, chosen, its score, the best and its score."""
    import pandas as pd

    columns = ["id", "chosen", "chosen_score", "best", "best_score"]
    return pd.DataFrame(facts.get("selection", {}).get("rows", []), columns=columns).to_csv(index=False)


FORECAST = ForecastTask()
