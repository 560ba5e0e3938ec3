"""The tabular ladder: rung 0 baseline to rung 5 neural net, all sklearn-compatible.

Each candidate states its default hyperparameters once (`model_defaults`, in the same names
its `model_space` uses; for regression both add `log_target`, see SklearnCandidate); tuning
tries the defaults first, so it never ends worse than them on its validation split.
"""

from __future__ import annotations

import numpy as np

from bakeoff.tasks.tabular.ladder.sklearn_base import SklearnCandidate, tree_nodes
from bakeoff.tasks.tabular.ladder.tree_text import if_else_text
from bakeoff.tasks.tabular.sqlexpr import (
    NotExportable,
    PerClass,
    check_size,
    each_class,
    feature,
    number,
    sigmoid,
    split,
    sum_of,
    tree_case,
)

MAX_PRINTED_LEAVES = 32
SMALL_DATA = 1_000  # rows below which the neural net trains without early stopping  # a decision tree with more leaves is described in one line, not as rules


class Rules(SklearnCandidate):
    name, rung, family = "rules", 1, "rules"
    title, requires = "If-else rules", ("scikit-learn",)
    summary = "a few if-else rules (a tree at most 3 questions deep)"
    scale = False
    sql_exportable = True
    max_trials = 12  # two small numbers to choose: more trials find nothing better, and cost

    def model_defaults(self):
        return {"max_depth": 3, "min_samples_leaf": 20}

    def model_space(self, trial):
        return {"max_depth": trial.suggest_int("max_depth", 1, 3),
                "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 200, log=True)}

    def build(self, params):
        return _tree(self, params)

    def count_params(self, model) -> int:
        return tree_nodes(model)

    def describe_model(self, fitted) -> str:
        return if_else_text(fitted, tuple(self.class_names) if self.is_classifier else None)

    def sql_output(self, model, names: list[str], indicators: dict):
        return tree_sql(model, names, self.task, indicators)


class Linear(SklearnCandidate):
    name, rung, family = "linear", 2, "linear"
    title, requires = "Weighted scorecard", ("scikit-learn",)
    summary = "a regularised logistic or linear regression: one weight per input"
    sql_exportable = True
    max_trials = 10  # one number to choose (with log_target for regression)

    def model_defaults(self):
        return {"C": 1.0} if self.is_classifier else {"alpha": 1.0}

    def model_space(self, trial):
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
        unit = (f"log-odds of {self.class_names[-1]}" if self.is_classifier
                else "of log(1 + target)" if fitted.log_target else "of the target")
        lines = []
        for i in np.argsort(-np.abs(coef))[:8]:
            name = fitted.feature_names[i]
            when = "per standard deviation" if name in numeric else "when present"
            lines.append(f"{name}: {coef[i]:+.3f} {unit} {when}")
        title = "Largest weights" + (f" (for {self.class_names[-1]})" if self.n_classes > 2 else "")
        return f"{title}:\n" + "\n".join(lines)

    def sql_output(self, model, names: list[str], indicators: dict):
        return linear_sql(model, names, self.task, indicators)


class DecisionTree(SklearnCandidate):
    name, rung, family = "decision_tree", 3, "tree"
    title, requires = "Decision tree", ("scikit-learn",)
    summary = "one decision tree of up to 12 levels"
    scale = False
    sql_exportable = True

    def model_defaults(self):
        return {"max_depth": 6, "min_samples_leaf": 20}

    def model_space(self, trial):
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

    def sql_output(self, model, names: list[str], indicators: dict):
        return tree_sql(model, names, self.task, indicators)


class NaiveBayes(SklearnCandidate):
    name, rung, family = "naive_bayes", 3, "bayes"
    title, requires = "Naive Bayes", ("scikit-learn",)
    tasks = ("classification",)
    summary = "Gaussian naive Bayes: per-class averages of every input"
    sql_exportable = True
    max_trials = 8  # one number to choose

    def model_defaults(self):
        return {"var_smoothing": 1e-9}

    def model_space(self, trial):
        return {"var_smoothing": trial.suggest_float("var_smoothing", 1e-11, 1e-1, log=True)}

    def build(self, params):
        from sklearn.naive_bayes import GaussianNB

        return GaussianNB(**params)

    def count_params(self, model) -> int:
        return int(model.theta_.size + model.var_.size + model.class_prior_.size)

    def sql_output(self, model, names: list[str], indicators: dict):
        return gaussian_nb_sql(model, names)


class Knn(SklearnCandidate):
    name, rung, family = "knn", 3, "neighbours"
    title, requires = "Nearest neighbours", ("scikit-learn",)
    summary = "k nearest neighbours: answers from the most similar training rows"

    def model_defaults(self):
        return {"n_neighbors": 25, "weights": "uniform"}

    def model_space(self, trial):
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


    def model_defaults(self):
        return {"n_estimators": 100, "max_depth": 16, "min_samples_leaf": 3, "max_features": 0.3}

    def model_space(self, trial):
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

    def sql_output(self, model, names: list[str], indicators: dict):
        n_classes = len(getattr(model, "classes_", ())) if self.is_classifier else 0
        copies = n_classes if n_classes > 2 else 1  # a multiclass forest is written once per class
        check_size(copies * sum(t.tree_.node_count for t in model.estimators_),
                   f"this forest of {len(model.estimators_)} trees")
        return each_class(model, self.task, lambda k: forest_sql(model, names, self.task, indicators, k))


class LightGBM(SklearnCandidate):
    name, rung, family = "lightgbm", 4, "ensemble"
    title, requires = "Gradient boosting (LightGBM)", ("lightgbm", "scikit-learn")
    summary = "LightGBM gradient boosting: hundreds of small trees, each fixing the last"
    sql_exportable = True  # when small enough; each fitted model says (result.json sql_reason)
    scale = False

    def model_defaults(self):
        return {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 20,
                "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1e-3}

    def model_space(self, trial):
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

    def sql_output(self, model, names: list[str], indicators: dict):
        return lightgbm_sql(model, names, self.task, indicators)


class XGBoost(SklearnCandidate):
    name, rung, family = "xgboost", 4, "ensemble"
    title, requires = "Gradient boosting (XGBoost)", ("xgboost", "scikit-learn")
    needs_import, install_with = "xgboost", "pip install 'bakeoff[xgboost]'"  # an optional extra
    summary = "XGBoost gradient boosting: hundreds of small trees, each fixing the last"
    sql_exportable = True  # when small enough; each fitted model says (result.json sql_reason)
    scale = False

    def model_defaults(self):
        # shallow trees with 5 units of hessian per leaf (20 rows of a balanced binary target):
        # 5-fold RMSE on CDNOW 73.9 against 74.8 with depth 4 and weight 1, and AUC on
        # 3,000 Telco rows 0.844 against 0.837
        return {"n_estimators": 200, "learning_rate": 0.05, "max_depth": 3, "min_child_weight": 5.0,
                "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1.0}

    def model_space(self, trial):
        return {"n_estimators": trial.suggest_int("n_estimators", 30, 600, log=True),
                "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
                "max_depth": trial.suggest_int("max_depth", 2, 8),
                "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 50.0, log=True),
                "subsample": trial.suggest_float("subsample", 0.5, 1.0),
                "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
                "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True)}

    def build(self, params):
        from bakeoff.tasks.tabular.ladder import xgb

        if not self.is_classifier:
            return xgb.Regressor(random_state=self.seed, n_jobs=1, tree_method="hist", **params)
        shared = {"base_score": 0.5} if self.n_classes > 2 else {}  # one intercept for every class
        return xgb.Classifier(random_state=self.seed, n_jobs=1, tree_method="hist", **shared, **params)

    def count_params(self, model) -> int:
        from bakeoff.tasks.tabular.ladder import xgb

        return xgb.count_params(model)

    def sql_output(self, model, names: list[str], indicators: dict):
        from bakeoff.tasks.tabular.ladder import xgb

        return xgb.xgboost_sql(model, names, self.task, indicators)


class Mlp(SklearnCandidate):
    name, rung, family = "mlp", 5, "neural"
    title, requires = "Neural network", ("scikit-learn",)
    summary = "a small neural network (multi-layer perceptron)"

    def model_defaults(self):
        return {"width": 32, "alpha": 1e-4, "learning_rate_init": 1e-3}

    def model_space(self, trial):
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


# The families' answers as SQL (sqlglot trees over the model's input features).

def linear_sql(model, names: list[str], task: str, indicators: dict):
    """intercept + the weighted inputs; a category's indicator weights fold into one
    `CASE column WHEN level THEN weight ... ELSE 0` (the same sum, far fewer operations)."""
    coef = np.atleast_2d(model.coef_)
    intercept = np.ravel(model.intercept_) if np.size(model.intercept_) else np.zeros(len(coef))
    if task == "classification" and len(coef) > 1:  # multinomial: one score per class, then the softmax
        return PerClass([weighted_sum(coef[k], float(intercept[k]), names, indicators) for k in range(len(coef))],
                        softmax=True)
    total = weighted_sum(coef[0], float(intercept[0]), names, indicators)
    return sigmoid(total) if task == "classification" else total


def weighted_sum(coef: np.ndarray, intercept: float, names: list[str], indicators: dict):
    from sqlglot import exp

    terms, by_column = [], {}
    for weight, name in zip(coef, names):
        if name in indicators:
            column, level = indicators[name]
            by_column.setdefault(column, []).append((level, float(weight)))
        elif weight != 0:
            terms.append(exp.Mul(this=number(weight), expression=feature(name)))
    for column, levels in by_column.items():
        case = exp.Case()
        for level, weight in levels:
            if weight != 0:
                case = case.when(exp.EQ(this=feature(column), expression=exp.Literal.string(level)), number(weight))
        if case.args.get("ifs"):
            terms.append(case.else_(number(0.0)))
    return sum_of([number(intercept), *terms])




def tree_sql(model, names: list[str], task: str, indicators: dict):
    """A decision tree (or the rules' shallow one) as nested CASE, per class for multiclass."""
    return each_class(model, task, lambda k: tree_case(model.tree_, names, task, indicators, k))


def forest_sql(model, names: list[str], task: str, indicators: dict, cls: int = 1):
    """The average of the trees' answers, each a nested CASE."""
    from sqlglot import exp

    trees = [exp.paren(tree_case(t.tree_, names, task, indicators, cls)) for t in model.estimators_]
    return exp.Div(this=exp.paren(sum_of(trees)), expression=number(float(len(trees))))


def lightgbm_sql(model, names: list[str], task: str, indicators: dict):
    """The sum of the boosted trees' leaf values (through the sigmoid for binary classification;
    per class, tree i scoring class i mod k, through the softmax for multiclass)."""
    from sqlglot import exp

    dumped = model.booster_.dump_model()
    objective = dumped.get("objective", "").split()[0]
    if objective not in ("binary", "regression", "multiclass"):
        raise NotExportable(f"LightGBM objective {dumped.get('objective')!r} has no SQL form yet")
    check_size(sum(2 * t.get("num_leaves", 1) - 1 for t in dumped["tree_info"]),  # before building it
               f"this LightGBM model of {len(dumped['tree_info'])} trees")
    trees = [exp.paren(_lightgbm_node(t["tree_structure"], names, indicators)) for t in dumped["tree_info"]]
    if objective == "multiclass":
        k = dumped["num_class"]
        return PerClass([sum_of(trees[c::k]) for c in range(k)], softmax=True)
    total = sum_of(trees)
    return sigmoid(total) if task == "classification" else total


def _lightgbm_node(node: dict, names: list[str], indicators: dict):
    from sqlglot import exp

    if "leaf_value" in node:
        return number(node["leaf_value"])
    if node.get("decision_type") != "<=":
        raise NotExportable(f"LightGBM split {node.get('decision_type')!r} has no SQL form yet")
    test = split(names[node["split_feature"]], float(node["threshold"]), indicators)
    return (exp.Case().when(test, _lightgbm_node(node["left_child"], names, indicators))
            .else_(_lightgbm_node(node["right_child"], names, indicators)))


def gaussian_nb_sql(model, names: list[str]):
    """P(positive) = 1 / (1 + e^(jll0 - jll1)), jll_c = log prior - sum of Gaussian terms; the
    softmax of the jll_c for more classes."""
    from sqlglot import exp

    def joint_log_likelihood(c: int):
        total = number(np.log(model.class_prior_[c]) - 0.5 * np.sum(np.log(2.0 * np.pi * model.var_[c])))
        for i, name in enumerate(names):
            diff = exp.paren(exp.Sub(this=feature(name), expression=number(model.theta_[c, i])))
            total = exp.Sub(this=total, expression=exp.Div(
                this=exp.Mul(this=diff, expression=diff.copy()), expression=number(2.0 * model.var_[c, i])))
        return total

    if len(model.classes_) > 2:
        return PerClass([joint_log_likelihood(c) for c in range(len(model.classes_))], softmax=True)
    return sigmoid(exp.paren(exp.Sub(this=joint_log_likelihood(1), expression=exp.paren(joint_log_likelihood(0)))))
