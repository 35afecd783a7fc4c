"""The two model kinds: fit, predict, explain (SHAP in log-odds) and export to ONNX + check.

Both take the encoded float32 matrix (NaN = missing) and expose the same interface, so the bundle
builder in train.py does not care which kind it is building.
"""

from __future__ import annotations

import numpy as np
import onnx
import sklearn
import xgboost as xgb
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import onnx_export

CV_MAX_ROUNDS = 2000
CV_PATIENCE = 100
ROUNDS_RULE = (f"best mean validation log loss of a stratified 5-fold CV on the training set "
               f"(early stopping after {CV_PATIENCE} rounds without improvement)")


class XGBoostModel:
    """Gradient-boosted trees (binary:logistic), exported as TreeEnsembleRegressor + Sigmoid."""

    kind = "tree_ensemble"
    framework = f"xgboost {xgb.__version__}"

    def __init__(self, seed: int, rounds: int | None = None, **params):
        self.seed = seed
        self.rounds = rounds
        self.params = {
            "objective": "binary:logistic", "eta": 0.05, "max_depth": 3, "min_child_weight": 1.0,
            "subsample": 0.8, "colsample_bytree": 0.8, "lambda": 1.0, "tree_method": "hist", "max_bin": 256,
            "seed": seed, "nthread": 1, **params,
        }
        self.booster: xgb.Booster | None = None

    @property
    def hyperparameters(self) -> dict:
        return {"num_boost_round": self.rounds, "rounds_chosen_by": ROUNDS_RULE, **self.params}

    def unfitted_copy(self) -> "XGBoostModel":
        """Same hyperparameters (including the number of rounds once chosen), not trained."""
        params = {k: v for k, v in self.params.items() if k not in ("seed", "base_score")}
        return XGBoostModel(self.seed, self.rounds, **params)

    def fit(self, X: np.ndarray, y: np.ndarray) -> "XGBoostModel":
        """Train with base_score = the training bad rate (so trees model deviations from it).

        If the number of rounds is not fixed yet, choose it first by cross-validation on (X, y).
        """
        self.params["base_score"] = float(np.mean(y))
        matrix = self._matrix(X, y)
        if self.rounds is None:
            self.rounds = self._cross_validated_rounds(matrix)
        self.booster = xgb.train(self.params, matrix, num_boost_round=self.rounds)
        return self

    def _cross_validated_rounds(self, matrix: xgb.DMatrix) -> int:
        """Rounds at the best mean validation log loss of a seeded stratified 5-fold CV."""
        history = xgb.cv({**self.params, "eval_metric": "logloss"}, matrix, num_boost_round=CV_MAX_ROUNDS,
                         nfold=5, stratified=True, seed=self.seed, early_stopping_rounds=CV_PATIENCE)
        return len(history)

    @staticmethod
    def _matrix(X: np.ndarray, y: np.ndarray | None = None) -> xgb.DMatrix:
        return xgb.DMatrix(np.asarray(X, dtype=np.float32), label=y, missing=np.nan, nthread=1)

    def margin(self, X: np.ndarray) -> np.ndarray:
        return self.booster.predict(self._matrix(X), output_margin=True).astype(np.float64)

    def probability(self, X: np.ndarray) -> np.ndarray:
        return self.booster.predict(self._matrix(X)).astype(np.float64)

    def contributions(self, X: np.ndarray) -> tuple[np.ndarray, float]:
        """Exact TreeSHAP per tensor column [N, F] and the base value (XGBoost's bias column)."""
        contrib = self.booster.predict(self._matrix(X), pred_contribs=True).astype(np.float64)
        assert np.all(contrib[:, -1] == contrib[0, -1])
        return contrib[:, :-1], float(contrib[0, -1])

    def to_onnx(self, n_columns: int, input_name: str, doc: str) -> onnx.ModelProto:
        trees, base_margin = onnx_export.trees_from_xgboost(self.booster)
        return onnx_export.tree_ensemble_onnx(trees, base_margin, n_columns, input_name, doc)

    def check_onnx(self, model: onnx.ModelProto, X: np.ndarray, X_shap: np.ndarray) -> dict:
        """Evaluate the trees read back from `model` with numpy against XGBoost.

        Margins on all of X; TreeSHAP (from the ONNX covers) on X_shap; expected value vs the bias.
        """
        trees, base = onnx_export.trees_from_onnx(model)
        xgboost_margin = self.booster.predict(self._matrix(X), output_margin=True)
        margin_diff = np.abs(onnx_export.tree_margin(trees, base, X) - xgboost_margin)
        contrib, bias = self.contributions(X_shap)
        shap = np.stack([onnx_export.tree_shap(trees, x, X.shape[1]) for x in X_shap])
        return {
            "maxMarginDiff": float(margin_diff.max()),
            "maxShapDiff": float(np.abs(shap - contrib).max()),
            "baseValueDiff": abs(onnx_export.expected_margin(trees, base) - bias),
        }


