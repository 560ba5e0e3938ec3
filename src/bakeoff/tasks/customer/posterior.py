"""Full Bayesian posteriors of the rung-2 models through pymc-marketing (`[customer] inference =
"mcmc"`, the `mcmc` extra): NUTS draws of BG/NBD's, Pareto/NBD's and Gamma-Gamma's parameters
under pymc-marketing's default priors, summarised as their posterior means and standard
deviations, with the log-likelihood at the means; each prediction is averaged over 200 of the
draws (the posterior predictive mean, not the plug-in at the means).

Example::

    fit = sample_bgnbd(x, t_x, T, seed=0)
    fit.params, fit.std_errors   # posterior means and sds; fit.method == "mcmc"
"""

from __future__ import annotations

import numpy as np

from bakeoff.errors import ConfigError

INSTALL = "pip install 'bakeoff[mcmc]'"
DRAWS = 500  # per chain, after as many tuning steps
CHAINS = 2
PREDICT_DRAWS = 200  # of the DRAWS * CHAINS, evenly spaced: what each prediction averages over
SECONDS_PER_CUSTOMER = {"bg_nbd": 0.01, "pareto_nbd": 0.16}  # measured on CDNOW (2,357 customers, with
#   Gamma-Gamma): 22 s and 375 s a fit; the quick pass estimates from these rather than sampling


def check_installed() -> None:
    """ConfigError naming the extra when pymc-marketing is missing."""
    import importlib.util

    if importlib.util.find_spec("pymc_marketing") is None:
        raise ConfigError(f"[customer] inference = \"mcmc\" samples through pymc-marketing, which is not installed; "
                          f"{INSTALL}, or use inference = \"mle\"")


def _sample(model_class: str, frame, names: tuple[str, ...], seed: int, log_likelihood, columns) -> "object":
    import logging
    import warnings

    from bakeoff.tasks.customer.estimation import Fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pytensor's advice on BLAS, ArviZ's on chains
        from pymc_marketing import clv

        for name in ("pymc", "pytensor", "pymc_marketing"):  # set after their import, which sets them
            logging.getLogger(name).setLevel(logging.ERROR)  # their sampling chatter is not the user's
        model = getattr(clv, model_class)(data=frame)
        model.fit(method="mcmc", draws=DRAWS, tune=DRAWS, chains=CHAINS, cores=1, progressbar=False,
                  random_seed=seed)
    posterior = model.idata.posterior
    means = {k: float(posterior[k].mean()) for k in names}
    sds = {k: float(posterior[k].std()) for k in names}
    total = float(np.sum(log_likelihood(*means.values(), *columns)))
    flat = {k: posterior[k].values.reshape(-1) for k in names}
    every = np.linspace(0, len(flat[names[0]]) - 1, PREDICT_DRAWS).round().astype(int)
    return Fit(means, sds, total, len(frame), method="mcmc", draws={k: v[every] for k, v in flat.items()})


def sample_bgnbd(x, t_x, T, seed: int = 0):
    """BG/NBD's posterior (r, α, a, b) over the customers' (x, t_x, T)."""
    import pandas as pd

    from bakeoff.tasks.customer.estimation import bgnbd_log_likelihood

    frame = pd.DataFrame({"customer_id": np.arange(len(x)), "frequency": x, "recency": t_x, "T": T})
    return _sample("BetaGeoModel", frame, ("r", "alpha", "a", "b"), seed, bgnbd_log_likelihood, (x, t_x, T))


def sample_paretonbd(x, t_x, T, seed: int = 0):
    """Pareto/NBD's posterior (r, α, s, β) over the customers' (x, t_x, T)."""
    import pandas as pd

    from bakeoff.tasks.customer.estimation import paretonbd_log_likelihood

    frame = pd.DataFrame({"customer_id": np.arange(len(x)), "frequency": x, "recency": t_x, "T": T})
    return _sample("ParetoNBDModel", frame, ("r", "alpha", "s", "beta"), seed, paretonbd_log_likelihood, (x, t_x, T))


def sample_gammagamma(x, mean_spend, seed: int = 0):
    """Gamma-Gamma's posterior (p, q, v) over the repeat customers and their mean spend."""
    import pandas as pd

    from bakeoff.tasks.customer.estimation import gammagamma_log_likelihood

    x, mean_spend = np.asarray(x, dtype=float), np.asarray(mean_spend, dtype=float)
    keep = (x > 0) & (mean_spend > 0)
    x, mean_spend = x[keep], mean_spend[keep]
    frame = pd.DataFrame({"customer_id": np.arange(len(x)), "frequency": x, "monetary_value": mean_spend})
    return _sample("GammaGammaModel", frame, ("p", "q", "v"), seed, gammagamma_log_likelihood, (x, mean_spend))
