"""The customer task as a user runs it: the CDNOW example from the log to the verdict, the report
and per-customer predictions; summaries of a hand-made log; bad input refused in one line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli, only_run, read_result, run_cli

EXAMPLE = Path(__file__).parents[1] / "examples" / "cdnow_customers"
LOG = Path(__file__).parents[1] / "examples" / "cdnow_spend" / "cdnowElog.csv"


@pytest.fixture(scope="module")
def cdnow_run(tmp_path_factory) -> Path:
    """The example card run once, as the README says, with a shorter budget."""
    folder = tmp_path_factory.mktemp("cdnow")
    card = (EXAMPLE / "bakeoff.toml").read_text().replace("../cdnow_spend/cdnowElog.csv", str(LOG))
    (folder / "bakeoff.toml").write_text(card.replace('total = "1m"', 'total = "40s"'))
    done = cli("run", "bakeoff.toml", cwd=folder)  # tracked: the MLflow models are checked below
    assert done.returncode == 0, done.stderr
    return only_run(folder)


def holdout_purchase_days() -> pd.Series:
    """Per customer, the days with a purchase from 1997-10-01 to 1998-06-30, counted with pandas."""
    log = pd.read_csv(LOG)
    day = pd.to_datetime(log["date"].astype(str), format="%Y%m%d")
    later = log[(day > "1997-09-30") & (day <= "1998-06-30")].assign(day=day)
    return later.groupby("sampleid")["day"].nunique()


def test_cdnow_every_rung_finishes_and_the_published_models_beat_the_naive_rate(cdnow_run):
    result = read_result(cdnow_run)
    scores = {c["name"]: c["score"] for c in result["candidates"] if c["status"] == "ok"}
    assert set(scores) == {"historic_rate", "recency_rule", "rfm_cells", "bg_nbd", "pareto_nbd", "lightgbm_rfm"}
    # Fader, Hardie & Lee (2005) show BG/NBD tracking CDNOW's holdout closely; carrying each customer's
    # past rate forward ignores that customers drop out, and over-predicts the quiet ones
    assert scores["bg_nbd"] < scores["historic_rate"] and scores["pareto_nbd"] < scores["historic_rate"]
    assert result["recommended"] in scores


def test_cdnow_holdout_truth_and_calibration_estimates(cdnow_run):
    import json
    import pickle

    facts = json.loads((cdnow_run / "facts.json").read_text())
    assert facts["holdout_total"] == holdout_purchase_days().sum()  # every purchase day of the holdout, none else
    scored = pickle.loads((cdnow_run / "models" / "bg_nbd.train.pkl").read_bytes())
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee (2005), calibration
    assert scored.fit.params == pytest.approx(published, abs=6e-3)
    assert scored.fit.log_likelihood == pytest.approx(-9582.43, abs=0.01)


def test_cdnow_report_has_the_answer_and_the_sections(cdnow_run):
    page = (cdnow_run / "report.html").read_text()
    result = read_result(cdnow_run)
    answer = re.search(r'<p class="answer" id="recommendation">(.*?)</p>', page, re.S).group(1)
    assert answer.startswith(result["recommended"]) and "39 weeks" in answer
    for section in ('id="tracking"', 'id="by-frequency"', 'id="p-active"', 'id="gone"', 'id="valuable"',
                    'id="customer-scores"'):
        assert section in page, section
    import json

    facts = json.loads((cdnow_run / "facts.json").read_text())
    # who is gone is listed by Pareto/NBD: BG/NBD's P(alive) is 1 for every customer without a repeat
    # purchase, so it cannot rank them (Fader, Hardie & Lee 2005), and its ROC AUC shows it
    assert facts["shown"] == "pareto_nbd" and facts["scores"]["bg_nbd"]["auc_active"] < 0.5


def test_cdnow_predict_over_a_horizon(cdnow_run, tmp_path):
    run_id = cdnow_run.name
    done = cli("predict", str(cdnow_run), "bg_nbd", str(LOG), "--horizon", "52", "-o", "customers.csv",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "p_active is 1 for every customer without a repeat purchase" in done.stderr
    table = pd.read_csv(tmp_path / "customers.csv")
    assert len(table) == 2357 and table["sampleid"].is_unique  # the id column named as in the card
    log = pd.read_csv(LOG)
    days = log.assign(day=log["date"]).groupby("sampleid")["day"].nunique()
    assert (table.set_index("sampleid")["purchases"] == days - 1).all()  # repeat purchase days, to the log's end
    assert table["p_active"].between(0, 1).all() and (table["expected_purchases"] >= 0).all()
    longer = cli("predict", str(cdnow_run), "bg_nbd", str(LOG), "--horizon", "104", "-o", "two.csv", cwd=tmp_path)
    assert longer.returncode == 0, longer.stderr
    two = pd.read_csv(tmp_path / "two.csv")
    assert (two["expected_purchases"] > table["expected_purchases"]).all()  # two years hold more than one
    assert (two["value"] > table["value"]).all()
    assert run_id


def test_value_without_discounting_is_purchases_times_spend(cdnow_run, tmp_path):
    """With a discount rate of 0 a customer's value is their expected purchases times their spend."""
    import json

    card = json.loads((cdnow_run / "card.json").read_text())
    assert card["customer"]["discount_rate"] == 0.1
    import pickle

    from bakeoff.tasks.customer.data import summaries_now
    from bakeoff.tasks.customer.predict import customer_table, value
    from bakeoff.tasks.customer.section import CustomerSection

    model = pickle.loads((cdnow_run / "models" / "pareto_nbd.pkl").read_bytes())
    section = CustomerSection(calibration_end="1997-09-30", amount="sales")
    now = summaries_now(str(LOG), tmp_path, "sampleid", "date", section)
    table = customer_table(model, now, 52, 7.0, 0.0, True)
    assert np.allclose(table["value"], table["expected_purchases"] * table["expected_spend"])
    discounted = value(model, now, 52, 7.0, 0.1)
    assert (discounted < table["value"]).all() and (discounted > table["value"] / 1.1).all()  # within a year


