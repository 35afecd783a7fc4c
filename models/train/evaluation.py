"""Holdout metrics, drift references, decision policy and fairness tables."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve

COST = {"missedDefault": 10.0, "refusedGood": 1.0}
SCALING = {"basePoints": 600, "baseOdds": 50, "pdo": 20}
CUTOFF_GRID = np.round(np.arange(0.005, 1.0, 0.005), 3)


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Mean predicted vs observed bad rate in `bins` equal-count groups sorted by prediction."""
    order = np.argsort(p, kind="stable")
    return [{"meanPredicted": float(p[group].mean()), "observedRate": float(y[group].mean()), "count": int(len(group))}
            for group in np.array_split(order, bins)]


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    """AUC, Gini, KS, Brier score, log loss and decile calibration of predicted P(bad)."""
    auc = roc_auc_score(y, p)
    fpr, tpr, _ = roc_curve(y, p)
    return {
        "auc": float(auc),
        "gini": float(2 * auc - 1),
        "ks": float(np.max(tpr - fpr)),
        "brier": float(brier_score_loss(y, p)),
        "logLoss": float(log_loss(y, p)),
        "calibration": calibration(y, p),
    }


def auc_interval(y: np.ndarray, p: np.ndarray, seed: int, reps: int = 500) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the AUC (seeded, resampling rows with replacement)."""
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(reps):
        rows = rng.integers(0, len(y), len(y))
        if 0 < y[rows].sum() < len(rows):
            aucs.append(roc_auc_score(y[rows], p[rows]))
    low, high = np.quantile(aucs, [0.025, 0.975])
    return float(low), float(high)


def numeric_reference(values: np.ndarray) -> dict:
    """Ten training-quantile bins ([a, b) except the last, [a, b]) with shares, plus summary stats."""
    present = values[~np.isnan(values)]
    edges = np.unique(np.quantile(present, np.linspace(0, 1, 11)))
    assert len(edges) >= 2, "constant feature"
    counts, _ = np.histogram(present, bins=edges)
    quantiles = np.quantile(present, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "kind": "numeric",
        "edges": [float(edge) for edge in edges],
        "proportions": [float(count / len(present)) for count in counts],
        "missingRate": float(np.isnan(values).mean()),
        "mean": float(present.mean()),
        "quantiles": dict(zip(("p05", "p25", "p50", "p75", "p95"), (float(q) for q in quantiles))),
    }


def categorical_reference(values, categories: tuple[str, ...]) -> dict:
    """Share of each category among non-missing training rows, plus the missing rate."""
    present = values.dropna()
    return {
        "kind": "categorical",
        "frequencies": {category: float((present == category).mean()) for category in categories},
        "missingRate": float(values.isna().mean()),
    }


def score_reference(p: np.ndarray) -> dict:
    """Distribution of predicted P(bad) in bins at the deciles of `p`, widened to [0, 1]."""
    inner = np.round(np.quantile(p, np.linspace(0.1, 0.9, 9)), 4)
    edges = np.unique(np.concatenate([[0.0], inner, [1.0]]))
    counts, _ = np.histogram(p, bins=edges)
    return {"edges": [float(edge) for edge in edges], "proportions": [float(count / len(p)) for count in counts]}


def decision_cost(y: np.ndarray, p: np.ndarray, threshold: float, missed_default: float = COST["missedDefault"],
                  refused_good: float = COST["refusedGood"]) -> float:
    """Cost per applicant of declining p >= threshold and approving the rest."""
    declined = p >= threshold
    return float((missed_default * np.sum(~declined & (y == 1)) + refused_good * np.sum(declined & (y == 0))) / len(y))


def cost_minimising_threshold(y: np.ndarray, p: np.ndarray, missed_default: float, refused_good: float) -> float:
    """Lowest threshold on a 0.005 grid that minimises the cost of a two-way approve/decline decision."""
    costs = [decision_cost(y, p, t, missed_default, refused_good) for t in CUTOFF_GRID]
    return float(CUTOFF_GRID[int(np.argmin(costs))])


def choose_cutoffs(y_oof: np.ndarray, p_oof: np.ndarray) -> dict:
    """Approve/review/decline cut-offs from out-of-fold training predictions.

    approveBelow: the threshold that minimises the expected cost with the stated cost matrix
    (missed default = 10 refused goods); in theory 1 / 11 ≈ 0.091 for a calibrated model.
    declineAtOrAbove: the same search with the cost of a missed default halved (5 refused goods;
    in theory 1 / 6 ≈ 0.167). Applicants at or above it would be declined even if defaults were only
    half as costly as assumed, so decline is reserved for clearly bad risk; applicants in between are
    the ones whose decision depends on the cost assumption, and go to a human.
    """
    approve_below = cost_minimising_threshold(y_oof, p_oof, COST["missedDefault"], COST["refusedGood"])
    decline_at = cost_minimising_threshold(y_oof, p_oof, COST["missedDefault"] / 2, COST["refusedGood"])
    return {"approveBelow": approve_below, "declineAtOrAbove": max(decline_at, approve_below)}


def policy_outcome(y: np.ndarray, p: np.ndarray, cutoffs: dict) -> dict:
    """Holdout outcome of the cut-offs; for the cost, review cases are counted as approved."""
    approved = p < cutoffs["approveBelow"]
    declined = p >= cutoffs["declineAtOrAbove"]
    return {
        "perApplicant": decision_cost(y, p, cutoffs["declineAtOrAbove"]),
        "approvalRate": float(approved.mean()),
        "reviewRate": float((~approved & ~declined).mean()),
        "declineRate": float(declined.mean()),
        "badRateAmongApproved": float(y[approved].mean()) if approved.any() else 0.0,
    }


def risk_bands(cutoffs: dict) -> list[dict]:
    """Five bands A..E: three inside the approve region, the review band, the decline band."""
    approve, decline = cutoffs["approveBelow"], cutoffs["declineAtOrAbove"]
    return [
        {"name": "A", "maxProbability": round(approve / 3, 4), "label": "Very low risk"},
        {"name": "B", "maxProbability": round(2 * approve / 3, 4), "label": "Low risk"},
        {"name": "C", "maxProbability": approve, "label": "Moderate risk"},
        {"name": "D", "maxProbability": decline, "label": "Elevated risk (review)"},
        {"name": "E", "maxProbability": 1.0, "label": "High risk"},
    ]


def group_outcomes(groups: np.ndarray, order: list[str], y: np.ndarray, p: np.ndarray, cutoffs: dict) -> list[dict]:
    """Per group (in `order`): size, observed and mean predicted bad rate, approve and decline rates."""
    rows = []
    for group in order:
        mask = groups == group
        rows.append({
            "group": group,
            "count": int(mask.sum()),
            "observed": float(y[mask].mean()),
            "predicted": float(p[mask].mean()),
            "approve": float((p[mask] < cutoffs["approveBelow"]).mean()),
            "decline": float((p[mask] >= cutoffs["declineAtOrAbove"]).mean()),
        })
    return rows
