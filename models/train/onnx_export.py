"""Hand-written ONNX graphs for the two model kinds, and a numpy re-implementation to check them.

Tree ensembles (no converter package needed):

    input [N, F] ─ ai.onnx.ml.TreeEnsembleRegressor ─ margin [N, 1] ─ Sigmoid ─ probability [N, 1]

The regressor carries one node per XGBoost node, with `nodes_hitrates` = XGBoost's cover of every
node (splits and leaves), so path-dependent TreeSHAP can be computed from the ONNX file alone.

Linear models (standardisation folded into the weights):

    input [N, F] ─ MatMul(coef [F, 1]) ─ Add(intercept [1]) ─ margin [N, 1] ─ Sigmoid ─ probability [N, 1]

The checks below read the trees back *from the serialised ONNX model*, walk them with numpy
(float32 comparisons, NaN follows `nodes_missing_value_tracks_true`) and run TreeSHAP on them, so
they test exactly what the TypeScript runtime and explainer will read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
ML_OPSET = 3
PRODUCER = "credible-train"


@dataclass
class Tree:
    """One regression tree in flat arrays indexed by node id (children −1 at leaves)."""

    feature: np.ndarray  # int
    threshold: np.ndarray  # float32; go to `yes` when x < threshold
    yes: np.ndarray  # int, −1 at leaves
    no: np.ndarray  # int, −1 at leaves
    missing_yes: np.ndarray  # bool: NaN goes to `yes`
    cover: np.ndarray  # float32, every node
    value: np.ndarray  # float32, leaf value (0 at splits)

    @property
    def is_leaf(self) -> np.ndarray:
        return self.yes < 0


def trees_from_xgboost(booster) -> tuple[list[Tree], np.float32]:
    """Trees and base margin of a binary:logistic XGBoost booster, from its JSON model.

    The JSON model stores thresholds, leaf values and covers (`sum_hessian`) as exact float32
    (shortest round-trip decimal). The base margin is logit(base_score), computed in float32 like
    XGBoost's `ProbToMargin`.
    """
    model = json.loads(booster.save_raw(raw_format="json"))["learner"]
    assert model["objective"]["name"] == "binary:logistic"
    base_score = np.float32(model["learner_model_param"]["base_score"])
    base_margin = np.float32(-np.log(np.float32(1) / base_score - np.float32(1)))
    trees = []
    for raw in model["gradient_booster"]["model"]["trees"]:
        assert not raw["categories_nodes"], "categorical splits are not supported"
        yes = np.array(raw["left_children"], dtype=np.int64)
        leaf = yes < 0
        conditions = np.array(raw["split_conditions"], dtype=np.float32)
        trees.append(Tree(
            feature=np.where(leaf, 0, np.array(raw["split_indices"], dtype=np.int64)),
            threshold=np.where(leaf, np.float32(0), conditions),
            yes=yes,
            no=np.array(raw["right_children"], dtype=np.int64),
            missing_yes=np.array(raw["default_left"], dtype=bool) & ~leaf,
            cover=np.array(raw["sum_hessian"], dtype=np.float32),
            value=np.where(leaf, conditions, np.float32(0)),
        ))
    return trees, base_margin


def _graph_io(n_columns: int, input_name: str):
    """Input [N, F] float and outputs margin/probability [N, 1] float."""
    inputs = [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", n_columns])]
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", 1]) for name in ("probability", "margin")]
    return inputs, outputs


def _model(graph, opsets: dict[str, int], doc: str) -> onnx.ModelProto:
    """Wrap and check a graph (no timestamps, so the bytes are reproducible)."""
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(domain, version) for domain, version in opsets.items()],
        producer_name=PRODUCER, producer_version="1.0.0", doc_string=doc)
    onnx.checker.check_model(model, full_check=True)
    return model


def tree_ensemble_onnx(trees: list[Tree], base_margin: float, n_columns: int, input_name: str, doc: str) -> onnx.ModelProto:
    """TreeEnsembleRegressor (SUM of leaves + base margin) followed by Sigmoid."""
    nodes: dict[str, list] = {key: [] for key in (
        "treeids", "nodeids", "featureids", "modes", "values", "truenodeids", "falsenodeids",
        "missing_value_tracks_true", "hitrates")}
    targets: dict[str, list] = {"treeids": [], "nodeids": [], "ids": [], "weights": []}
    for tree_id, tree in enumerate(trees):
        for node in range(len(tree.yes)):
            leaf = bool(tree.is_leaf[node])
            nodes["treeids"].append(tree_id)
            nodes["nodeids"].append(node)
            nodes["featureids"].append(int(tree.feature[node]))
            nodes["modes"].append("LEAF" if leaf else "BRANCH_LT")
            nodes["values"].append(float(tree.threshold[node]))
            nodes["truenodeids"].append(0 if leaf else int(tree.yes[node]))
            nodes["falsenodeids"].append(0 if leaf else int(tree.no[node]))
            nodes["missing_value_tracks_true"].append(int(tree.missing_yes[node]))
            nodes["hitrates"].append(float(tree.cover[node]))
            if leaf:
                targets["treeids"].append(tree_id)
                targets["nodeids"].append(node)
                targets["ids"].append(0)
                targets["weights"].append(float(tree.value[node]))
    ensemble = helper.make_node(
        "TreeEnsembleRegressor", [input_name], ["margin"], name="trees", domain="ai.onnx.ml",
        n_targets=1, aggregate_function="SUM", post_transform="NONE", base_values=[float(base_margin)],
        **{f"nodes_{key}": value for key, value in nodes.items()},
        **{f"target_{key}": value for key, value in targets.items()})
    sigmoid = helper.make_node("Sigmoid", ["margin"], ["probability"], name="sigmoid")
    inputs, outputs = _graph_io(n_columns, input_name)
    graph = helper.make_graph([ensemble, sigmoid], "tree_ensemble", inputs, outputs)
    return _model(graph, {"": OPSET, "ai.onnx.ml": ML_OPSET}, doc)


def linear_onnx(coef: np.ndarray, intercept: float, input_name: str, doc: str) -> onnx.ModelProto:
    """MatMul with `coef` [F, 1], Add `intercept` [1], then Sigmoid."""
    initializers = [
        numpy_helper.from_array(np.asarray(coef, dtype=np.float32).reshape(-1, 1), "coef"),
        numpy_helper.from_array(np.array([intercept], dtype=np.float32), "intercept"),
    ]
    graph_nodes = [
        helper.make_node("MatMul", [input_name, "coef"], ["linear"], name="matmul"),
        helper.make_node("Add", ["linear", "intercept"], ["margin"], name="add_intercept"),
        helper.make_node("Sigmoid", ["margin"], ["probability"], name="sigmoid"),
    ]
    inputs, outputs = _graph_io(len(coef), input_name)
    graph = helper.make_graph(graph_nodes, "linear", inputs, outputs, initializer=initializers)
    return _model(graph, {"": OPSET}, doc)


# ---------------------------------------------------------------------------------------------
# Reading the ONNX file back, and evaluating it with numpy.


def trees_from_onnx(model: onnx.ModelProto) -> tuple[list[Tree], np.float32]:
    """Rebuild the trees and base value from the TreeEnsembleRegressor attributes of a model."""
    (node,) = [n for n in model.graph.node if n.op_type == "TreeEnsembleRegressor"]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    tree_ids = np.array(attrs["nodes_treeids"])
    node_ids = np.array(attrs["nodes_nodeids"])
    leaf_weights = {(t, n): w for t, n, w in zip(attrs["target_treeids"], attrs["target_nodeids"], attrs["target_weights"])}
    trees = []
    for tree_id in range(tree_ids.max() + 1):
        rows = np.flatnonzero(tree_ids == tree_id)
        order = rows[np.argsort(node_ids[rows])]
        assert np.array_equal(node_ids[order], np.arange(len(order)))
        leaf = np.array([attrs["nodes_modes"][i] == b"LEAF" for i in order])

        def pick(key: str, dtype) -> np.ndarray:
            return np.array([attrs[key][i] for i in order], dtype=dtype)

        trees.append(Tree(
            feature=pick("nodes_featureids", np.int64),
            threshold=pick("nodes_values", np.float32),
            yes=np.where(leaf, -1, pick("nodes_truenodeids", np.int64)),
            no=np.where(leaf, -1, pick("nodes_falsenodeids", np.int64)),
            missing_yes=pick("nodes_missing_value_tracks_true", bool),
            cover=pick("nodes_hitrates", np.float32),
            value=np.array([leaf_weights.get((tree_id, int(n)), 0.0) for n in range(len(order))], dtype=np.float32),
        ))
    return trees, np.float32(attrs["base_values"][0])


def tree_margin(trees: list[Tree], base_margin: np.float32, X: np.ndarray) -> np.ndarray:
    """Margin of every row: walk each tree (x < threshold → yes; NaN → missing branch), sum in float32."""
    X = np.asarray(X, dtype=np.float32)
    rows = np.arange(len(X))
    margin = np.full(len(X), base_margin, dtype=np.float32)
    for tree in trees:
        node = np.zeros(len(X), dtype=np.int64)
        while True:
            active = ~tree.is_leaf[node]
            if not active.any():
                break
            x = X[rows, tree.feature[node]]
            go_yes = np.where(np.isnan(x), tree.missing_yes[node], x < tree.threshold[node])
            node = np.where(active, np.where(go_yes, tree.yes[node], tree.no[node]), node)
        margin += tree.value[node]
    return margin


def expected_margin(trees: list[Tree], base_margin: float) -> float:
    """Cover-weighted mean of each tree's leaves, summed, plus the base: TreeSHAP's base value."""

    def mean(tree: Tree, node: int) -> float:
        if tree.is_leaf[node]:
            return float(tree.value[node])
        yes, no = tree.yes[node], tree.no[node]
        return (tree.cover[yes] * mean(tree, yes) + tree.cover[no] * mean(tree, no)) / tree.cover[node]

    return float(base_margin) + sum(mean(tree, 0) for tree in trees)


def tree_shap(trees: list[Tree], x: np.ndarray, n_columns: int) -> np.ndarray:
    """Exact path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2) of one row, per column."""
    phi = np.zeros(n_columns)
    for tree in trees:
        _shap_recurse(tree, np.asarray(x, dtype=np.float32), phi, 0, [], 1.0, 1.0, -1)
    return phi


def _shap_recurse(tree: Tree, x, phi, node, path, zero_fraction, one_fraction, feature):
    """Recursive step of TreeSHAP; `path` is a list of [feature, zero, one, weight] entries."""
    path = _extend(path, zero_fraction, one_fraction, feature)
    if tree.is_leaf[node]:
        for i in range(1, len(path)):
            weight = _unwound_sum(path, i)
            phi[path[i][0]] += weight * (path[i][2] - path[i][1]) * float(tree.value[node])
        return
    split = int(tree.feature[node])
    value = x[split]
    hot_yes = bool(tree.missing_yes[node]) if np.isnan(value) else bool(value < tree.threshold[node])
    hot, cold = (tree.yes[node], tree.no[node]) if hot_yes else (tree.no[node], tree.yes[node])
    incoming_zero, incoming_one = 1.0, 1.0
    previous = next((i for i, entry in enumerate(path) if entry[0] == split), None)
    if previous is not None:
        incoming_zero, incoming_one = path[previous][1], path[previous][2]
        path = _unwind(path, previous)
    cover = float(tree.cover[node])
    _shap_recurse(tree, x, phi, hot, path, incoming_zero * float(tree.cover[hot]) / cover, incoming_one, split)
    _shap_recurse(tree, x, phi, cold, path, incoming_zero * float(tree.cover[cold]) / cover, 0.0, split)


def _extend(path, zero_fraction, one_fraction, feature):
    path = [entry[:] for entry in path] + [[feature, zero_fraction, one_fraction, 1.0 if not path else 0.0]]
    depth = len(path) - 1
    for i in range(depth - 1, -1, -1):
        path[i + 1][3] += one_fraction * path[i][3] * (i + 1) / (depth + 1)
        path[i][3] = zero_fraction * path[i][3] * (depth - i) / (depth + 1)
    return path


def _unwind(path, index):
    path = [entry[:] for entry in path]
    depth = len(path) - 1
    _, zero_fraction, one_fraction, _ = path[index]
    next_one = path[depth][3]
    for i in range(depth - 1, -1, -1):
        if one_fraction != 0:
            stored = path[i][3]
            path[i][3] = next_one * (depth + 1) / ((i + 1) * one_fraction)
            next_one = stored - path[i][3] * zero_fraction * (depth - i) / (depth + 1)
        else:
            path[i][3] = path[i][3] * (depth + 1) / (zero_fraction * (depth - i))
    weights = [entry[3] for entry in path[:depth]]
    del path[index]
    for entry, weight in zip(path, weights):
        entry[3] = weight
    return path


def _unwound_sum(path, index):
    depth = len(path) - 1
    _, zero_fraction, one_fraction, _ = path[index]
    next_one = path[depth][3]
    total = 0.0
    for i in range(depth - 1, -1, -1):
        if one_fraction != 0:
            part = next_one * (depth + 1) / ((i + 1) * one_fraction)
            total += part
            next_one = path[i][3] - part * zero_fraction * (depth - i) / (depth + 1)
        else:
            total += path[i][3] / zero_fraction / ((depth - i) / (depth + 1))
    return total


def linear_from_onnx(model: onnx.ModelProto) -> tuple[np.ndarray, np.float32]:
    """The `coef` [F] and `intercept` initializers of a linear model."""
    tensors = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return tensors["coef"].reshape(-1), tensors["intercept"].reshape(())


def linear_margin(coef: np.ndarray, intercept: np.float32, X: np.ndarray) -> np.ndarray:
    """float32 MatMul + Add, as the ONNX graph computes it."""
    return (np.asarray(X, dtype=np.float32) @ coef.astype(np.float32).reshape(-1, 1)).reshape(-1) + intercept