HAND_LOG = """customer,day,total
a,2024-01-01,10
a,2024-01-01,5
a,2024-01-15,20
a,2024-01-29,-4
a,2024-01-29,30
b,2024-01-08,7
b,2024-02-01,-7
c,2024-02-20,9
a,2024-03-04,11
b,2024-03-11,8
d,2024-03-20,3
"""
FILLER = "".join(f"f{k:02d},2024-01-{2 + k % 20:02d},{10 + k}\nf{k:02d},2024-02-{1 + k % 20:02d},{12 + k}\n"
                 for k in range(30))  # 30 customers buying twice: enough to learn from, not what is checked
HAND_LOG += FILLER
HAND_CARD = """
[problem]
task = "customer"
[data]
source = "log.csv"
id = "customer"
time = "day"
[customer]
amount = "total"
calibration_end = "2024-02-26"
time_unit = "week"
[budget]
total = "20s"
[ladder]
only = ["historic_rate", "bg_nbd"]
"""


def test_summaries_of_a_hand_made_log(tmp_path):
    """Computed by hand: a's purchases on Jan 1 (two, one day), Jan 15, Jan 29 (a return netted);
    b's return on a day without a purchase is no purchase."""
    from bakeoff.core.card import card_from_text
    from bakeoff.tasks.customer.data import prepare

    (tmp_path / "log.csv").write_text(HAND_LOG)
    data = prepare(card_from_text(HAND_CARD).with_base_dir(tmp_path))
    s = data.calibration
    at = {key: k for k, key in enumerate(s.ids)}
    a, b, c = at["a"], at["b"], at["c"]
    assert s.count == 33 and "d" not in at  # d first bought after the calibration end
    assert (s.x[a], s.t_x[a], s.T[a]) == (2, 4.0, 8.0)  # repeat days Jan 15, Jan 29; Feb 26 is 8 weeks on
    assert s.spend[a] == pytest.approx((20 + 26) / 2) and s.first_spend[a] == 15  # the return nets against Jan 29
    assert (s.x[b], s.T[b], s.x[c]) == (0, 7.0, 0)  # b's return on Feb 1 is no purchase and s.T[c] == pytest.approx(6 / 7)  # Feb 20 to Feb 26
    assert (s.later[a], s.later[b], s.later[c]) == (1, 1, 0)  # holdout: a on Mar 4, b on Mar 11
    notes = " ".join(data.notes)
    assert "2 purchases on the same day" in notes and "2 returns" in notes and "1 customer-days with only returns" in notes and "1 customers first bought after" in notes


