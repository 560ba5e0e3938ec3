"""Build cdnow_spend.csv: one row per CDNOW customer, features from the 39-week calibration
period (1997-01-01 to 1997-09-30), target = dollars spent in the next 39 weeks.

A real regression problem (customer value) derived from the transaction log in cdnowElog.csv
(see SOURCE.md). Run: python make_data.py  (writes cdnow_spend.csv next to this file).
"""

from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
CUTOFF = pd.Timestamp("1997-09-30")


def build(log: pd.DataFrame) -> pd.DataFrame:
    log = log.assign(date=pd.to_datetime(log["date"].astype(str), format="%Y%m%d"))
    calibration, future = log[log["date"] <= CUTOFF], log[log["date"] > CUTOFF]
    per_day = calibration.groupby(["sampleid", "date"], as_index=False)[["cds", "sales"]].sum()
    customers = per_day.groupby("sampleid").agg(
        first_purchase=("date", "min"), last_purchase=("date", "max"), purchase_days=("date", "size"),
        total_cds=("cds", "sum"), total_sales=("sales", "sum"), first_sales=("sales", "first"),
        max_sales=("sales", "max"))
    customers["recency_weeks"] = (customers["last_purchase"] - customers["first_purchase"]).dt.days / 7
    customers["age_weeks"] = (CUTOFF - customers["first_purchase"]).dt.days / 7
    customers["weeks_since_last"] = (CUTOFF - customers["last_purchase"]).dt.days / 7
    customers["mean_sales"] = customers["total_sales"] / customers["purchase_days"]
    customers["first_month"] = customers["first_purchase"].dt.strftime("%b")
    customers["next_39w_sales"] = future.groupby("sampleid")["sales"].sum().reindex(customers.index).fillna(0)
    columns = ["first_month", "purchase_days", "total_cds", "total_sales", "first_sales", "max_sales",
               "mean_sales", "recency_weeks", "age_weeks", "weeks_since_last", "next_39w_sales"]
    return customers[columns].round(2).rename_axis("customer_id").reset_index()


if __name__ == "__main__":
    frame = build(pd.read_csv(HERE / "cdnowElog.csv"))
    frame.to_csv(HERE / "cdnow_spend.csv", index=False)
    print(f"wrote {len(frame)} customers to cdnow_spend.csv")
