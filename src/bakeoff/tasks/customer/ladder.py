"""The customer ladder: what each customer will buy, whether they are still active, and what
they will spend per purchase.

Rung 0 carries the past forward (each customer's own rate; a recency rule that calls a customer
gone after k quiet periods); rung 1 groups customers into RFM cells that predict their cell's
average; rung 2 fits the probability models of the literature (BG/NBD, Pareto/NBD, with
Gamma-Gamma for spend) by maximum likelihood; rung 3 is a boosted model on the same summaries.
Every candidate learns from a `History` and returns a `CustomerModel`.

>>> sorted(ladder())
['bg_nbd', 'historic_rate', 'lightgbm_rfm', 'pareto_nbd', 'recency_rule', 'rfm_cells']
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np

from bakeoff.core.candidate import Candidate, Fitted
from bakeoff.tasks.customer.data import History, Summaries

MIN_CELL = 20  # customers an RFM cell needs to predict on its own; smaller ones use their R-F cell's figures


class Spend:
    """Expected spend per purchase: Gamma-Gamma's weighted average of the population's mean and
    the customer's own, or (`params` None) the customer's own mean, the population's without one."""

    def __init__(self, now: Summaries, gamma_gamma: bool = False, inference: str = "mle", seed: int = 0):
        from bakeoff.tasks.customer.estimation import fit_gammagamma

        repeat = np.isfinite(now.spend) & (now.x > 0) & (now.spend > 0)
        self.population = float(np.mean(now.spend[repeat])) if repeat.any() else \
            float(np.nanmean(now.first_spend)) if np.isfinite(now.first_spend).any() else float("nan")
        self.fit = None
        if gamma_gamma and repeat.sum() > 10:
            if inference == "mcmc":
                from bakeoff.tasks.customer.posterior import sample_gammagamma

                self.fit = sample_gammagamma(now.x[repeat], now.spend[repeat], seed)
            else:
                self.fit = fit_gammagamma(now.x[repeat], now.spend[repeat])

    def __call__(self, s: Summaries) -> np.ndarray:
        if self.fit is not None and self.fit.params["q"] > 1:
            from bakeoff.tasks.customer.estimation import gammagamma_expected_spend

            return self.fit.averaged(gammagamma_expected_spend, s.x, np.nan_to_num(s.spend))
        return np.where(np.isfinite(s.spend) & (s.x > 0), s.spend, self.population)

    @property
    def n_params(self) -> int:
        return 3 if self.fit is not None else 1


