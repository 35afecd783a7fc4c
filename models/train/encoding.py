"""Raw applicant → float32 tensor, exactly as the TypeScript encoder does it from the manifest.

- numeric: one passthrough column, NaN if missing;
- categorical: one column per category (`name=category`), 1 for the applicant's category and 0 for
  the others; if the value is missing, every column of the feature is NaN;
- ordinal: one column holding the category's code (its position in `categories`), NaN if missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datasets import FeatureSpec


class Encoder:
    """Lays out the input tensor of a model and encodes raw data frames into it."""

    def __init__(self, features: tuple[FeatureSpec, ...]):
        self.features = features
        self.columns: list[str] = []
        self.groups: dict[str, list[int]] = {}  # raw feature → its tensor columns
        for spec in features:
            if spec.type == "categorical":
                names = [f"{spec.name}={category}" for category in spec.categories]
            else:
                names = [spec.name]
            self.groups[spec.name] = list(range(len(self.columns), len(self.columns) + len(names)))
            self.columns.extend(names)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode raw rows into the float32 model input (NaN = missing)."""
        matrix = np.full((len(frame), len(self.columns)), np.nan, dtype=np.float32)
        for spec in self.features:
            values = frame[spec.name]
            present = values.notna().to_numpy()
            columns = self.groups[spec.name]
            if spec.type == "numeric":
                matrix[:, columns[0]] = values.to_numpy(dtype=np.float64).astype(np.float32)
            elif spec.type == "ordinal":
                codes = values.map({category: code for code, category in enumerate(spec.categories)})
                matrix[:, columns[0]] = codes.to_numpy(dtype=np.float64).astype(np.float32)
            else:
                for category, column in zip(spec.categories, columns):
                    matrix[present, column] = (values[present] == category).to_numpy(dtype=np.float32)
        return matrix

    def manifest_encoding(self, spec: FeatureSpec) -> dict:
        """The `encoding` object of a feature in manifest.json."""
        columns = self.groups[spec.name]
        if spec.type == "numeric":
            return {"kind": "passthrough", "column": columns[0]}
        if spec.type == "ordinal":
            return {"kind": "ordinal", "column": columns[0],
                    "codes": {category: code for code, category in enumerate(spec.categories)}}
        return {"kind": "one_hot", "columns": dict(zip(spec.categories, columns))}

    def monotone_signs(self) -> list[int]:
        """Per tensor column: +1 risk must not fall as it grows, -1 must not rise, 0 free (one-hot columns)."""
        signs = [0] * len(self.columns)
        for spec in self.features:
            if spec.risk_direction is not None:
                signs[self.groups[spec.name][0]] = 1 if spec.risk_direction == "increasing" else -1
        return signs

    def sum_by_feature(self, per_column: np.ndarray) -> np.ndarray:
        """Sum per-column attributions [N, columns] into per-raw-feature ones [N, features]."""
        per_column = np.asarray(per_column, dtype=np.float64)
        return np.stack([per_column[:, self.groups[spec.name]].sum(axis=1) for spec in self.features], axis=1)
