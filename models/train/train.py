"""Train, export, check and document the model bundles shipped with Credible.

Run from the repository root (Debian's python3-xgboost, python3-sklearn, python3-onnx, python3-pandas):

    /usr/bin/python3 models/train/train.py

For each bundle it writes `models/<model-id>/<version>/` with model.onnx, manifest.json (the contract
of inference/manifest.ts), golden.jsonl and MODEL_CARD.md. Everything is seeded, single-threaded and
free of timestamps, so two runs produce byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

# Byte-identical bundles on any x86-64 machine: OpenBLAS picks its kernels by CPU, and its AVX-512
# kernels round the scorecard's linear algebra differently in the last digits from the AVX2 ones
# the shipped bundles were made with (models:check failed on an AVX-512 host). One thread, too, so
# that no sum depends on how the work is split. Set before numpy loads OpenBLAS.
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluation  # noqa: E402
import model_card  # noqa: E402
from datasets import CONSUMER_CREDIT, LENDING_CLUB, DatasetSpec, FeatureSpec, ProtectedAttribute  # noqa: E402
from encoding import Encoder  # noqa: E402
from models import ScorecardModel, XGBoostModel  # noqa: E402

SEED = 42
HOLDOUT_SHARE = 0.25
OOF_FOLDS = 5
GOLDEN_SAMPLE = 240
INPUT_NAME = "input"
# Fixed release date of this training recipe (not the clock), so that reruns are byte-identical.
CREATED_AT = "2026-11-24T00:00:00Z"
ADDITIVITY_TOLERANCE = 1e-5  # |baseValue + Σ shap − margin| on the golden rows
EXPORT_TOLERANCE = 1e-5  # ONNX (numpy re-evaluation) vs training library: margin, SHAP, base value

MODELS_DIR = Path(__file__).resolve().parents[1]
DATA_DIR = MODELS_DIR / "data"


@dataclass(frozen=True)
class Bundle:
    """One shipped model: which data, which model kind, and its identity in the API."""

    dataset: DatasetSpec
    model_id: str
    version: str
    name: str
    description: str
    make_model: Callable[[list[int]], XGBoostModel | ScorecardModel]  # monotone sign per tensor column

    @property
    def folder(self) -> Path:
        return MODELS_DIR / self.model_id / self.version


BUNDLES = (
    Bundle(LENDING_CLUB, "lending-club", "xgb-1.0.0", "Lending Club default risk (XGBoost)",
           "Champion model: gradient-boosted trees estimating the probability that a Lending Club personal "
           "loan goes bad (charged off, defaulted or 21-120 days late) from application and credit-bureau data.",
           lambda monotone: XGBoostModel(SEED, monotone=monotone, eta=0.02, max_depth=3, min_child_weight=20, colsample_bytree=0.5)),
    Bundle(LENDING_CLUB, "lending-club", "scorecard-1.0.0", "Lending Club default risk (logistic scorecard)",
           "Challenger model: logistic-regression scorecard on the same inputs as the XGBoost champion; "
           "every feature's effect is a single, inspectable weight.",
           lambda monotone: ScorecardModel(SEED, monotone=monotone)),
    Bundle(CONSUMER_CREDIT, "consumer-credit", "xgb-1.0.0", "Consumer credit default risk (XGBoost)",
           "Gradient-boosted trees estimating the probability that a consumer-credit applicant does not repay "
           "as agreed, from the application form; handles unknown housing, job, income, assets and debt.",
           lambda monotone: XGBoostModel(SEED, monotone=monotone, eta=0.05, max_depth=3, min_child_weight=10, colsample_bytree=0.8)),
)


@dataclass
class Split:
    """A data set, its 0/1 target and the stratified train/holdout row indices."""

    frame: pd.DataFrame
    y: np.ndarray
    train: np.ndarray
    holdout: np.ndarray


def split_dataset(dataset: DatasetSpec) -> Split:
    """Load the CSV and split it 75/25, stratified on the target, with the fixed seed."""
    frame = dataset.load(DATA_DIR)
    y = (frame[dataset.target] == dataset.positive).to_numpy(dtype=np.int64)
    train, holdout = train_test_split(np.arange(len(frame)), test_size=HOLDOUT_SHARE, stratify=y, random_state=SEED)
    return Split(frame, y, np.sort(train), np.sort(holdout))


def out_of_fold_probability(model, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(bad) for every training row from a copy of `model` that did not see it (stratified 5-fold)."""
    oof = np.zeros(len(y))
    folds = StratifiedKFold(n_splits=OOF_FOLDS, shuffle=True, random_state=SEED)
    for fit_rows, predict_rows in folds.split(X, y):
        oof[predict_rows] = model.unfitted_copy().fit(X[fit_rows], y[fit_rows]).probability(X[predict_rows])
    return oof


