"""Writes tests/fixtures/<model-id>-holdout.json: the row numbers of each data set's holdout.

The holdout is the one `models/train/train.py` (split_dataset) kept out of training: 25 % of the
model's CSV in models/data/, stratified on its target, sklearn `train_test_split` with
random_state 42. The split is taken from train.py itself, so the two cannot disagree. Only the row
numbers (0 = first data row after the header) and labels are written; the rows themselves stay in
the CSV (MIT licence, see models/data/README.md). The simulator (`npm run simulate`) and the tests
replay these rows. Run with the interpreter of `npm run models:train`:
/usr/bin/python3 scripts/holdout-rows.py && npx prettier --write tests/fixtures/*-holdout.json
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "models/train"))

from train import BUNDLES, HOLDOUT_SHARE, SEED, split_dataset  # noqa: E402

written = set()
for bundle in BUNDLES:
    if bundle.model_id in written:
        continue  # the versions of one model share its data set and split
    written.add(bundle.model_id)
    dataset = bundle.dataset
    split = split_dataset(dataset)
    out = {
        "source": f"models/data/{dataset.csv}",
        "split": (
            f"train_test_split(test_size={HOLDOUT_SHARE}, stratify={dataset.target}, random_state={SEED}), "
            "as models/train/train.py"
        ),
        "rows": [int(i) for i in split.holdout],
        "bad": [int(split.y[i]) for i in split.holdout],
    }
    path = ROOT / f"tests/fixtures/{bundle.model_id}-holdout.json"
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"{bundle.model_id}: {len(split.holdout)} holdout rows, {int(split.y[split.holdout].sum())} bad -> {path.relative_to(ROOT)}")
