"""In-database scoring with bakeoff's exported SQL, against Python scoring and posit's orbital.

    python benchmarks/sql_scoring.py                    # 1,000,000 and 10,000,000 rows
    python benchmarks/sql_scoring.py --rows 100000      # a quick look

Rows shaped like Telco (the real rows repeated with new ids) live in a DuckDB file. For the
`linear` and `decision_tree` candidates (fitted on Telco with their default hyperparameters)
it times, side by side in this one process:

* bakeoff SQL: `CREATE TABLE scores AS <bakeoff sql>` inside DuckDB (best of 3);
* Python: read the rows into pandas in chunks of 1,000,000 and call the model (`bundle.score`);
* orbital: the same model in the nearest pipeline orbital supports (it cannot convert the
  categorical imputer; Telco's categories have no blanks, so both pipelines predict the same),
  exported by `orbital.export_sql` and run the same way (best of 3).

It prints each one's query length, time, rows per second, the ratio to bakeoff SQL and the
largest probability difference against Python. Needs `pip install -e '.[bench]'` for orbital.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from bakeoff.tasks.tabular.bundle import ModelBundle
from bakeoff.tasks.tabular.ladder.models import DecisionTree, Linear
from bakeoff.tasks.tabular.schema import apply_schema, category_levels, infer_schema
from bakeoff.tasks.tabular.sql import to_sql

TELCO = Path(__file__).resolve().parents[1] / "examples" / "telco_churn" / "Telco-Customer-Churn.csv"
CHUNK = 1_000_000


def fit_bundles() -> tuple[dict[str, ModelBundle], dict]:
    raw = pd.read_csv(TELCO)
    y = (raw["Churn"] == "Yes").astype(int).to_numpy()
    features = raw.drop(columns=["customerID", "Churn"])
    schema = infer_schema(features, [])
    X = apply_schema(features, schema)
    bundles, orbital_pipes = {}, {}
    for cls in (Linear, DecisionTree):
        candidate = cls(task="classification", n_classes=2, class_names=("No", "Yes"))
        fitted = candidate.fit(X, y)
        bundles[cls.name] = ModelBundle(cls.name, "classification", fitted, schema, ["No", "Yes"], "Churn",
                                        category_levels(X, schema))
        orbital_pipes[cls.name] = orbital_twin(fitted.pipeline, schema, X, y)
    return bundles, orbital_pipes


def orbital_twin(pipeline, schema: dict[str, str], X: pd.DataFrame, y: np.ndarray):
    """The same model and hyperparameters in a pipeline orbital converts (no categorical imputer)."""
    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = [c for c, k in schema.items() if k == "number"]
    categories = [c for c, k in schema.items() if k == "category"]
    scaled = "standardscaler" in dict(pipeline[0].transformers_[0][1].steps)
    numeric = make_pipeline(SimpleImputer(strategy="median"), *([StandardScaler()] if scaled else []))
    prep = ColumnTransformer([("num", numeric, numbers),
                              ("cat", OneHotEncoder(handle_unknown="ignore"), categories)])
    return Pipeline([("prep", prep), ("model", clone(pipeline[-1]))]).fit(_typed(X, schema), y)


def _typed(X: pd.DataFrame, schema: dict[str, str]) -> pd.DataFrame:
    out = X.copy()
    for column, kind in schema.items():
        out[column] = out[column].astype("float64") if kind == "number" else out[column].astype(str)
    return out


def make_table(con, rows: int) -> None:
    # text stays text (DuckDB would read Yes/No as booleans), the four numbers become numbers
    con.execute(f"""CREATE OR REPLACE TABLE telco AS
        SELECT * REPLACE (CAST(SeniorCitizen AS INTEGER) AS SeniorCitizen, CAST(tenure AS INTEGER) AS tenure,
                          CAST(MonthlyCharges AS DOUBLE) AS MonthlyCharges,
                          TRY_CAST(NULLIF(TRIM(TotalCharges), '') AS DOUBLE) AS TotalCharges)
        FROM read_csv('{TELCO}', all_varchar = true)""")
    con.execute(f"""CREATE OR REPLACE TABLE customers AS
        SELECT t.* REPLACE (t.customerID || '-' || CAST(r.range AS VARCHAR) AS customerID)
        FROM telco t, range({rows // 7043 + 1}) r LIMIT {rows}""")


def time_sql(con, sql: str, repeats: int = 3) -> float:
    """The best of `repeats` runs of CREATE TABLE scores AS <sql> (the result stays for checks)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE scores AS {sql}")
        best = min(best, time.perf_counter() - start)
    return best


def time_python(con, bundle: ModelBundle, rows: int) -> tuple[float, np.ndarray]:
    """Read the rows into pandas a million at a time and score them with the Python model."""
    start, sample = time.perf_counter(), None
    for offset in range(0, rows, CHUNK):
        frame = con.execute(f"SELECT * FROM customers ORDER BY customerID LIMIT {CHUNK} OFFSET {offset}").df()
        scored = bundle.score(frame)
        if sample is None:
            sample = scored.set_index("customerID")["probability"].head(5000)
    return time.perf_counter() - start, sample


def largest_difference(con, sample: pd.Series, column: str) -> float:
    got = con.execute("SELECT * FROM scores").df().set_index("customerID")[column]
    return float(np.max(np.abs(got.loc[sample.index].to_numpy(float) - sample.to_numpy(float))))


def orbital_sql(pipe, X: pd.DataFrame) -> str:
    import orbital
    import orbital.types

    features = orbital.types.guess_datatypes(X.assign(customerID="x"))  # the id passes through
    parsed = orbital.parse_pipeline(pipe, features=features)
    return orbital.export_sql("customers", parsed, dialect="duckdb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    bundles, twins = fit_bundles()
    sample_X = _typed(apply_schema(pd.read_csv(TELCO).drop(columns=["customerID", "Churn"]),
                                   bundles["linear"].schema), bundles["linear"].schema)
    with tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "bench.duckdb"))
        threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
        print(f"DuckDB {duckdb.__version__}, {threads} threads")
        for rows in args.rows:
            make_table(con, rows)
            for name, bundle in bundles.items():
                ours = to_sql(bundle, "customers", "duckdb", "customerID", pretty=False)
                theirs = orbital_sql(twins[name], sample_X)
                python_s, sample = time_python(con, bundle, rows)
                ours_s = time_sql(con, ours)
                ours_diff = largest_difference(con, sample, "probability")
                theirs_s = time_sql(con, theirs)
                theirs_diff = largest_difference(con, sample, "output_probability.1")
                print(f"{rows:>11,} rows  {name:<14} bakeoff SQL {ours_s:7.2f} s ({rows / ours_s:>12,.0f} rows/s, "
                      f"{len(ours):,} chars, max |dp| vs Python {ours_diff:.1e})")
                print(f"{'':>16} {'':<14} Python      {python_s:7.2f} s ({rows / python_s:>12,.0f} rows/s)   "
                      f"bakeoff SQL is {python_s / ours_s:.1f}x faster")
                print(f"{'':>16} {'':<14} orbital SQL {theirs_s:7.2f} s ({rows / theirs_s:>12,.0f} rows/s, "
                      f"{len(theirs):,} chars, max |dp| vs Python {theirs_diff:.1e})   "
                      f"bakeoff SQL is {theirs_s / ours_s:.2f}x as fast")
        con.close()


if __name__ == "__main__":
    main()