def raw_value(spec: FeatureSpec, value):
    """A CSV value as it appears in a JSON request: number, category string or null."""
    if pd.isna(value):
        return None
    if spec.type != "numeric":
        return str(value)
    value = float(value)
    return int(value) if value.is_integer() else value


def select_golden_rows(split: Split, features: tuple[FeatureSpec, ...]) -> tuple[np.ndarray, int]:
    """A seeded sample of holdout rows, plus rows that cover every category and every missing feature.

    Coverage rows come from the holdout when it has one, else from the training set. Returns the
    sorted row indices and how many of them are training rows.
    """
    rng = np.random.default_rng(SEED)
    chosen = set(rng.choice(split.holdout, size=GOLDEN_SAMPLE, replace=False).tolist())
    from_train = 0
    for spec in features:
        column = split.frame[spec.name]
        masks = [column == category for category in spec.categories or ()]
        if column.isna().any():
            masks.append(column.isna())
        for mask in masks:
            mask = mask.to_numpy()
            if mask[sorted(chosen)].any():
                continue
            in_holdout = split.holdout[mask[split.holdout]]
            row = in_holdout[0] if len(in_holdout) else split.train[mask[split.train]][0]
            from_train += int(len(in_holdout) == 0)
            chosen.add(int(row))
    return np.array(sorted(chosen)), from_train


def protected_spec(attribute: ProtectedAttribute, frame: pd.DataFrame) -> FeatureSpec:
    """A throw-away feature spec, used only to measure what adding the attribute would change."""
    column = frame[attribute.name]
    if pd.api.types.is_numeric_dtype(column):
        return FeatureSpec(attribute.name, attribute.name, "-", "numeric", "-", range=(column.min(), column.max()))
    categories = tuple(sorted(column.dropna().unique()))
    return FeatureSpec(attribute.name, attribute.name, "-", "categorical", "-", categories=categories)


