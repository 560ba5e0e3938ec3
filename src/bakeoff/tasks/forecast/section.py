"""The card's `[forecast]` section: what to forecast and how to evaluate it.

>>> ForecastSection(horizon=48, season_length=[24, 168]).seasons
[24, 168]
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

LEVEL_MAX = 99.9


class ForecastSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    horizon: int = Field(ge=1, le=10_000)
    frequency: str = ""  # a pandas offset alias ("h", "D", "W-SUN", "MS"); inferred when left out
    season_length: int | list[int] | None = None  # inferred from the frequency when left out
    windows: int = Field(2, ge=1, le=50)  # rolling-origin evaluation windows of `horizon` steps
    level: list[float] = Field(default_factory=lambda: [80.0, 95.0])  # prediction interval levels, %
    fill: Literal["none", "zero", "forward"] = "none"  # gaps in a series' timestamps
    floor: float | None = None  # no forecast or interval bound below it (0 for counts and sales)

    @field_validator("season_length")
    @classmethod
    def _seasons_positive(cls, value):
        seasons = [value] if isinstance(value, int) else value
        if seasons is not None and (not seasons or any(s < 1 for s in seasons)):
            raise ValueError(f"got {value!r}; give one whole number of steps per season (24 for hours "
                             "in a day) or several, e.g. [24, 168]")
        return value

    @field_validator("level")
    @classmethod
    def _levels_are_percent(cls, value: list[float]) -> list[float]:
        if any(not 0 < level <= LEVEL_MAX for level in value):
            raise ValueError(f"got {value!r}; give interval levels in percent between 0 and {LEVEL_MAX}, "
                             "e.g. [80, 95]")
        return sorted(set(value))

    @property
    def seasons(self) -> list[int] | None:
        """The season lengths as a list (None when they are to be inferred)."""
        if self.season_length is None:
            return None
        return [self.season_length] if isinstance(self.season_length, int) else list(self.season_length)
