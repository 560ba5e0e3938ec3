"""What evaluating one candidate yields: a flat, picklable record returned by its worker."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bakeoff.core.candidate import Fitted
from bakeoff.core.tune import Tuning


@dataclass
class Evaluation:
    name: str
    tuning: Tuning  # the hyperparameters used, and how the search for them ended
    oof: np.ndarray  # out-of-fold predictions for the training rows (NaN where unscored)
    scored: np.ndarray  # bool mask of training rows that have an out-of-fold prediction
    cv_score: float
    bootstrap: np.ndarray  # the score on each shared bootstrap resample of the scored rows
    score_ci: tuple[float, float]
    holdout_score: float | None
    fit_seconds: float
    predict_us_per_row: float
    latency_ms_p50: float
    model_bytes: int
    n_params: int
    sql: bool  # the fitted model exports to SQL (see sql.py); sql_reason says why not
    description: str
    fitted: Fitted | None = field(default=None, repr=False)
    sql_reason: str | None = None
    work_seconds: float = 0.0  # the candidate's own fitting, tuning and scoring (not the harness's)
    # `fitted` is the model users get; when it learned from every row (refit = "all"), the one
    # fitted on the training part alone, which scored the holdout, is kept here for the report
    scored_model: Fitted | None = field(default=None, repr=False)
    final_rows: int = 0  # rows `fitted` learned from
    fold_fit_rows: int = 0  # rows each cross-validation fold fitted on, when a sample; 0: all
    assess_seconds: float = 0.0  # wall seconds to the first complete result (its defaults, assessed)
    notes: list[str] = field(default_factory=list)  # what the run's notes must say about this candidate

    @property
    def holdout_model(self) -> Fitted | None:
        """The model the holdout figures come from: fitted without the holdout rows."""
        return self.scored_model if self.scored_model is not None else self.fitted
