"""Trains the scikit-learn iris classifier the tests serve (a fixed seed, so its answers are stable)."""
import pathlib
import sys

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

target = pathlib.Path(sys.argv[1])
target.mkdir(parents=True, exist_ok=True)
features, labels = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=1000, random_state=0).fit(features, labels)
joblib.dump(model, target / "model.joblib")
print(f"iris: trained, accuracy {model.score(features, labels):.3f}, saved to {target / 'model.joblib'}")