class ScorecardModel:
    """Standardised logistic regression; the ONNX graph uses the unstandardised (folded) weights."""

    kind = "linear"
    framework = f"scikit-learn {sklearn.__version__}"

    def __init__(self, seed: int, C: float = 1.0):
        self.seed = seed
        self.pipeline = make_pipeline(
            StandardScaler(), LogisticRegression(C=C, penalty="l2", solver="lbfgs", max_iter=5000, random_state=seed))
        self.coef: np.ndarray | None = None
        self.intercept: float | None = None
        self.column_means: np.ndarray | None = None

    @property
    def hyperparameters(self) -> dict:
        regression = self.pipeline[-1]
        return {"standardise": True, "penalty": regression.penalty, "C": regression.C, "solver": regression.solver,
                "max_iter": regression.max_iter}

    def unfitted_copy(self) -> "ScorecardModel":
        return ScorecardModel(self.seed, self.pipeline[-1].C)

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ScorecardModel":
        """Fit, then fold the scaler: coef_j = β_j / σ_j, intercept = β_0 − Σ β_j μ_j / σ_j."""
        X = np.asarray(X, dtype=np.float64)
        assert not np.isnan(X).any(), "the scorecard does not support missing values"
        self.pipeline.fit(X, y)
        scaler, regression = self.pipeline
        self.coef = regression.coef_[0] / scaler.scale_
        self.intercept = float(regression.intercept_[0] - np.sum(regression.coef_[0] * scaler.mean_ / scaler.scale_))
        self.column_means = X.mean(axis=0)
        return self

    def margin(self, X: np.ndarray) -> np.ndarray:
        return self.pipeline.decision_function(np.asarray(X, dtype=np.float64))

    def probability(self, X: np.ndarray) -> np.ndarray:
        return self.pipeline.predict_proba(np.asarray(X, dtype=np.float64))[:, 1]

    def contributions(self, X: np.ndarray) -> tuple[np.ndarray, float]:
        """Exact linear SHAP coef_j · (x_j − mean_j), base = intercept + coef · means."""
        X = np.asarray(X, dtype=np.float64)
        return self.coef * (X - self.column_means), float(self.intercept + self.coef @ self.column_means)

    def to_onnx(self, n_columns: int, input_name: str, doc: str) -> onnx.ModelProto:
        assert len(self.coef) == n_columns
        return onnx_export.linear_onnx(self.coef, self.intercept, input_name, doc)

    def check_onnx(self, model: onnx.ModelProto, X: np.ndarray, X_shap: np.ndarray) -> dict:
        """float32 evaluation of the graph's weights against sklearn; SHAP from them vs ours."""
        coef, intercept = onnx_export.linear_from_onnx(model)
        margin_diff = np.abs(onnx_export.linear_margin(coef, intercept, X) - self.margin(X))
        shap_diff = np.abs(coef.astype(np.float64) * (X_shap - self.column_means) - self.contributions(X_shap)[0])
        base_diff = abs(float(intercept) + coef.astype(np.float64) @ self.column_means - self.contributions(X_shap[:1])[1])
        return {"maxMarginDiff": float(margin_diff.max()), "maxShapDiff": float(shap_diff.max()), "baseValueDiff": base_diff}
