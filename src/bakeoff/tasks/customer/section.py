"""The card's `[customer]` section: where the calibration period ends, the unit of time, the
horizon of the predictions and the discount rate of their value.

>>> section = CustomerSection(calibration_end="1997-09-30", amount="sales")
>>> section.time_unit, section.horizon, section.unit_days
('week', 52.0, 7.0)
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}


class CustomerSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    calibration_end: str  # the split date: models learn from purchases up to it (inclusive)
    holdout_end: str = ""  # the truth runs from the day after calibration_end to this (default: the log's last day)
    amount: str = ""  # the column of each purchase's amount (money); leave out for purchases only
    time_unit: Literal["day", "week", "month"] = "week"
    horizon: float = Field(52.0, gt=0, le=10_000)  # in time units: what `bakeoff predict` predicts by default
    discount_rate: float = Field(0.1, ge=0, le=1)  # a year's, for the value of future purchases
    inference: Literal["mle", "mcmc"] = "mle"  # mcmc: full posteriors through pymc-marketing (an extra)

    @field_validator("calibration_end", "holdout_end")
    @classmethod
    def _is_date(cls, value: str) -> str:
        if value:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"got {value!r}; give a date as YYYY-MM-DD, e.g. \"1997-09-30\"") from None
        return value

    @model_validator(mode="after")
    def _holdout_after_calibration(self) -> CustomerSection:
        if self.holdout_end and self.holdout_end <= self.calibration_end:
            raise ValueError(f"[customer] holdout_end {self.holdout_end} is not after calibration_end "
                             f"{self.calibration_end}; the holdout is the period after the calibration")
        return self

    @property
    def unit_days(self) -> float:
        return UNIT_DAYS[self.time_unit]
