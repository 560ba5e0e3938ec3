"""The tabular ladder: rung 0 baseline to rung 5 neural net. One module per family.

>>> sorted(builtin())[:3]
['constant', 'decision_tree', 'knn']
"""


def builtin() -> dict:
    """The built-in tabular candidates by name, simplest first."""
    from bakeoff.tasks.tabular.ladder.baseline import Constant
    from bakeoff.tasks.tabular.ladder.models import (
        DecisionTree,
        Knn,
        LightGBM,
        Linear,
        Mlp,
        NaiveBayes,
        RandomForest,
        Rules,
        XGBoost,
    )
    from bakeoff.tasks.tabular.ladder.one_rule import OneRule

    classes = [Constant, OneRule, Rules, Linear, DecisionTree, NaiveBayes, Knn, RandomForest,
               LightGBM, XGBoost, Mlp]
    return {c.name: c for c in classes}
