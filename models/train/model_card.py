"""MODEL_CARD.md of a bundle, rendered from the numbers train.py measured (nothing typed by hand)."""

from __future__ import annotations

import math

import evaluation

RETRAIN = """```sh
apt-get install -y python3-xgboost python3-sklearn python3-onnx python3-pandas
/usr/bin/python3 models/train/train.py     # from the repository root; rebuilds every bundle
```"""

CUTOFF_RULE = (
    "Cut-offs are chosen on **out-of-fold predictions of the training set** (5-fold, same "
    "hyperparameters), never on the holdout. `approveBelow` is the threshold (0.005 grid) that minimises "
    "the expected cost of a two-way approve/decline decision with the cost matrix above (theory: "
    "1/11 ≈ 0.091 for a perfectly calibrated model). `declineAtOrAbove` is the same search with the cost "
    "of a missed default halved (theory: 1/6 ≈ 0.167): an applicant at or above it would be declined even "
    "if defaults were only half as costly as assumed, so decline is reserved for clearly bad risk. "
    "Applicants in between are those whose decision depends on the cost assumption; they go to review."
)


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _points(p: float) -> str:
    """Score points of probability p under the manifest's PDO scaling."""
    s = evaluation.SCALING
    factor = s["pdo"] / math.log(2)
    offset = s["basePoints"] - factor * math.log(s["baseOdds"])
    return f"{offset + factor * math.log((1 - p) / p):.0f}"


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _change(feature: dict) -> str:
    """How an applicant could change a feature, as the counterfactual search is allowed to."""
    change = feature["change"]
    if change is None:
        return "no"
    if change["values"]:
        labels = feature["categoryLabels"] or {}
        return "to " + ", ".join(str(labels.get(v, v)) for v in change["values"])
    return {"increase": "increase only", "decrease": "decrease only", "either": "either way"}[change["direction"]]


def _features_section(manifest: dict) -> str:
    importance = manifest["explanation"]["meanAbsShap"]
    rows = []
    for f in manifest["features"]:
        encoding = f["encoding"]["kind"].replace("_", "-")
        if f["encoding"]["kind"] == "one_hot":
            encoding += f" ({len(f['encoding']['columns'])} columns)"
        rows.append([f"`{f['name']}`", f["label"], f["type"], f["unit"] or "", encoding,
                     "yes" if f["missingAllowed"] else "no", _change(f),
                     f["reason"]["code"], f"{importance[f['name']]:.3f}"])
    return _table(["feature", "label", "type", "unit", "encoding", "missing allowed", "applicant can change", "reason",
                   "mean \\|SHAP\\| (holdout)"], rows)


AUC_LOSS_NOTE = 0.01  # a constrained model losing more holdout AUC than this gets a discussion in the card


def _direction(feature: dict) -> str:
    direction = feature["riskDirection"]
    if direction is None:
        return "none"
    if feature["type"] == "ordinal":
        categories = feature["categories"]
        return f"{direction} ({categories[0]} → {categories[-1]})"
    return direction