def protected_groups(attribute: ProtectedAttribute, values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Group label of every row and the display order of the groups."""
    if attribute.groups:
        labels = np.array([next(label for label, upper in attribute.groups if v < upper) for v in values])
        return labels, [label for label, _ in attribute.groups]
    labels = values.fillna("unknown").astype(str).to_numpy()
    counts = pd.Series(labels).value_counts()
    if len(counts) > 8:  # many groups (US states): the five largest, the rest pooled
        top = list(counts.index[:5])
        labels = np.where(np.isin(labels, top), labels, "all other")
        return labels, top + ["all other"]
    return labels, list(counts.index)


def fairness_report(model, dataset: DatasetSpec, split: Split, p_holdout: np.ndarray, cutoffs: dict,
                    n_columns: int) -> dict:
    """Outcomes by protected group on the holdout, and the holdout AUC if the attributes were inputs."""
    groups = {}
    for attribute in dataset.protected:
        labels, order = protected_groups(attribute, split.frame[attribute.name].iloc[split.holdout])
        groups[attribute.name] = evaluation.group_outcomes(labels, order, split.y[split.holdout], p_holdout, cutoffs)
    extended = Encoder(dataset.features + tuple(protected_spec(a, split.frame) for a in dataset.protected))
    X_ext = extended.transform(split.frame)
    with_protected = model.unfitted_copy(extra_columns=X_ext.shape[1] - n_columns).fit(X_ext[split.train],
                                                                                       split.y[split.train])
    auc_with = roc_auc_score(split.y[split.holdout], with_protected.probability(X_ext[split.holdout]))
    return {"groups": groups, "aucWithProtected": float(auc_with)}


def feature_manifest(spec: FeatureSpec, index: int, dataset: DatasetSpec, encoder: Encoder, frame: pd.DataFrame) -> dict:
    """The manifest entry of one raw feature."""
    return {
        "name": spec.name,
        "label": spec.label,
        "description": spec.description,
        "type": spec.type,
        "unit": spec.unit,
        "range": {"min": spec.range[0], "max": spec.range[1]} if spec.range else None,
        "integer": spec.integer,
        "categories": list(spec.categories) if spec.categories else None,
        "categoryLabels": dict(spec.category_labels) if spec.category_labels else None,
        "missingAllowed": bool(frame[spec.name].isna().any()),
        "actionable": spec.actionable,
        "riskDirection": spec.risk_direction,
        "change": {"direction": spec.change.direction,
                   "values": list(spec.change.values) if spec.change.values else None} if spec.change else None,
        "encoding": encoder.manifest_encoding(spec),
        "reason": {"code": f"{dataset.reason_prefix}{index + 1:02d}", "text": spec.reason},
    }


def feature_reference(spec: FeatureSpec, values: pd.Series) -> dict:
    """Training distribution of one raw feature, for drift monitoring."""
    if spec.type == "numeric":
        return evaluation.numeric_reference(values.to_numpy(dtype=np.float64))
    return evaluation.categorical_reference(values, spec.categories)


def build_bundle(bundle: Bundle, split: Split) -> dict:
    """Train, evaluate, export, check and write one bundle; return its summary."""
    dataset = bundle.dataset
    encoder = Encoder(dataset.features)
    X = encoder.transform(split.frame)
    y = split.y
    X_train, y_train, X_hold, y_hold = X[split.train], y[split.train], X[split.holdout], y[split.holdout]

    model = bundle.make_model(encoder.monotone_signs()).fit(X_train, y_train)
    p_hold = model.probability(X_hold)
    unconstrained = model.unconstrained().fit(X_train, y_train)
    auc_unconstrained = float(roc_auc_score(y_hold, unconstrained.probability(X_hold)))
    metrics = {"holdout": evaluation.classification_metrics(y_hold, p_hold),
               "train": evaluation.classification_metrics(y_train, model.probability(X_train))}

    p_oof = out_of_fold_probability(model, X_train, y_train)
    cutoffs = evaluation.choose_cutoffs(y_train, p_oof)
    policy = {
        "costMatrix": evaluation.COST,
        "cutoffs": cutoffs,
        "expectedCost": evaluation.policy_outcome(y_hold, p_hold, cutoffs),
        "scaling": evaluation.SCALING,
        "bands": evaluation.risk_bands(cutoffs),
    }
    extra = {
        "oofAuc": float(roc_auc_score(y_train, p_oof)),
        "aucUnconstrained": auc_unconstrained,
        "unconstrainedHyperparameters": unconstrained.hyperparameters,
        "aucInterval": evaluation.auc_interval(y_hold, p_hold, SEED),
        "costReviewDeclined": evaluation.decision_cost(y_hold, p_hold, cutoffs["approveBelow"]),
        "costApproveAll": evaluation.decision_cost(y_hold, p_hold, threshold=np.inf),
    }

    contrib_hold, base_value = model.contributions(X_hold)
    shap_hold = encoder.sum_by_feature(contrib_hold)
    mean_abs_shap = {spec.name: float(v) for spec, v in zip(dataset.features, np.abs(shap_hold).mean(axis=0))}

    golden_rows, golden_from_train = select_golden_rows(split, dataset.features)
    golden, additivity = golden_lines(model, encoder, split.frame.iloc[golden_rows], X[golden_rows])

    doc = f"{bundle.name} — Credible model {bundle.model_id}/{bundle.version}"
    onnx_model = model.to_onnx(len(encoder.columns), INPUT_NAME, doc)
    onnx_bytes = onnx_model.SerializeToString()
    export_check = model.check_onnx(onnx_model, X_hold, X[golden_rows])
    assert max(export_check.values()) < EXPORT_TOLERANCE, f"ONNX export differs from the library: {export_check}"

    train_frame = split.frame.iloc[split.train]
    manifest = {
        "schemaVersion": 1,
        "model": {
            "id": bundle.model_id, "version": bundle.version, "name": bundle.name, "description": bundle.description,
            "kind": model.kind, "framework": model.framework, "createdAt": CREATED_AT,
        },
        "file": {"path": "model.onnx", "sha256": hashlib.sha256(onnx_bytes).hexdigest()},
        "input": {"name": INPUT_NAME, "columns": encoder.columns},
        "output": {"probability": "probability", "margin": "margin"},
        "features": [feature_manifest(spec, i, dataset, encoder, split.frame) for i, spec in enumerate(dataset.features)],
        "target": {"name": dataset.target, "positive": dataset.positive, "definition": dataset.target_definition},
        "training": {
            "dataset": f"models/data/{dataset.csv}",
            "source": dataset.source,
            "rows": len(split.frame),
            "trainRows": len(split.train),
            "holdoutRows": len(split.holdout),
            "positiveRate": float(y.mean()),
            "split": (f"Stratified on {dataset.target}: {1 - HOLDOUT_SHARE:.0%} train / {HOLDOUT_SHARE:.0%} holdout "
                      f"(sklearn train_test_split, random_state={SEED}); cut-offs chosen on {OOF_FOLDS}-fold "
                      f"out-of-fold predictions of the training set"),
            "seed": SEED,
            "hyperparameters": model.hyperparameters,
        },
        "metrics": metrics,
        "reference": {
            "features": {spec.name: feature_reference(spec, train_frame[spec.name]) for spec in dataset.features},
            "score": evaluation.score_reference(p_hold),
        },
        "policy": policy,
        "explanation": {
            "space": "log_odds",
            "baseValue": base_value,
            "columnMeans": [float(m) for m in model.column_means] if model.kind == "linear" else None,
            "meanAbsShap": mean_abs_shap,
        },
        "golden": {"path": "golden.jsonl", "rows": len(golden)},
    }

    summary = {
        "bundle": bundle, "manifest": manifest, "extra": extra, "exportCheck": export_check,
        "additivity": additivity, "goldenFromTrain": golden_from_train,
        "fairness": fairness_report(model, dataset, split, p_hold, cutoffs, len(encoder.columns)),
        "coef": list(model.coef) if model.kind == "linear" else None,
        "dataSha256": hashlib.sha256((DATA_DIR / dataset.csv).read_bytes()).hexdigest(),
    }
    write_bundle(bundle.folder, onnx_bytes, manifest, golden, model_card.render(summary))
    return summary


def golden_lines(model, encoder: Encoder, rows: pd.DataFrame, X: np.ndarray) -> tuple[list[dict], float]:
    """Golden test vectors (raw input → probability, margin, SHAP per raw feature) and the worst
    additivity error |baseValue + Σ shap − margin|."""
    probability, margin = model.probability(X), model.margin(X)
    contrib, base_value = model.contributions(X)
    shap = encoder.sum_by_feature(contrib)
    additivity = float(np.abs(base_value + shap.sum(axis=1) - margin).max())
    assert additivity < ADDITIVITY_TOLERANCE, f"SHAP additivity error {additivity}"
    lines = []
    for i, (_, row) in enumerate(rows.iterrows()):
        lines.append({
            "raw": {spec.name: raw_value(spec, row[spec.name]) for spec in encoder.features},
            "probability": float(probability[i]),
            "margin": float(margin[i]),
            "baseValue": base_value,
            "shap": {spec.name: float(v) for spec, v in zip(encoder.features, shap[i])},
        })
    return lines, additivity


def write_bundle(folder: Path, onnx_bytes: bytes, manifest: dict, golden: list[dict], card: str) -> None:
    """Write the four files of a bundle."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(onnx_bytes)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    (folder / "golden.jsonl").write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in golden))
    (folder / "MODEL_CARD.md").write_text(card)


def print_summary(summary: dict) -> None:
    """One block per bundle: metrics, cut-offs, policy outcome and export checks."""
    bundle, manifest = summary["bundle"], summary["manifest"]
    m = manifest["metrics"]["holdout"]
    policy = manifest["policy"]
    cost = policy["expectedCost"]
    check = summary["exportCheck"]
    print(f"\n== {bundle.model_id}/{bundle.version}  ({manifest['model']['framework']}, "
          f"{len(manifest['input']['columns'])} columns)")
    print(f"   holdout  AUC {m['auc']:.4f}  Gini {m['gini']:.4f}  KS {m['ks']:.4f}  Brier {m['brier']:.4f}  "
          f"logloss {m['logLoss']:.4f}   (train AUC {manifest['metrics']['train']['auc']:.4f}, "
          f"out-of-fold AUC {summary['extra']['oofAuc']:.4f})")
    print(f"   cut-offs approve < {policy['cutoffs']['approveBelow']}, decline >= {policy['cutoffs']['declineAtOrAbove']}"
          f"  → holdout approve {cost['approvalRate']:.1%} review {cost['reviewRate']:.1%} "
          f"decline {cost['declineRate']:.1%},"
          f" bad rate among approved {cost['badRateAmongApproved']:.2%}, cost/applicant {cost['perApplicant']:.4f}"
          f" (approve all {summary['extra']['costApproveAll']:.4f})")
    print(f"   ONNX check: max |margin diff| {check['maxMarginDiff']:.2e}, max |SHAP diff| {check['maxShapDiff']:.2e}, "
          f"|baseValue diff| {check['baseValueDiff']:.2e}; golden additivity {summary['additivity']:.2e} "
          f"({manifest['golden']['rows']} golden rows, {summary['goldenFromTrain']} from training)")
    print(f"   monotone constraints: holdout AUC {m['auc']:.4f} constrained vs "
          f"{summary['extra']['aucUnconstrained']:.4f} unconstrained "
          f"(change {m['auc'] - summary['extra']['aucUnconstrained']:+.4f})")
    print(f"   holdout AUC with protected attributes as inputs: {summary['fairness']['aucWithProtected']:.4f}")


def main() -> None:
    splits: dict[str, Split] = {}
    for bundle in BUNDLES:
        if bundle.dataset.key not in splits:
            splits[bundle.dataset.key] = split_dataset(bundle.dataset)
        print_summary(build_bundle(bundle, splits[bundle.dataset.key]))


if __name__ == "__main__":
    main()
