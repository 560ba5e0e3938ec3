"""The problem card: defaults a user relies on and one-line errors for every mistake."""

import pytest

from bakeoff.core.card import card_from_dict, load_card
from bakeoff.core.units import parse_duration
from bakeoff.errors import ConfigError

BASE = {"data": {"source": "d.csv", "target": "y"}}


def with_section(section: str, values: dict) -> dict:
    return {**BASE, section: values} if section != "data" else {"data": {**BASE["data"], **values}}


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("5m", 300), ("1h30m", 5400), ("2.5m", 150),
                                           ("45", 45), (" 1m 30s ", 90)])
def test_durations_read_as_people_write_them(text, seconds):
    assert parse_duration(text) == seconds


def test_defaults_follow_the_design():
    card = card_from_dict(BASE)
    assert (card.problem.task, card.evaluate.metric, card.evaluate.folds) == ("classification", "roc_auc", 5)
    assert (card.evaluate.holdout, card.evaluate.tolerance, card.evaluate.seed) == (0.2, 0.005, 0)
    assert card.budget.total_seconds == 300 and card.budget.per_candidate_seconds == 60
    assert card_from_dict(with_section("problem", {"task": "regression"})).evaluate.metric == "rmse"


def test_per_candidate_slice_never_exceeds_the_total():
    card = card_from_dict(with_section("budget", {"total": "20s", "per_candidate": "1m"}))
    assert card.budget.per_candidate_seconds == 20


@pytest.mark.parametrize("raw, expected", [
    (with_section("data", {"colour": "red"}), "unknown key 'colour' in [data]; valid keys are source, target"),
    ({"dat": {}}, "unknown key 'dat' in the card"),
    ({"data": {"source": "d.csv"}}, "[data] is missing 'target'"),
    (with_section("evaluate", {"metric": "auc"}), "[evaluate] metric: unknown metric 'auc'; use one of roc_auc"),
    (with_section("evaluate", {"metric": "rmse"}), "metric 'rmse' is for regression, not classification"),
    ({**BASE, "problem": {"task": "regression"}, "evaluate": {"metric": "f1"}}, "metric 'f1' is for classification"),
    (with_section("budget", {"total": "5 minutes"}), "[budget] total: got '5 minutes'; write a duration such as"),
    (with_section("budget", {"per_candidate": "-1s"}), "[budget] per_candidate: got '-1s'; a budget must be more than zero"),
    (with_section("budget", {"total": "0s"}), "a budget must be more than zero"),
    (with_section("budget", {"total": "99999999999999999999999h"}), "at most 30 days"),  # a typo, not a plan
    (with_section("budget", {"total": float("nan")}), "at most 30 days"),
    (with_section("budget", {"memory": "300MB"}), "[budget] memory: got '300MB'; give at least \"1GB\""),
    (with_section("evaluate", {"folds": 1}), "[evaluate] folds: got 1; it must be at least 2"),
    (with_section("problem", {"task": "customer"}), "[data] is missing 'id'; add it, e.g. id = \"customer_id\""),
    ({"problem": {"task": "customer"}, "data": {"source": "log.csv", "id": "customer", "time": "day"}},
     "[customer] is missing; a customer card needs it, e.g. [customer] calibration_end"),
    ({"problem": {"task": "customer"}, "data": {"source": "log.csv", "id": "customer", "time": "day"},
      "customer": {"calibration_end": "30/09/1997"}}, "[customer] calibration_end: got '30/09/1997'; give a date as YYYY-MM-DD"),
    ({"problem": {"task": "customer"}, "data": {"source": "log.csv", "id": "customer", "time": "day"},
      "customer": {"calibration_end": "1997-09-30", "holdout_end": "1997-01-01"}},
     "[customer] holdout_end 1997-01-01 is not after calibration_end 1997-09-30"),
    (with_section("engine", {"kind": "spark"}), "runs a classification card one bake-off per group; set [data] group_by"),
    (with_section("data", {"group_by": "y"}), "group_by and target are both 'y'"),
    (with_section("data", {"group_by": []}), "group_by is an empty list"),
    (with_section("data", {"group_by": "store", "time": "day"}), "group_by with [data] time is not built yet"),
    ({"problem": {"task": "forecast"}, "forecast": {"horizon": 2},
      "data": {"source": "d.csv", "target": "y", "id": "s", "time": "t", "group_by": "store"}},
     "[data] group_by is for classification and regression cards"),
    (with_section("engine", {"conf": {"executor.memory": "4g"}}), "'executor.memory' is not a Spark setting"),
    (with_section("data", {"source": {"spark_table": "db.sales"}}), "set [engine] kind = \"spark\""),
    (with_section("data", {"source": {"url": "duckdb:///x.db"}}), "a SQL source needs exactly url and query"),
])
def test_each_mistake_is_one_line_naming_the_key_and_the_fix(raw, expected):
    with pytest.raises(ConfigError) as err:
        card_from_dict(raw)
    message = str(err.value)
    assert expected in message
    assert "\n" not in message


def test_a_card_file_resolves_paths_from_its_own_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "bakeoff.toml"
    path.write_text('[data]\nsource = "d.csv"\ntarget = "y"\n')
    assert load_card(path).base_dir == (tmp_path / "sub").resolve()


def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "bakeoff.toml"
    path.write_text("[data\nsource = 1")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_card(path)
