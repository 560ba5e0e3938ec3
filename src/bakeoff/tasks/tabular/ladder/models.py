"""The tabular ladder: rung 0 baseline to rung 5 neural net, all sklearn-compatible.

Each candidate states its default hyperparameters once (`default_params`, in the same names
its `search_space` uses); tuning tries the defaults first, so it never ends worse than them
on its validation split.
"""

from __future__ import annotations

import numpy as np

from bakeoff.tasks.tabular.ladder.sklearn_base import SklearnCandidate, tree_nodes
from bakeoff.tasks.tabular.ladder.tree_text import if_else_text

MAX_PRINTED_LEAVES = 32
SMALL_DATA = 1_000  # rows below which the neural net trains without early stopping  # a decision tree with more leaves is described in one line, not as rules


class Rules(SklearnCandidate):
    name, rung, family = "rules", 1, "rules"
    title, requires = "If-else rules", ("scikit-learn",)
    summary = "a few if-else rules (a tree at most 3 questions deep)"
    scale = False
    sql_exportable = True

    def default_params(self):
        return {"max_depth": 3, "min_samples_leaf": 20}

    def search_space(self, trial):
        return {"max_depth": trial.suggest_int("max_depth", 1, 3),
                "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 200, log=True)}

    def build(self, params):
        return _tree(self, params)

    def count_params(self, model) -> int:
        return tree_nodes(model)

    def describe_model(self, fitted) -> str:
        return if_else_text(fitted, tuple(self.class_names) if self.is_classifier else None)


class Linear(SklearnCandidate):
    name, rung, family = "linear", 2, "linear"
    title, requires = "Weighted scorecard", ("scikit-learn",)
    summary = "a regularised logistic or linear regression: one weight per input"
    sql_exportable = True

    def default_params(self):
        return {"C": 1.0} if self.is_classifier else {"alpha": 1.0}

    def search_space(self, trial):
        if self.is_classifier:
            return {"C": trial.suggest_float("C", 1e-3, 1e2, log=True)}
        return {"alpha": trial.suggest_float("alpha", 1e-3, 1e3, log=True)}

    def build(self, params):
        from sklearn.linear_model import LogisticRegression, Ridge

        return LogisticRegression(max_iter=2000, **params) if self.is_classifier else Ridge(**params)

    def count_params(self, model) -> int:
        return int(np.size(model.coef_) + np.size(model.intercept_))

    def describe_model(self, fitted) -> str:
        coef = np.atleast_2d(fitted.model.coef_)[-1]
        numeric = {n.column for n in fitted.inputs.numbers} if fitted.inputs is not None else set()
        unit = f"log-odds of {self.class_names[-1]}" if self.is_classifier else "of the target"
        lines = []
        for i in np.argsort(-np.abs(coef))[:8]:
            name = fitted.feature_names[i]
            when = "per standard deviation" if name in numeric else "when present"
            lines.append(f"{name}: {coef[i]:+.3f} {unit} {when}")
        title = "Largest weights" + (f" (for {self.class_names[-1]})" if self.n_classes > 2 else "")
        return f"{title}:\n" + "\n".join(lines)


class DecisionTree(SklearnCandidate):
    name, rung, family = "decision_tree", 3, "tree"
    title, requires = "Decision tree", ("scikit-learn",)
    summary = "one decision tree of up to 12 levels"
    scale = False
    sql_exportable = True

    def default_params(self):
        return {"max_depth": 6, "min_samples_leaf": 20}

    def search_space(self, trial):
        return {"max_depth": trial.suggest_int("max_depth", 2, 12),
                "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 200, log=True)}

    def build(self, params):
        return _tree(self, params)

    def count_params(self, model) -> int:
        return tree_nodes(model)

    def describe_model(self, fitted) -> str:
        leaves = fitted.model.get_n_leaves()
        if leaves > MAX_PRINTED_LEAVES:
            return f"{self.summary}: {leaves} leaves, too many to print as rules ({fitted.n_params:,} learned numbers)"
        return if_else_text(fitted, tuple(self.class_names) if self.is_classifier else None)


class NaiveBayes(SklearnCandidate):
    name, rung, family = "naive_bayes", 3, "bayes"
    title, requires = "Naive Bayes", ("scikit-learn",)
    tasks = ("classification",)
    summary = "Gaussian naive Bayes: per-class averages of every input"
    sql_exportable = True

    def default_params(self):
        return {"var_smoothing": 1e-9}

    def search_space(self, trial):
        return {"var_smoothing": trial.suggest_float("var_smoothing", 1e-11, 1e-1, log=True)}

    def build(self, params):
        from sklearn.naive_bayes import GaussianNB

        return GaussianNB(**params)

    def count_params(self, model) -> int:
        return int(model.theta_.size + model.var_.size + model.class_prior_.size)


class Knn(SklearnCandidate):
    name, rung, family = "knn", 3, "neighbours"
    title, requires = "Nearest neighbours", ("scikit-learn",)
    summary = "k nearest neighbours: answers from the most similar training rows"

    def default_params(self):
        return {"n_neighbors": 25, "weights": "uniform"}

    def search_space(self, trial):
        return {"n_neighbors": trial.suggest_int("n_neighbors", 3, 100, log=True),
                "weights": trial.suggest_categorical("weights", ["uniform", "distance"])}

    def build(self, params):
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        return (KNeighborsClassifier if self.is_classifier else KNeighborsRegressor)(**params)

    def fit(self, X, y, **prepared):
        """As any candidate, but never asking for more neighbours than there are rows."""
        k = self.hyperparams["n_neighbors"]
        if k > len(X):
            return self.with_params(**{**self.params, "n_neighbors": len(X)}).fit(X, y, **prepared)
        return super().fit(X, y, **prepared)

    def count_params(self, model) -> int:
        return int(model.n_samples_fit_ * model.n_features_in_)


class RandomForest(SklearnCandidate):
    name, rung, family = "random_forest", 4, "ensemble"
    title, requires = "Random forest", ("scikit-learn",)
    summary = "a random forest: hundreds of trees voting"
    sql_exportable = True  # when small enough; each fitted model says (result.json sql_reason)
    scale = False
    max_trials = 8  # forests gain little from tuning (Probst et al. 2019) and each trial is slow


    def default_params(self):
        return {"n_estimators": 100, "max_depth": 16, "min_samples_leaf": 3, "max_features": 0.3}

    def search_space(self, trial):
        return {"n_estimators": trial.suggest_int("n_estimators", 50, 200, log=True),
                "max_depth": trial.suggest_int("max_depth", 3, 20),
                "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 50, log=True),
                "max_features": trial.suggest_float("max_features", 0.1, 0.8)}

    def build(self, params):
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        make = RandomForestClassifier if self.is_classifier else RandomForestRegressor
        return make(random_state=self.seed, n_jobs=1, **params)

    def count_params(self, model) -> int:
        return sum(tree_nodes(tree) for tree in model.estimators_)


class LightGBM(SklearnCandidate):
    name, rung, family = "lightgbm", 4, "ensemble"
    title, requires = "Gradient boosting (LightGBM)", ("lightgbm", "scikit-learn")
    summary = "LightGBM gradient boosting: hundreds of small trees, each fixing the last"
    sql_exportable = True  # when small enough; each fitted model says (result.json sql_reason)
    scale = False

    def default_params(self):
        return {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 20,
                "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1e-3}

    def search_space(self, trial):
        return {"n_estimators": trial.suggest_int("n_estimators", 30, 600, log=True),
                "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
                "num_leaves": trial.suggest_int("num_leaves", 4, 64, log=True),
                "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
                "subsample": trial.suggest_float("subsample", 0.5, 1.0),
                "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
                "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True)}

    def build(self, params):
        import lightgbm

        make = lightgbm.LGBMClassifier if self.is_classifier else lightgbm.LGBMRegressor
        return make(random_state=self.seed, n_jobs=1, verbose=-1, subsample_freq=1, **params)

    def count_params(self, model) -> int:
        frame = model.booster_.trees_to_dataframe()
        return int(2 * frame["split_feature"].notna().sum() + frame["split_feature"].isna().sum())


class Mlp(SklearnCandidate):
    name, rung, family = "mlp", 5, "neural"
    title, requires = "Neural network", ("scikit-learn",)
    summary = "a small neural network (multi-layer perceptron)"

    def default_params(self):
        return {"width": 32, "alpha": 1e-4, "learning_rate_init": 1e-3}

    def search_space(self, trial):
        return {"width": trial.suggest_int("width", 8, 128, log=True),
                "alpha": trial.suggest_float("alpha", 1e-5, 1e-1, log=True),
                "learning_rate_init": trial.suggest_float("learning_rate_init", 1e-4, 1e-2, log=True)}

    def build(self, params):
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        make = MLPClassifier if self.is_classifier else MLPRegressor
        net = make(hidden_layer_sizes=(params["width"],), alpha=params["alpha"],
                   learning_rate_init=params["learning_rate_init"], random_state=self.seed,
                   max_iter=300, early_stopping=params.get("early_stopping", True))
        if self.is_classifier:
            return net
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.preprocessing import StandardScaler

        # a network learns a target in its own units (spend in the hundreds) poorly: scale it
        return TransformedTargetRegressor(regressor=net, transformer=StandardScaler())

    def fit(self, X, y, **prepared):
        """As any candidate; on fewer than SMALL_DATA rows without early stopping (the tenth it
        would hold out to judge by is too few rows: on 142 wine rows it stopped at chance)."""
        if len(X) < SMALL_DATA and "early_stopping" not in self.params:
            return self.with_params(**self.params, early_stopping=False).fit(X, y, **prepared)
        return super().fit(X, y, **prepared)

    def count_params(self, model) -> int:
        net = getattr(model, "regressor_", model)
        return int(sum(w.size for w in net.coefs_) + sum(b.size for b in net.intercepts_))


def _tree(candidate: SklearnCandidate, params: dict):
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    make = DecisionTreeClassifier if candidate.is_classifier else DecisionTreeRegressor
    return make(random_state=candidate.seed, **params)