def _monotone_section(summary: dict) -> str:
    """What the model is constrained to, why, and what the constraints cost in holdout AUC."""
    manifest, extra = summary["manifest"], summary["extra"]
    why = {spec.name: spec.direction_why for spec in summary["bundle"].dataset.features}
    rows = [[f"`{f['name']}`", f["label"], _direction(f), why[f["name"]]] for f in manifest["features"]]
    if manifest["model"]["kind"] == "tree_ensemble":
        how = ("Enforced by XGBoost `monotone_constraints` on the tensor columns: +1 for an increasing and -1 for a "
               "decreasing numeric or ordinal column, 0 for everything else (one-hot columns are never "
               "constrained). Every split on a constrained column keeps the predicted risk ordered, so the served "
               "probability cannot move against the declared direction while the other inputs stay fixed. "
               "Missing values follow each split's default branch and are outside the constraint.")
    else:
        how = ("Enforced as sign bounds on the standardised coefficients (β ≥ 0 for increasing, β ≤ 0 for "
               "decreasing; one-hot columns free), fitted with L-BFGS-B. A bound that binds leaves the "
               "coefficient at exactly 0: the feature then has no effect rather than the wrong one.")
    constrained, free = manifest["metrics"]["holdout"]["auc"], extra["aucUnconstrained"]
    loss = free - constrained
    parts = [
        "Credit logic expects risk to move one way with some inputs (more income, less risk; more "
        "delinquencies, more risk). The model is constrained to respect these directions: with the other "
        "inputs fixed, moving a constrained feature in its risk-reducing direction never raises the "
        "score's probability of default, so reason codes and counterfactual suggestions for these "
        "features cannot contradict credit logic.",
        _table(["feature", "label", "risk direction", "why"], rows),
        how,
        f"Holdout AUC with the constraints **{constrained:.4f}**, the same recipe without them {free:.4f} "
        f"(difference {constrained - free:+.4f}).",
    ]
    if manifest["model"]["kind"] == "linear":
        zero = [f"`{f['name']}`" for f in manifest["features"]
                if f["riskDirection"] and any(manifest["training"]["hyperparameters"]["signConstraints"][c] != 0
                                              and summary["coef"][c] == 0 for c in _columns(f))]
        parts.append("Coefficients held at 0 by their bound (given the other inputs, the fit would move them "
                     "against the declared direction, usually because a correlated input carries the effect): "
                     + (", ".join(zero) if zero else "none") + ".")
    if loss > AUC_LOSS_NOTE:
        parts.append(f"The constraints cost {loss:.4f} AUC, more than {AUC_LOSS_NOTE}. The unconstrained model "
                     "gets that AUC partly from effects against the declared directions, which do not "
                     "generalise as credit logic and which an applicant could not be told honestly; the "
                     "constrained model is shipped deliberately; compare the loss with the width of the "
                     "holdout AUC's bootstrap interval under Metrics.")
    return "\n\n".join(parts)


def _columns(feature: dict) -> list[int]:
    encoding = feature["encoding"]
    return list(encoding["columns"].values()) if encoding["kind"] == "one_hot" else [encoding["column"]]


def _metrics_section(manifest: dict, extra: dict) -> str:
    hold, train = manifest["metrics"]["holdout"], manifest["metrics"]["train"]
    low, high = extra["aucInterval"]
    rows = [[name, f"{hold[key]:.4f}", f"{train[key]:.4f}"] for name, key in
            (("AUC", "auc"), ("Gini", "gini"), ("KS", "ks"), ("Brier score", "brier"), ("Log loss", "logLoss"))]
    return (_table(["metric", f"holdout ({manifest['training']['holdoutRows']} rows)",
                    f"train, in-sample ({manifest['training']['trainRows']} rows)"], rows)
            + f"\n\nHoldout AUC 95 % bootstrap interval: {low:.3f} – {high:.3f}. "
            f"Out-of-fold AUC on the training set: {extra['oofAuc']:.4f}.")


def _calibration_section(manifest: dict) -> str:
    rows = [[i + 1, b["count"], f"{b['meanPredicted']:.3f}", f"{b['observedRate']:.3f}"]
            for i, b in enumerate(manifest["metrics"]["holdout"]["calibration"])]
    return _table(["decile of predicted P(bad)", "applicants", "mean predicted", "observed bad rate"], rows)


