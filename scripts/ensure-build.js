// `npm start` builds the app first when there is no build or a source file is newer than it, so
// that `npm install && npm start` works on a fresh checkout and stays fast afterwards.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const stamp = 'build/handler.js';
const sources = [
	'src',
	'inference',
	'static',
	'svelte.config.js',
	'vite.config.ts',
	'package.json',
	'server.js'
];
const worker = 'dist/inference-worker.mjs';

function newest(target) {
	if (!existsSync(target)) return 0;
	const info = statSync(target);
	if (!info.isDirectory()) return info.mtimeMs;
	let latest = info.mtimeMs;
	for (const entry of readdirSync(target)) latest = Math.max(latest, newest(path.join(target, entry)));
	return latest;
}

const builtAt =
	existsSync(stamp) && existsSync(worker) ? Math.min(statSync(stamp).mtimeMs, statSync(worker).mtimeMs) : 0;
if (builtAt === 0 || Math.max(...sources.map(newest)) > builtAt) {
	console.log('Building Credible (first start or sources changed)…');
	execSync('npm run build', { stdio: 'inherit' });
}