@pytest.mark.parametrize("change, message", [
    (('id = "customer"', 'id = "day"'), "customers bought on two days by calibration_end"),
    (('calibration_end = "2024-02-26"', 'calibration_end = "2023-06-30"'),
     "no purchases on or before [customer] calibration_end 2023-06-30"),
    (("a,2024-01-15,20", "a,15 Jan,20"), "1 values of [data] time 'day' are not dates (e.g. '15 Jan')"),
    (("b,2024-01-08,7", ",2024-01-08,7"), "1 of 71 rows have no customer id in 'customer'"),
    (('id = "customer"', 'id = "client"'), "[data] id 'client' is not a column of the log; columns are customer, day, total"),
    (('amount = "total"', 'amount = "day"'), "[customer] amount 'day' holds"),
    (('calibration_end = "2024-02-26"', 'calibration_end = "2024-03-20"'), "no purchases after [customer] calibration_end"),
])
def test_bad_input_is_one_line_and_nothing_is_written(tmp_path, change, message):
    old, new = change
    (tmp_path / "log.csv").write_text(HAND_LOG.replace(old, new))
    (tmp_path / "bakeoff.toml").write_text(HAND_CARD.replace(old, new))
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_init_writes_a_card_that_runs(tmp_path):
    (tmp_path / "log.csv").write_text(HAND_LOG)
    done = run_cli("init", "log.csv", "--task", "customer", "--id", "customer", "--time", "day", "--amount", "total",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "bakeoff.toml").read_text()
    assert 'calibration_end = "2024-02-22"' in text and 'holdout_end = "2024-03-20"' in text  # 52 of its 79 days
    missing = cli("init", "log.csv", "--task", "customer", "--time", "day", "-o", "other.toml", cwd=tmp_path)
    assert missing.returncode == 2 and "a customer card needs --id" in missing.stderr
    assert not (tmp_path / "other.toml").exists()


def test_auc_of_p_active_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    from bakeoff.tasks.customer.metrics import Outcome, Predicted, resampled, score

    rng = np.random.default_rng(3)
    bought = rng.poisson(0.6, 500).astype(float)
    active = np.clip(bought / 3 + rng.normal(0, 0.3, 500), 0, 1)
    truth, guess = Outcome(bought, np.full(500, np.nan)), Predicted(bought * 0.9, active, np.zeros(500))
    assert score("auc_active", truth, guess) == pytest.approx(roc_auc_score(bought > 0, active))
    boot = resampled("auc_active", truth, guess, 50, seed=0)
    assert np.all((boot > 0.5) & (boot <= 1))


@pytest.mark.parametrize("source", ["parquet", "folder", "sql"])
def test_every_source_gives_the_same_customers(tmp_path, source):
    """A Parquet file, a folder of Parquet files and a SQL query give the CSV's summaries."""
    import duckdb

    from bakeoff.core.card import card_from_text
    from bakeoff.tasks.customer.data import prepare

    (tmp_path / "log.csv").write_text(HAND_LOG)
    frame = pd.read_csv(tmp_path / "log.csv")
    if source == "parquet":
        frame.to_parquet(tmp_path / "log.parquet")
        given = 'source = "log.parquet"'
    elif source == "folder":
        (tmp_path / "parts").mkdir()
        for k, part in enumerate((frame.iloc[:30], frame.iloc[30:])):
            part.to_parquet(tmp_path / "parts" / f"part-{k}.parquet")
        given = 'source = "parts"'
    else:
        with duckdb.connect(str(tmp_path / "shop.duckdb")) as con:
            con.execute("CREATE TABLE orders AS SELECT * FROM read_csv_auto(?)", [str(tmp_path / "log.csv")])
        given = 'source = { url = "duckdb:///shop.duckdb", query = "SELECT * FROM orders" }'
    expected = prepare(card_from_text(HAND_CARD).with_base_dir(tmp_path)).calibration
    found = prepare(card_from_text(HAND_CARD.replace('source = "log.csv"', given)).with_base_dir(tmp_path)).calibration
    assert list(found.ids) == list(expected.ids)
    for column in ("x", "t_x", "T", "spend", "later"):
        assert np.array_equal(getattr(found, column), getattr(expected, column), equal_nan=True), column


