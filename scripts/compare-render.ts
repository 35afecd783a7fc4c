/**
 * `tsx scripts/compare-render.ts COMMITTED RENDERED`: fails when the committed render of the chart
 * (deploy/helm/credible/rendered/) holds other objects than `helm template`'s output. The deploy
 * workflow runs it, since `helm` is not installed where `npm run check:deploy` runs.
 */
import { readObjects, renderDifferences } from './deploy-checks/kubernetes';

const [committed, rendered] = process.argv.slice(2);
if (!committed || !rendered) {
	console.error('Usage: tsx scripts/compare-render.ts COMMITTED.yaml RENDERED.yaml');
	process.exit(2);
}
const differences = renderDifferences(readObjects(committed), readObjects(rendered));
if (differences.length > 0) {
	console.error(`${committed} differs from helm template:\n${differences.map((d) => `  ✗ ${d}`).join('\n')}`);
	process.exit(1);
}
console.log(`${committed}: the same objects as helm template`);
