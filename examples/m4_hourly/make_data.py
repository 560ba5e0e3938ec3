"""Build m4_hourly.parquet (long form: series, hour, value) from the official M4 Hourly files.

Each series is its training part followed by the 48 official test values, so the holdout a
bake-off keeps (the last `horizon` = 48 steps) is exactly the competition's test set.

    python make_data.py /path/to/Hourly-train.csv.gz /path/to/Hourly-test.csv
"""

import sys

import numpy as np
import pandas as pd


def long_form(train_path: str, test_path: str) -> pd.DataFrame:
    train = pd.read_csv(train_path, index_col=0)
    test = pd.read_csv(test_path, index_col=0)
    parts = []
    for sid, row in train.iterrows():
        values = np.concatenate([row.dropna().to_numpy(float), test.loc[sid].to_numpy(float)])
        parts.append(pd.DataFrame({"series": sid, "hour": np.arange(1, len(values) + 1), "value": values}))
    return pd.concat(parts, ignore_index=True)


if __name__ == "__main__":
    train_file, test_file = sys.argv[1:3]
    long_form(train_file, test_file).to_parquet("m4_hourly.parquet", index=False)
