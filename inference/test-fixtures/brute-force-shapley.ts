/**
 * Reference Shapley values by enumeration, for tests: deliberately naive and independent of the
 * TreeSHAP code. The value of a coalition S is the path-dependent conditional expectation of the
 * trees (Lundberg et al., Algorithm 1): at a split on a column in S follow the row, otherwise
 * average both children weighted by cover. Exponential in the number of columns: small trees only.
 */

/** A tree as nested nodes, the shape the fixtures are written in. */
export type RefNode =
	| { leaf: number; cover: number }
	| {
			column: number;
			/** Goes to `yes` when `x < threshold`, or when x is NaN and `missingYes`. */
			threshold: number;
			missingYes: boolean;
			cover: number;
			yes: RefNode;
			no: RefNode;
	  };

export interface RefEnsemble {
	base: number;
	trees: RefNode[];
	columns: number;
}

function goesYes(n: Extract<RefNode, { column: number }>, x: number): boolean {
	return Number.isNaN(x) ? n.missingYes : x < n.threshold;
}

/** The margin of a row, by plain traversal in float64. */
export function referenceMargin(e: RefEnsemble, x: ArrayLike<number>): number {
	let sum = e.base;
	for (const tree of e.trees) {
		let n = tree;
		while (!('leaf' in n)) n = goesYes(n, x[n.column] ?? NaN) ? n.yes : n.no;
		sum += n.leaf;
	}
	return sum;
}

/** E[f(x) | x_S] under the cover distribution, for coalition bit mask `s`. */
function expectation(n: RefNode, x: ArrayLike<number>, s: number): number {
	if ('leaf' in n) return n.leaf;
	if ((s >> n.column) & 1) return expectation(goesYes(n, x[n.column] ?? NaN) ? n.yes : n.no, x, s);
	return (n.yes.cover * expectation(n.yes, x, s) + n.no.cover * expectation(n.no, x, s)) / n.cover;
}

function coalitionValue(e: RefEnsemble, x: ArrayLike<number>, s: number): number {
	return e.trees.reduce((sum, t) => sum + expectation(t, x, s), e.base);
}

/** Exact Shapley values per column, by enumerating every coalition; plus f(∅) as the base value. */
export function bruteForceShapley(e: RefEnsemble, x: ArrayLike<number>): { phi: number[]; base: number } {
	const m = e.columns;
	if (m > 16) throw new Error('brute force is for small models');
	const fact = [1];
	for (let i = 1; i <= m; i++) fact.push((fact[i - 1] ?? 1) * i);
	const value = new Float64Array(1 << m);
	for (let s = 0; s < 1 << m; s++) value[s] = coalitionValue(e, x, s);
	const phi = new Array<number>(m).fill(0);
	for (let j = 0; j < m; j++) {
		const bit = 1 << j;
		for (let s = 0; s < 1 << m; s++) {
			if (s & bit) continue;
			const size = popcount(s);
			const w = ((fact[size] ?? 1) * (fact[m - size - 1] ?? 1)) / (fact[m] ?? 1);
			phi[j] = (phi[j] ?? 0) + w * ((value[s | bit] ?? 0) - (value[s] ?? 0));
		}
	}
	return { phi, base: value[0] ?? NaN };
}

function popcount(v: number): number {
	let c = 0;
	for (let x = v; x !== 0; x &= x - 1) c++;
	return c;
}