class CustomerModel(Fitted):
    """A fitted customer model: `expected(s, t)` purchases in the next t time units, `p_active(s, t)`
    (the probability the customer is active, or a score that orders customers the same way), and
    `spend(s)` per purchase, for the customers in `s`."""

    name: str = ""
    rung: int = 0
    gives_p_alive: bool = False  # p_active is the model's P(alive), not a score from its purchases

    def __init__(self, spend: Spend):
        self.spend_model = spend

    @abstractmethod
    def expected(self, s: Summaries, t) -> np.ndarray:
        """Expected purchases of each customer in `s` over the next t time units."""

    def p_active(self, s: Summaries, t: float) -> np.ndarray:
        """By default the chance of at least one purchase in t if purchases came as a Poisson stream."""
        return -np.expm1(-self.expected(s, t))

    def spend(self, s: Summaries) -> np.ndarray:
        return self.spend_model(s)

    def outputs(self, s: Summaries, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Expected purchases over t, P(active) and spend, at once."""
        return self.expected(s, t), self.p_active(s, t), self.spend(s)

    def predict(self, X: Summaries) -> np.ndarray:
        """Expected purchases over the summaries' window."""
        return self.expected(X, X.window)


def rate(s: Summaries) -> np.ndarray:
    """Each customer's repeat purchases per time unit since their first (0 on their first day)."""
    return np.divide(s.x, s.T, out=np.zeros(len(s.x)), where=s.T > 0)


class CustomerCandidate(Candidate):
    tasks: ClassVar[tuple[str, ...]] = ("customer",)

    def __init__(self, *, amount: bool = True, inference: str = "mle", **kwargs):
        super().__init__(task="customer", **{k: v for k, v in kwargs.items() if k != "task"})
        self.amount, self.inference = amount, inference  # the log has amounts; how rung 2 estimates

    def with_params(self, **params):
        return type(self)(amount=self.amount, inference=self.inference, seed=self.seed, **params)


# -- rung 0 ----------------------------------------------------------------------------------

class RateModel(CustomerModel):
    name, rung = "historic_rate", 0

    def expected(self, s: Summaries, t) -> np.ndarray:
        return rate(s) * np.asarray(t, dtype=float)

    def describe(self) -> str:
        return "each customer keeps buying at their own past rate (repeat purchases per unit of time since their first)"


class HistoricRate(CustomerCandidate):
    name, rung, family, title = "historic_rate", 0, "baseline", "Past rate"
    summary = "each customer's past purchase rate, carried forward"

    def fit(self, X: History, y=None) -> CustomerModel:
        return RateModel(Spend(X.now))


class RecencyModel(CustomerModel):
    name, rung = "recency_rule", 0

    def __init__(self, spend: Spend, quiet: float):
        super().__init__(spend)
        self.quiet = quiet

    def active(self, s: Summaries) -> np.ndarray:
        return s.recency <= self.quiet

    def expected(self, s: Summaries, t) -> np.ndarray:
        return rate(s) * np.asarray(t, dtype=float) * self.active(s)

    def p_active(self, s: Summaries, t: float) -> np.ndarray:
        return self.active(s).astype(float)

    @property
    def n_params(self) -> int:
        return 1

    def describe(self) -> str:
        return (f"a customer with no purchase for more than {self.quiet:.3g} time units is gone; the others keep "
                "buying at their past rate")


class RecencyRule(CustomerCandidate):
    name, rung, family, title = "recency_rule", 0, "rules", "Recency rule"
    summary = "no purchase for k periods means gone (k learnt from an earlier part of the calibration period)"

    def fit(self, X: History, y=None) -> CustomerModel:
        learn = X.learn
        options = np.unique(np.quantile(learn.recency, np.linspace(0.05, 0.95, 19)))
        errors = [np.mean(np.abs(rate(learn) * learn.window * (learn.recency <= k) - learn.later)) for k in options]
        return RecencyModel(Spend(X.now), float(options[int(np.argmin(errors))]))


# -- rung 1 ----------------------------------------------------------------------------------

class CellModel(CustomerModel):
    name, rung = "rfm_cells", 1

    def __init__(self, spend: Spend, edges: list[np.ndarray], table: dict[tuple, tuple[float, float, float]],
                 fallback: dict[tuple, tuple[float, float, float]]):
        super().__init__(spend)
        self.edges, self.table, self.fallback = edges, table, fallback

    def _figures(self, s: Summaries) -> np.ndarray:
        """Per customer their cell's (rate, share active, spend): their own cell's when it has
        enough customers, else their recency-frequency cell's, else everyone's."""
        keys = cell_keys(s, self.edges)
        out = np.tile(self.fallback[()], (s.count, 1))
        for table, width in ((self.fallback, 2), (self.table, keys.shape[1])):
            cells = {key: row for key, row in table.items() if len(key) == width}
            if not cells:
                continue
            known = np.array(list(cells), dtype=np.int64).reshape(len(cells), width)
            rows = np.array(list(cells.values()))
            found, at = _lookup(known, keys[:, :width])
            out[found] = rows[at[found]]
        return out

    def outputs(self, s: Summaries, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        figures = self._figures(s)  # once for the three
        return figures[:, 0] * t, figures[:, 1], np.where(np.isfinite(figures[:, 2]), figures[:, 2], self.spend_model(s))

    def expected(self, s: Summaries, t) -> np.ndarray:
        return self._figures(s)[:, 0] * np.asarray(t, dtype=float)

    def p_active(self, s: Summaries, t: float) -> np.ndarray:
        return self._figures(s)[:, 1]

    def spend(self, s: Summaries) -> np.ndarray:
        cell = self._figures(s)[:, 2]
        return np.where(np.isfinite(cell), cell, self.spend_model(s))

    @property
    def n_params(self) -> int:
        return 3 * len(self.table) + sum(len(e) for e in self.edges)

    def describe(self) -> str:
        return (f"{len(self.table)} cells of recency, frequency{' and spend' if len(self.edges) > 2 else ''} "
                "quantiles; each predicts the average of its customers in an earlier period")


def _lookup(known: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `keys`, whether it is a row of `known`, and which (rows of small whole numbers).

    >>> _lookup(np.array([[0, 1], [2, 0]]), np.array([[2, 0], [1, 1]]))
    (array([ True, False]), array([1, 1]))
    """
    base = int(max(known.max(initial=0), keys.max(initial=0))) + 1
    weights = base ** np.arange(known.shape[1])[::-1]
    codes, wanted = known @ weights, keys @ weights
    order = np.argsort(codes)
    at = order[np.clip(np.searchsorted(codes[order], wanted), 0, len(codes) - 1)]
    return codes[at] == wanted, at


def cell_keys(s: Summaries, edges: list[np.ndarray]) -> np.ndarray:
    """Each customer's bucket of recency, frequency (and spend), by the quantile `edges`."""
    values = [s.recency, s.x, np.nan_to_num(np.where(s.x > 0, s.spend, s.first_spend))][:len(edges)]
    return np.column_stack([np.searchsorted(e, v, side="right") for e, v in zip(edges, values)])


class RfmCells(CustomerCandidate):
    name, rung, family, title = "rfm_cells", 1, "rules", "RFM cells"
    summary = "quantile cells of recency, frequency and spend; each cell predicts its average"

    def default_params(self) -> dict:
        return {"buckets": 4}

    def fit(self, X: History, y=None) -> CustomerModel:
        learn, buckets = X.learn, self.hyperparams["buckets"]
        quantiles = np.linspace(0, 1, buckets + 1)[1:-1]
        columns = [learn.recency, learn.x] + ([np.nan_to_num(np.where(learn.x > 0, learn.spend, learn.first_spend))]
                                              if self.amount else [])
        edges = [np.unique(np.quantile(c, quantiles)) for c in columns]
        keys = cell_keys(learn, edges)
        figures = np.column_stack([learn.later / learn.window, learn.later > 0, learn.later_spend])
        table = _cell_means(keys, figures, MIN_CELL)
        fallback = _cell_means(keys[:, :2], figures, 1) | {(): tuple(_nanmean(figures))}
        return CellModel(Spend(X.now), edges, table, fallback)


def _cell_means(keys: np.ndarray, figures: np.ndarray, least: int) -> dict[tuple, tuple[float, float, float]]:
    """The mean figures (NaN left out) of each cell with at least `least` customers."""
    base = int(keys.max(initial=0)) + 1
    codes = keys @ (base ** np.arange(keys.shape[1])[::-1]) if keys.shape[1] else np.zeros(len(keys), np.int64)
    cells, first, inverse, counts = np.unique(codes, return_index=True, return_inverse=True, return_counts=True)
    finite = np.isfinite(figures)
    sums = np.stack([np.bincount(inverse, np.where(finite[:, k], figures[:, k], 0.0), len(cells))
                     for k in range(figures.shape[1])], axis=1)
    seen = np.stack([np.bincount(inverse, finite[:, k], len(cells)) for k in range(figures.shape[1])], axis=1)
    means = np.divide(sums, seen, out=np.full(sums.shape, np.nan), where=seen > 0)
    return {tuple(int(v) for v in keys[first[k]]): tuple(float(m) for m in means[k])
            for k in range(len(cells)) if counts[k] >= least}


def _nanmean(figures: np.ndarray) -> list[float]:
    return [float(np.nanmean(c)) if np.isfinite(c).any() else float("nan") for c in figures.T]


# -- rung 2 ----------------------------------------------------------------------------------

class ProbabilityModel(CustomerModel):
    """BG/NBD or Pareto/NBD with their fitted parameters (and Gamma-Gamma for spend)."""

    rung, gives_p_alive = 2, True

    def __init__(self, name: str, fit, spend: Spend):
        super().__init__(spend)
        self.name, self.fit = name, fit
        from bakeoff.tasks.customer import estimation

        prefix = "bgnbd" if name == "bg_nbd" else "paretonbd"
        self._expected = getattr(estimation, f"{prefix}_expected_purchases")
        self._p_alive = getattr(estimation, f"{prefix}_p_alive")

    def expected(self, s: Summaries, t) -> np.ndarray:
        return self.fit.averaged(self._expected, t, s.x, s.t_x, s.T)

    def p_active(self, s: Summaries, t: float) -> np.ndarray:
        return self.fit.averaged(self._p_alive, s.x, s.t_x, s.T)

    @property
    def n_params(self) -> int:
        return len(self.fit.params) + (self.spend_model.n_params if self.spend_model.fit is not None else 0)

    def describe(self) -> str:
        shown = ", ".join(f"{k} {v:.3g} (± {self.fit.std_errors[k]:.2g})" for k, v in self.fit.params.items())
        if self.fit.method == "mcmc":
            shown = f"posterior means (± sd, pymc-marketing's NUTS) {shown}"
        spend = self.spend_model.fit
        extra = ("; Gamma-Gamma spend " + ", ".join(f"{k} {v:.3g}" for k, v in spend.params.items())) if spend else ""
        return f"{shown}; log-likelihood {self.fit.log_likelihood:,.2f}{extra}"


class BgNbd(CustomerCandidate):
    name, rung, family, title = "bg_nbd", 2, "probabilistic", "BG/NBD"
    summary = "BG/NBD (Fader, Hardie & Lee 2005): purchases and P(alive) from four numbers; Gamma-Gamma for spend"

    def fit(self, X: History, y=None) -> CustomerModel:
        from bakeoff.tasks.customer import estimation, posterior

        now = X.now
        fit = posterior.sample_bgnbd(now.x, now.t_x, now.T, self.seed) if self.inference == "mcmc" else \
            estimation.fit_bgnbd(now.x, now.t_x, now.T)
        return ProbabilityModel(self.name, fit, Spend(now, self.amount, self.inference, self.seed))


class ParetoNbd(CustomerCandidate):
    name, rung, family, title = "pareto_nbd", 2, "probabilistic", "Pareto/NBD"
    summary = ("Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases and P(alive) from four numbers; "
               "Gamma-Gamma for spend")

    def fit(self, X: History, y=None) -> CustomerModel:
        from bakeoff.tasks.customer import estimation, posterior

        now = X.now
        fit = posterior.sample_paretonbd(now.x, now.t_x, now.T, self.seed) if self.inference == "mcmc" else \
            estimation.fit_paretonbd(now.x, now.t_x, now.T)
        return ProbabilityModel(self.name, fit, Spend(now, self.amount, self.inference, self.seed))


# -- rung 3 ----------------------------------------------------------------------------------

def features(s: Summaries) -> np.ndarray:
    """The boosted model's inputs: x, t_x, T, recency, rate, mean repeat spend, first spend."""
    return np.column_stack([s.x, s.t_x, s.T, s.recency, rate(s), s.spend, s.first_spend])


class BoostedModel(CustomerModel):
    name, rung = "lightgbm_rfm", 3

    def __init__(self, spend: Spend, purchases, active, spender, window: float):
        super().__init__(spend)
        self.purchases, self.active, self.spender, self.window = purchases, active, spender, window

    def outputs(self, s: Summaries, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        inputs = features(s)  # once for the three models
        expected = np.maximum(self.purchases.predict(inputs), 0) / self.window * t
        active = self.active.predict_proba(inputs)[:, 1] if self.active is not None else -np.expm1(-expected)
        spend = self.spender.predict(inputs) if self.spender is not None else self.spend_model(s)
        return expected, active, spend

    def expected(self, s: Summaries, t) -> np.ndarray:
        per_unit = np.maximum(self.purchases.predict(features(s)), 0) / self.window
        return per_unit * np.asarray(t, dtype=float)

    def p_active(self, s: Summaries, t: float) -> np.ndarray:
        return self.outputs(s, t)[1]

    def spend(self, s: Summaries) -> np.ndarray:
        return self.outputs(s, 1.0)[2]

    @property
    def n_params(self) -> int:
        models = [m for m in (self.purchases, self.active, self.spender) if m is not None]
        return int(sum(tree["num_leaves"] for m in models for tree in m.booster_.dump_model()["tree_info"]))

    def describe(self) -> str:
        return (f"LightGBM on recency, frequency, age and spend, trained to predict the purchases of a "
                f"{self.window:.3g}-unit window from the summaries before it")


class Boosted(CustomerCandidate):
    name, rung, family, title = "lightgbm_rfm", 3, "boosting", "Boosted trees"
    summary = "LightGBM on RFM and timing features, trained on a time split inside the calibration period"
    requires = ("lightgbm",)
    most_rows = 200_000  # customers it trains on, a seeded sample of them when there are more

    def default_params(self) -> dict:
        return {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 20}

    def fit(self, X: History, y=None) -> CustomerModel:
        from lightgbm import LGBMClassifier, LGBMRegressor

        learn, options = X.learn, self.hyperparams | {"random_state": self.seed, "verbose": -1, "n_jobs": 1}
        if learn.count > self.most_rows:
            learn = learn.take(np.sort(np.random.default_rng(self.seed).choice(learn.count, self.most_rows, False)))
        inputs = features(learn)
        purchases = LGBMRegressor(objective="poisson", **options).fit(inputs, learn.later)
        bought = learn.later > 0
        active = LGBMClassifier(**options).fit(inputs, bought) if 0 < bought.sum() < len(bought) else None
        spent = bought & np.isfinite(learn.later_spend)
        spender = LGBMRegressor(**options).fit(inputs[spent], learn.later_spend[spent]) \
            if self.amount and spent.sum() >= 2 * options["min_child_samples"] else None
        return BoostedModel(Spend(X.now), purchases, active, spender, learn.window)


def ladder() -> dict[str, type[CustomerCandidate]]:
    return {c.name: c for c in (HistoricRate, RecencyRule, RfmCells, BgNbd, ParetoNbd, Boosted)}
