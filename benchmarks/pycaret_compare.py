"""PyCaret's `compare_models` with its defaults, run by bakeoff_vs_peers.py in PyCaret's own
Python (PyCaret 3 pins older scikit-learn and pandas than bakeoff, so it lives in another
virtualenv). Prints one JSON line: the best model's name, the wall time of setup plus
compare_models, and the best model's test score.

Usage (by bakeoff_vs_peers.py):
    PYCARET_PYTHON benchmarks/pycaret_compare.py train.csv test.csv classification|regression SEED
Both CSVs hold the cleaned features and the target as column `__y` (0/1 for classification).
"""

import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import mean_squared_error, roc_auc_score


def main() -> None:
    train_csv, test_csv, task, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    warnings.filterwarnings("ignore")
    if task == "classification":
        from pycaret.classification import compare_models, get_config, predict_model, setup
    else:
        from pycaret.regression import compare_models, get_config, predict_model, setup
    train, test = pd.read_csv(train_csv), pd.read_csv(test_csv)
    start = time.perf_counter()
    setup(data=train, target="__y", session_id=seed, verbose=False, html=False)
    best = compare_models(verbose=False)
    wall = time.perf_counter() - start
    truth = test["__y"].to_numpy()
    if task == "classification":
        scored = predict_model(best, data=test.drop(columns="__y"), raw_score=True, verbose=False)
        if "prediction_score_1" in scored:
            ranking = scored["prediction_score_1"].to_numpy(float)
        else:  # a model without probabilities (ridge, linear SVM): rank by its decision function
            ranking = best.decision_function(get_config("pipeline").transform(test.drop(columns="__y")))
        score = float(roc_auc_score(truth, ranking))
    else:
        scored = predict_model(best, data=test.drop(columns="__y"), verbose=False)
        score = float(np.sqrt(mean_squared_error(truth, scored["prediction_label"].to_numpy(float))))
    print(json.dumps({"model": type(best).__name__, "wall_seconds": wall, "test_score": score}))


if __name__ == "__main__":
    main()