def test_the_mlflow_model_predicts_as_bakeoff_predict_does(cdnow_run, tmp_path):
    import mlflow.pyfunc

    result = read_result(cdnow_run)
    mlflow.set_tracking_uri(f"sqlite:///{cdnow_run.parent.parent / '.bakeoff' / 'mlflow.db'}")
    uri = next(c["model_uri"] for c in result["candidates"] if c["name"] == result["recommended"])
    served_model = mlflow.pyfunc.load_model(uri)
    done = cli("predict", str(cdnow_run), "recommended", str(LOG), "--horizon", "26", "-o", "offline.csv",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    offline = pd.read_csv(tmp_path / "offline.csv").head(200)
    summaries = pd.DataFrame({"x": offline["purchases"], "t_x": offline["age"] - offline["recency"],
                              "T": offline["age"], "horizon": 26})
    served = served_model.predict(summaries)
    assert np.allclose(served["expected_purchases"], offline["expected_purchases"])
    assert np.allclose(served["p_active"], offline["p_active"])


@pytest.mark.parametrize("last_day, expected", [(12, "reads as month/day and as day/month alike"),
                                                (28, "read as MM/DD/YYYY")])
def test_dates_with_slashes_are_read_one_way_or_refused(tmp_path, last_day, expected):
    """11/04/2023 is 4 November or 11 April: refused unless some value settles it (a 28th)."""
    from bakeoff.core.card import card_from_text
    from bakeoff.errors import DataError
    from bakeoff.tasks.customer.data import prepare

    rows = [f"c{k},{1 + k % 3:02d}/{1 + k % last_day:02d}/2024,5" for k in range(200)]
    rows += [f"c{k},{4 + k % 3:02d}/{1 + k % 12:02d}/2024,6" for k in range(100)]
    (tmp_path / "log.csv").write_text("customer,day,total\n" + "\n".join(rows) + "\n")
    card = card_from_text(HAND_CARD.replace('calibration_end = "2024-02-26"', 'calibration_end = "2024-05-31"'))
    try:
        data = prepare(card.with_base_dir(tmp_path))
    except DataError as err:
        assert expected in str(err)
        return
    assert expected in " ".join(data.notes) and data.dates["start"] == "2024-01-01"


def test_a_served_customer_model_answers_as_bakeoff_predict(cdnow_run, tmp_path):
    """Promoted and served: customers sent as their summaries get `bakeoff predict`'s figures."""
    from test_serve import Server

    from bakeoff.core.runstore import read_card
    from bakeoff.tasks.customer.data import summaries_now

    folder = cdnow_run.parent.parent  # the card's folder: its .bakeoff/ holds the registry
    done = cli("promote", cdnow_run.name, "recommended", "--name", "clv", cwd=folder)
    assert done.returncode == 0, done.stderr
    done = cli("predict", str(cdnow_run), "recommended", str(LOG), "--horizon", "26", "-o", "offline.csv",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    offline = pd.read_csv(tmp_path / "offline.csv").head(150)
    card = read_card(cdnow_run)
    now = summaries_now(str(LOG), tmp_path, card.data.id, card.data.time, card.customer)
    rows = [{"sampleid": int(i), "purchases": x, "recency": T - t_x, "age": T,
             "mean_spend": None if np.isnan(spend) else spend, "horizon": 26}
            for i, x, t_x, T, spend in zip(now.ids[:150], now.x, now.t_x, now.T, now.spend)]
    assert [r["sampleid"] for r in rows] == offline["sampleid"].tolist()
    with Server(folder, name="clv") as server:
        served = server.predict(rows).json()["predictions"]
        bad = server.predict([{**rows[0], "recency": rows[0]["age"] + 1}])
        shown = server.client.get("/openapi.json").json()["paths"]["/v1/predict"]["post"]["requestBody"]
        example = server.client.post("/v1/predict", json=shown["content"]["application/json"]["example"])
        server.stop()
    assert example.status_code == 200, example.text  # /docs's example is a request it answers
    for column in ("expected_purchases", "p_active", "expected_spend", "value"):
        assert np.allclose([s[column] for s in served], offline[column], rtol=1e-9), column
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "recency"
