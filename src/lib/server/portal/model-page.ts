/**
 * The global view of one model version: what it weighs (mean |SHAP|), how good it was on the
 * holdout, the decision policy, the training summary and its model card, read from the bundle.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseMarkdown, type Block } from '$lib/markdown';
import type { ModelVersion } from '../services/models.service';

const cards = new WeakMap<ModelVersion, Promise<Block[]>>();

/** The bundle's MODEL_CARD.md as Markdown blocks (empty when the bundle has none). */
export function modelCard(version: ModelVersion): Promise<Block[]> {
	let card = cards.get(version);
	if (!card) {
		card = readFile(path.join(version.bundle.dir, 'MODEL_CARD.md'), 'utf8').then(
			parseMarkdown,
			(error: unknown) => {
				if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
				throw error;
			}
		);
		cards.set(version, card);
	}
	return card;
}

/** Everything the model page shows, from the manifest. */
export function globalView(version: ModelVersion) {
	const { manifest } = version;
	const labels = new Map(manifest.features.map((f) => [f.name, f.label]));
	return {
		model: { ...manifest.model, status: version.status },
		importance: Object.entries(manifest.explanation.meanAbsShap).map(([feature, importance]) => ({
			feature,
			label: labels.get(feature) ?? feature,
			importance
		})),
		metrics: manifest.metrics.holdout,
		trainMetrics: manifest.metrics.train ?? null,
		policy: manifest.policy,
		target: manifest.target,
		training: {
			dataset: manifest.training.dataset,
			source: manifest.training.source,
			rows: manifest.training.rows,
			trainRows: manifest.training.trainRows,
			holdoutRows: manifest.training.holdoutRows,
			positiveRate: manifest.training.positiveRate,
			split: manifest.training.split
		},
		features: manifest.features.map((f) => ({
			name: f.name,
			label: f.label,
			type: f.type,
			unit: f.unit,
			actionable: f.actionable,
			missingAllowed: f.missingAllowed
		}))
	};
}
