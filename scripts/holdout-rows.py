"""Writes tests/fixtures/lending-club-holdout.json: the row numbers of the Lending Club holdout.

The holdout is the one `models/train/train.py` (split_dataset) kept out of training: 25 % of
models/data/lending_club.csv, stratified on Class, sklearn `train_test_split` with random_state 42.
Only the row numbers (0 = first data row after the header) and labels are written; the rows
themselves stay in the CSV (MIT licence, see models/data/README.md). Run with the interpreter of
`npm run models:train`: /usr/bin/python3 scripts/holdout-rows.py
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
SEED = 42
HOLDOUT_SHARE = 0.25

frame = pd.read_csv(ROOT / "models/data/lending_club.csv", keep_default_na=False, na_values=["NA"])
y = (frame["Class"] == "bad").to_numpy(dtype=np.int64)
_, holdout = train_test_split(np.arange(len(frame)), test_size=HOLDOUT_SHARE, stratify=y, random_state=SEED)
holdout = np.sort(holdout)
out = {
    "source": "models/data/lending_club.csv",
    "split": "train_test_split(test_size=0.25, stratify=Class, random_state=42), as models/train/train.py",
    "rows": [int(i) for i in holdout],
    "bad": [int(y[i]) for i in holdout],
}
(ROOT / "tests/fixtures/lending-club-holdout.json").write_text(json.dumps(out, separators=(",", ":")) + "\n")
print(f"{len(holdout)} holdout rows, {int(y[holdout].sum())} bad")