def _policy_section(manifest: dict, extra: dict) -> str:
    policy = manifest["policy"]
    cut, cost = policy["cutoffs"], policy["expectedCost"]
    outcome = _table(["", "holdout"], [
        ["approve (p < approveBelow)", _pct(cost["approvalRate"])],
        ["review", _pct(cost["reviewRate"])],
        ["decline (p ≥ declineAtOrAbove)", _pct(cost["declineRate"])],
        ["bad rate among automatically approved", _pct(cost["badRateAmongApproved"])],
        ["expected cost per applicant, review counted as approve", f"{cost['perApplicant']:.4f}"],
        ["expected cost per applicant, review counted as decline", f"{extra['costReviewDeclined']:.4f}"],
        ["expected cost per applicant, approve everybody", f"{extra['costApproveAll']:.4f}"],
    ])
    bands, lower = [], 0.0
    for band in policy["bands"]:
        upper = band["maxProbability"]
        if lower == 0:
            points = f"> {_points(upper)}"
        elif upper == 1:
            points = f"≤ {_points(lower)}"
        else:
            points = f"{_points(upper)} – {_points(lower)}"
        bands.append([band["name"], band["label"], f"{lower:.4g} – {upper:.4g}", points])
        lower = upper
    scaling = policy["scaling"]
    return "\n\n".join([
        f"Cost matrix: a missed default costs {policy['costMatrix']['missedDefault']:g}, a wrongly refused good "
        f"applicant {policy['costMatrix']['refusedGood']:g}. **Approve if p < {cut['approveBelow']}, decline if "
        f"p ≥ {cut['declineAtOrAbove']}, review in between.**",
        CUTOFF_RULE,
        outcome,
        "The two costs with review bracket the policy: the first assumes reviewers approve every review case, "
        "the second that they decline every one; good reviewers land in between or below.",
        f"Risk bands (an applicant is in the first band whose maxProbability is at or above p; score points use "
        f"{scaling['basePoints']} points at odds {scaling['baseOdds']}:1 good:bad and {scaling['pdo']} points to "
        f"double the odds):",
        _table(["band", "label", "P(bad)", "score points"], bands),
    ])


def _fairness_section(summary: dict) -> str:
    dataset = summary["bundle"].dataset
    manifest = summary["manifest"]
    fairness = summary["fairness"]
    names = ", ".join(f"`{a.name}`" for a in dataset.protected)
    parts = [
        f"**Excluded from the inputs: {names}.** These columns are in the CSV, but the model never sees them:",
        "\n".join(f"- `{a.name}`: {a.why}" for a in dataset.protected),
        f"They are used only to report outcomes by group below. Adding them back as inputs (same recipe) would "
        f"give a holdout AUC of {fairness['aucWithProtected']:.4f}, against {manifest['metrics']['holdout']['auc']:.4f} "
        f"without them.",
        dataset.proxies,
    ]
    for attribute in dataset.protected:
        rows = [[g["group"], g["count"], _pct(g["observed"]), _pct(g["predicted"]), _pct(g["approve"]),
                 _pct(g["decline"])] for g in fairness["groups"][attribute.name]]
        parts.append(f"Holdout outcomes by `{attribute.name}`:\n\n" + _table(
            ["group", "applicants", "observed bad rate", "mean predicted", "approved", "declined"], rows))
    parts.append("Compare the observed and mean predicted bad rate of each group: a group predicted above its "
                 "observed rate is over-scored (treated as riskier than it turned out to be), and vice versa. "
                 "Before any real use, run a disparate-impact review with your own legal counsel and data.")
    return "\n\n".join(parts)


