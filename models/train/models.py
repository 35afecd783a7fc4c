"""The two model kinds: fit, predict, explain (SHAP in log-odds) and export to ONNX + check.

Both take the encoded float32 matrix (NaN = missing) and expose the same interface, so the bundle
builder in train.py does not care which kind it is building.
"""

from __future__ import annotations

import numpy as np
import onnx
import scipy
import sklearn
import xgboost as xgb
from scipy import optimize, special
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

    def __init__(self, seed: int, rounds: int | None = None, monotone: list[int] | None = None, **params):
        self.seed = seed
        self.rounds = rounds
        self.monotone = list(monotone) if monotone is not None and any(monotone) else None
        self.params = {
            "objective": "binary:logistic", "eta": 0.05, "max_depth": 3, "min_child_weight": 1.0,
            "subsample": 0.8, "colsample_bytree": 0.8, "lambda": 1.0, "tree_method": "hist", "max_bin": 256,
            "seed": seed, "nthread": 1, **params,
        }
        if self.monotone:
            self.params["monotone_constraints"] = "(" + ",".join(str(sign) for sign in self.monotone) + ")"
        self.booster: xgb.Booster | None = None

    @property
    def hyperparameters(self) -> dict:
        return {"num_boost_round": self.rounds, "rounds_chosen_by": ROUNDS_RULE, **self.params}

    def unfitted_copy(self, extra_columns: int = 0) -> "XGBoostModel":
        """Same hyperparameters (including the number of rounds once chosen), not trained.

        `extra_columns` unconstrained columns are appended to the monotone constraints (the fairness check
        adds the protected attributes after the model's own columns).
        """
        params = {k: v for k, v in self.params.items() if k not in ("seed", "base_score", "monotone_constraints")}
        monotone = self.monotone + [0] * extra_columns if self.monotone else None
        return XGBoostModel(self.seed, self.rounds, monotone, **params)

    def unconstrained(self) -> "XGBoostModel":
        """The same recipe without monotone constraints, rounds chosen afresh (for the before/after AUC)."""
        params = {k: v for k, v in self.params.items() if k not in ("seed", "base_score", "monotone_constraints")}
        return XGBoostModel(self.seed, None, None, **params)

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
    """Standardised L2 logistic regression, optionally with sign-constrained coefficients.

    Fitted by minimising C · Σ log loss + ½ ‖β‖² (sklearn's objective; intercept not penalised) with
    scipy's L-BFGS-B. A column with sign +1 gets the bound β ≥ 0, -1 gets β ≤ 0, 0 is free. The ONNX
    graph uses the unstandardised (folded) weights, which have the same signs.
    """

    kind = "linear"
    framework = f"scikit-learn {sklearn.__version__} + scipy {scipy.__version__}"
    MAX_ITER = 5000

    def __init__(self, seed: int, C: float = 1.0, monotone: list[int] | None = None):
        self.seed = seed  # the fit is deterministic; kept for the common interface
        self.C = C
        self.monotone = list(monotone) if monotone is not None and any(monotone) else None
        self.coef: np.ndarray | None = None
        self.intercept: float | None = None
        self.column_means: np.ndarray | None = None

    @property
    def hyperparameters(self) -> dict:
        return {"standardise": True, "penalty": "l2", "C": self.C, "solver": "L-BFGS-B (scipy)",
                "max_iter": self.MAX_ITER, "signConstraints": self.monotone}

    def unfitted_copy(self, extra_columns: int = 0) -> "ScorecardModel":
        monotone = self.monotone + [0] * extra_columns if self.monotone else None
        return ScorecardModel(self.seed, self.C, monotone)

    def unconstrained(self) -> "ScorecardModel":
        return ScorecardModel(self.seed, self.C)

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ScorecardModel":
        """Fit on standardised columns, then fold the scaler: coef_j = β_j / σ_j, intercept = β_0 − Σ β_j μ_j / σ_j."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        assert not np.isnan(X).any(), "the scorecard does not support missing values"
        scaler = StandardScaler().fit(X)
        Z = scaler.transform(X)
        n_columns = Z.shape[1]

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            beta, beta0 = theta[:-1], theta[-1]
            margin = Z @ beta + beta0
            loss = self.C * float(np.sum(np.logaddexp(0.0, margin) - y * margin)) + 0.5 * float(beta @ beta)
            residual = self.C * (special.expit(margin) - y)
            return loss, np.append(Z.T @ residual + beta, residual.sum())

        signs = self.monotone or [0] * n_columns
        assert len(signs) == n_columns
        bounds = [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs] + [(None, None)]
        result = optimize.minimize(objective, np.zeros(n_columns + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                                   options={"maxiter": self.MAX_ITER, "ftol": 1e-12, "gtol": 1e-8})
        assert result.success, f"scorecard fit did not converge: {result.message}"
        beta, beta0 = result.x[:-1], result.x[-1]
        self.coef = beta / scaler.scale_
        self.intercept = float(beta0 - np.sum(beta * scaler.mean_ / scaler.scale_))
        self.column_means = X.mean(axis=0)
        return self

    def margin(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.coef + self.intercept

    def probability(self, X: np.ndarray) -> np.ndarray:
        return special.expit(self.margin(X))

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
