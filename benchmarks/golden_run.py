"""A golden run: the scores, choices and models of one fixed bake-off, without timings.

Run it before and after a change that must not change results, and diff the two files:

    python benchmarks/golden_run.py /tmp/before.json
    ... change the code ...
    python benchmarks/golden_run.py /tmp/after.json && diff /tmp/before.json /tmp/after.json

Cost fields (fit seconds, latency, sizes, money that depends on them) and anything with a
timestamp are left out; everything a user compares between runs of one card stays.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMED = {"fit_seconds", "predict_us_per_row", "latency_ms_p50", "model_bytes", "monthly_cost",
         "monthly_value", "wall_seconds", "work_seconds", "model_uri", "diff_ci",
         # the pickled models' bytes differ between two runs of the same code (seen on 2026-12-02:
         # every score, setting and figure equal, the files' sha256 not), so their digests do too
         "model_sha256", "holdout_model_sha256"}


def _card(folder: Path, source: Path, target: str, extra: str) -> Path:
    card = folder / "bakeoff.toml"
    card.write_text(f"""[problem]
name = "golden {target}"
task = "{'classification' if target == 'Churn' else 'regression'}"
[data]
source = "{source}"
target = "{target}"
{extra}
[evaluate]
folds = 5
holdout = 0.2
seed = 0
[budget]
total = "30m"
per_candidate = "10m"
trials = 4
workers = 2
""")
    return card


def golden(card_path: Path) -> dict:
    import bakeoff

    with tempfile.TemporaryDirectory() as out:
        outcome = bakeoff.bake(bakeoff.load_card(card_path), out=Path(out), track=False)
        result = outcome.result.to_dict()
        facts = json.loads((outcome.run_dir / "facts.json").read_text())
    keep = {k: v for k, v in result.items() if k not in {"run_id", "provenance", "card_dir", "reason"}}
    keep["candidates"] = [{k: v for k, v in row.items() if k not in TIMED} for row in result["candidates"]]
    keep["provenance"] = {k: result["provenance"][k] for k in ("data_sha256", "rows", "columns", "seed")}
    keep["facts"] = facts
    return keep


def main(out: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for f in ("t", "c"):
            (folder / f).mkdir()
        runs = {
            "telco": _card(folder / "t", ROOT / "examples/telco_churn/Telco-Customer-Churn.csv", "Churn",
                           'positive = "Yes"\nid = "customerID"'),
            "cdnow": _card(folder / "c", ROOT / "examples/cdnow_spend/cdnow_spend.csv", "next_39w_sales",
                           'id = "customer_id"'),
        }
        results = {name: golden(card) for name, card in runs.items()}
    Path(out).write_text(json.dumps(results, indent=1, sort_keys=True, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1])