def _model_section(summary: dict) -> str:
    manifest, check = summary["manifest"], summary["exportCheck"]
    hyper = manifest["training"]["hyperparameters"]
    if manifest["model"]["kind"] == "tree_ensemble":
        how = (f"XGBoost gradient-boosted trees (`{manifest['model']['framework']}`), {hyper['num_boost_round']} "
               f"trees of depth ≤ {hyper['max_depth']}, learning rate {hyper['eta']}; number of trees chosen by "
               f"{hyper['rounds_chosen_by']}. Exported as one `ai.onnx.ml` TreeEnsembleRegressor (margin) and a "
               f"Sigmoid (probability); node covers are stored in `nodes_hitrates` for TreeSHAP. Explanations: "
               f"exact path-dependent TreeSHAP in log-odds, one-hot columns summed per raw feature.")
    else:
        how = (f"Logistic regression (`{manifest['model']['framework']}`) on standardised columns, L2 penalty "
               f"C = {hyper['C']}. The standardisation is folded into the ONNX weights: MatMul(`coef`) + "
               f"Add(`intercept`) gives the margin, Sigmoid the probability. Explanations: exact linear SHAP "
               f"coef × (x − training mean of the column), summed per raw feature.")
    hyper_text = ", ".join(f"`{k}`={v}" for k, v in hyper.items() if k != "rounds_chosen_by")
    return "\n\n".join([
        how,
        f"Hyperparameters: {hyper_text}.",
        f"Export check (numpy re-evaluation of the ONNX file against the training library): max |margin "
        f"difference| {check['maxMarginDiff']:.1e} on all holdout rows, max |SHAP difference| "
        f"{check['maxShapDiff']:.1e} and |base value difference| {check['baseValueDiff']:.1e} on the golden rows. "
        f"SHAP additivity on the golden rows: |base + Σ SHAP − margin| ≤ {summary['additivity']:.1e}.",
    ])


def render(summary: dict) -> str:
    """The model card of one bundle."""
    bundle, manifest, extra = summary["bundle"], summary["manifest"], summary["extra"]
    dataset = bundle.dataset
    model, training = manifest["model"], manifest["training"]
    golden_note = (f" ({summary['goldenFromTrain']} of them from the training set, added only to cover a category "
                   f"or missing value absent from the holdout)" if summary["goldenFromTrain"] else "")
    sections = [
        f"# {model['name']}\n\n`{model['id']}/{model['version']}` · {model['kind']} · {model['framework']} · "
        f"{len(manifest['input']['columns'])} input columns · created {model['createdAt']}\n\n{model['description']}",
        f"## Intended use\n\n{dataset.intended_use}\n\nThe score supports a credit decision; it does not make "
        "one. This bundle is a reference model trained on a small public data set: validate, recalibrate and "
        "review it on your own population before production use. Not for other products, populations or "
        "periods, and not for fully automated adverse decisions.",
        f"## Data\n\n- Data set: `{training['dataset']}` (sha256 `{summary['dataSha256']}`), {training['source']}.\n"
        f"- Target `{manifest['target']['name']}`, positive class `{manifest['target']['positive']}`: "
        f"{manifest['target']['definition']}\n"
        f"- {training['rows']:,} rows, bad rate {_pct(training['positiveRate'])}: {training['trainRows']:,} train / "
        f"{training['holdoutRows']:,} holdout rows. Split: {training['split']}.\n"
        f"- Golden file: {manifest['golden']['rows']} raw rows with the library's probability, margin and SHAP"
        f"{golden_note}; every category and every missing-allowed feature occurs at least once.",
        f"## Features\n\nEncoding: numeric → passthrough column; categorical → one-hot columns (all NaN when "
        f"missing); ordinal → position in the category list. Reason codes are shown when a feature pushes "
        f"the risk up.\n\n{_features_section(manifest)}",
        f"## Model\n\n{_model_section(summary)}",
        f"## Metrics\n\n{_metrics_section(manifest, extra)}",
        f"## Monotone constraints\n\n{_monotone_section(summary)}",
        f"## Calibration (holdout)\n\n{_calibration_section(manifest)}",
        f"## Decision policy\n\n{_policy_section(manifest, extra)}",
        "## Limitations\n\n" + "\n".join(f"- {item}" for item in dataset.limitations),
        f"## Fairness\n\n{_fairness_section(summary)}",
        f"## How to retrain\n\n{RETRAIN}\n\nSeeds are fixed and XGBoost runs single-threaded, so a rerun with "
        f"the same package versions reproduces model.onnx and golden.jsonl byte for byte. See "
        f"`models/train/README.md` and `docs/models.md`.",
    ]
    return "\n\n".join(sections) + "\n"
