"""The report's facts against independent computations (scikit-learn, hand counts)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from conftest import make_classification_frame
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix

from bakeoff.tasks.tabular.facts import (
    calibration,
    capture_at,
    confusion,
    gains,
    linear_effects,
    permutation_drop,
    segments,
)
from bakeoff.tasks.tabular.ladder.models import Linear
from bakeoff.tasks.tabular.report import headline


def test_confusion_counts_match_scikit_learn():
    rng = np.random.default_rng(3)
    y, score = rng.integers(0, 2, 500), rng.random(500)
    counts = confusion(y, score, 0.3)
    tn, fp, fn, tp = confusion_matrix(y, score >= 0.3).ravel()
    assert (counts["tn"], counts["fp"], counts["fn"], counts["tp"]) == (tn, fp, fn, tp)


def test_permutation_drops_equal_scikit_learns_permutation_importance(monkeypatch):
    """The batched shuffles are scikit-learn's own: the same drops and spreads for the seed,
    however many shuffled copies go into one prediction call."""
    from sklearn.compose import make_column_transformer
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    import bakeoff.tasks.tabular.facts as facts

    frame = make_classification_frame(300, seed=5)
    frame["colour"] = frame["colour"].astype("category")  # a dtype that must survive the shuffles
    X, y = frame.drop(columns="label"), (frame["label"] == "yes").to_numpy().astype(int)
    model = make_pipeline(make_column_transformer((OneHotEncoder(), ["colour"]), remainder="passthrough"),
                          LogisticRegression()).fit(X, y)
    theirs = permutation_importance(model, X, y, scoring="roc_auc", n_repeats=4, random_state=11)
    expected = {c: (m, s) for c, m, s in zip(X.columns, theirs.importances_mean, theirs.importances_std)}
    for cells in (10**9, X.size * 3, 1):  # every copy in one call, three per call, one per call
        monkeypatch.setattr(facts, "PERMUTED_CELLS", cells)
        ours = permutation_drop(lambda rows: model.predict_proba(rows)[:, 1], roc_auc_score, X, y, 11, repeats=4)
        assert [o["feature"] for o in ours] == sorted(X.columns, key=lambda c: -expected[c][0])
        for o in ours:
            assert o["drop"] == round(expected[o["feature"]][0], 5) and o["spread"] == round(expected[o["feature"]][1], 5)
    assert ours[0]["feature"] == "x1" and ours[-1]["drop"] < 0.01  # x1 weighs most; noise barely


def test_gains_and_capture_agree_with_a_hand_count():
    y = np.array([1, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    score = np.array([.95, .9, .8, .7, .6, .5, .4, .3, .2, .1])
    # the top 20 % is the first two rows: one of the three positives
    assert capture_at(y, score, 0.2) == 1 / 3
    curve = gains(y, score, points=10)
    assert curve[2] == [0.2, round(1 / 3, 4)] and curve[3] == [0.3, round(2 / 3, 4)] and curve[-1] == [1.0, 1.0]


def test_calibration_groups_cover_every_row_once():
    rng = np.random.default_rng(0)
    score = rng.random(1003)
    y = (rng.random(1003) < score).astype(int)
    found = calibration(y, score)
    assert sum(found["rows"]) == 1003 and len(found["rows"]) == 10
    assert found["predicted"] == sorted(found["predicted"])
    # rows drawn with their own probability: observed shares track the predictions
    assert max(abs(p - o) for p, o in zip(found["predicted"], found["observed"])) < 0.12


def test_linear_effects_equal_an_unpenalised_model_fitted_on_raw_units():
    frame = make_classification_frame(4000, seed=2)
    X, y = frame[["x1", "x2", "colour"]], (frame["label"] == "yes").astype(int).to_numpy()
    fitted = Linear(task="classification", n_classes=2, class_names=("no", "yes"), C=1e6).fit(X, y)
    effects = {e["text"].split(" the odds")[0]: e for e in linear_effects(fitted, True, "yes")}
    # the same model fitted by hand on raw units with one-hot columns against 'blue'
    raw = pd.get_dummies(X, columns=["colour"], dtype=float).drop(columns="colour_blue")
    plain = LogisticRegression(C=1e6, max_iter=5000).fit(raw, y)
    weights = dict(zip(raw.columns, plain.coef_[0]))
    red = effects["colour 'red' instead of 'blue' raises"]
    assert math.isclose(red["factor"], math.exp(weights["colour_red"]), rel_tol=0.01)
    x1 = next(e for key, e in effects.items() if key.startswith("each extra 1 of x1"))
    assert math.isclose(x1["factor"], math.exp(weights["x1"]), rel_tol=0.01)
    assert "lowers" in next(key for key in effects if "of x2" in key)  # the rule gives x2 weight -1


def test_segments_mark_small_groups_and_score_each_group_alone():
    X = pd.DataFrame({"plan": ["a"] * 50 + ["b"] * 10, "age": np.arange(60.0)})
    y = np.r_[np.zeros(25), np.ones(25), np.ones(10)].astype(int)
    pred = y.astype(float)
    found = segments(X, y, pred, lambda t, p: float((t == p).mean()), ["age"], ["plan"])
    by_plan = {s["segment"]: s for s in found if s["column"] == "plan"}
    assert by_plan["a"]["rows"] == 50 and not by_plan["a"]["small"] and by_plan["a"]["actual"] == 0.5
    assert by_plan["b"]["small"] and by_plan["b"]["actual"] == 1.0
    ages = [s for s in found if s["column"] == "age"]
    assert len(ages) == 4 and sum(s["rows"] for s in ages) == 60


def test_the_headline_speaks_in_the_business_terms_given():
    result = {"recommended": "linear", "reason": "x", "candidates": [
        {"name": "linear", "title": "Scorecard", "rung": 2, "monthly_value": 12345.4}]}
    facts = {"kind": "binary", "positive": "Yes", "headline": {"share": 0.2, "capture": 0.58},
             "quality": {"linear": {"capture": 0.58}}}
    assert headline(result, facts) == ("Use the Scorecard (linear). Flagging the 20 % of cases it ranks highest "
                                       "catches 58 % of those that turn out 'Yes'; worth about 12,345 a month "
                                       "at the values you gave.")
    lightgbm = {"name": "lightgbm", "title": "Gradient boosting (LightGBM)", "rung": 4}
    assert headline({"recommended": "lightgbm", "candidates": [lightgbm]}, {}) == \
        "Use the Gradient boosting (LightGBM)."  # its name is in its title already: not said twice


def test_a_cut_inside_tied_scores_takes_its_share_of_the_tie_whatever_the_row_order():
    # a rule model gives 40 rows the same score; 10 of them are positive, 10 more positives elsewhere
    score = np.r_[np.full(40, 0.9), np.full(60, 0.1)]
    y = np.r_[np.ones(10), np.zeros(30), np.ones(10), np.zeros(50)].astype(int)
    shuffled = np.random.default_rng(0).permutation(100)
    for order in (np.arange(100), shuffled):
        # the top 20 rows are half of the tie: half of its 10 positives, out of 20 in all
        assert capture_at(y[order], score[order], 0.2) == 0.25


def test_regression_samples_show_the_closest_the_furthest_and_typical_errors():
    from bakeoff.tasks.tabular.facts import regression_samples

    y = np.arange(10.0)
    pred = y + np.array([0, 5, 1, 9, 2, 3, 4, 6, 7, 8])  # errors 0..9, each once
    frame = pd.DataFrame({"x": np.arange(10)})
    picks = regression_samples(frame, None, y, pred)
    by_group = {g: [p["shown"] for p in picks if p["group"] == g] for g in
                ("closest to the truth", "furthest from the truth", "typical")}
    assert by_group["closest to the truth"] == [0, 1, 2] and by_group["furthest from the truth"] == [9, 8, 7]
    typical = sorted(by_group["typical"])  # the median error is 4.5: 4 and 5, then 3 or 6
    assert typical[1:] == [4, 5] and typical[0] == 3


def test_markup_and_dollars_in_names_reach_the_page_as_text(tmp_path):
    from conftest import cli

    rng = np.random.default_rng(1)
    n = 300
    x = rng.normal(size=n)
    frame = pd.DataFrame({"spend_$k_vs_$m": x, "<b>plan</b>": rng.choice(["a&b", "<i>c</i>"], n),
                          "label": np.where(x + rng.normal(size=n) > 0, "<script>yes</script>", "no")})
    frame.to_csv(tmp_path / "weird.csv", index=False)
    done = cli("run", "weird.csv", "--target", "label", "--only", "constant,rules,linear",
               "--no-track", "--budget", "30s", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = next((tmp_path / "runs").iterdir())
    html = run_dir.joinpath("report.html").read_text()
    assert "<script>" not in html and "<b>plan" not in html and "<i>c" not in html
    assert "&lt;b&gt;plan&lt;/b&gt;" in html and "spend_$k_vs_$m" in html and "mathdefault" not in html
    from fastapi.testclient import TestClient

    from bakeoff.adapters.feedback import FeedbackStore
    from bakeoff.tasks.tabular.review import create_app, load_review_set

    review = load_review_set(run_dir)
    with TestClient(create_app(review, FeedbackStore(review.store_url)), base_url="http://127.0.0.1") as client:
        page = client.get("/").text
    assert "<script>" not in page and "<b>plan" not in page and "&lt;b&gt;plan&lt;/b&gt;" in page
