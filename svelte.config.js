import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter({ out: 'build', precompress: false }),
		alias: {
			$inference: 'inference'
		},
		// Absolute asset and link paths: the route guard answers a refused page with the /forbidden
		// page's HTML at the refused URL, where paths relative to /forbidden would point elsewhere.
		paths: { relative: false },
		// Content Security Policy of every page: SvelteKit adds a nonce (or a hash, for prerendered
		// pages) to its own inline boot script, so no other inline script can run. No inline styles:
		// component styles are external CSS files. Other security headers are set in
		// src/lib/server/auth/handles.ts; SvelteKit's CSRF origin check on form actions stays on.
		csp: {
			mode: 'auto',
			directives: {
				'default-src': ['self'],
				'script-src': ['self'],
				'style-src': ['self'],
				// Style *attributes* only (not <style> elements, not scripts): SvelteKit's route
				// announcer and the charts set inline style attributes, which a hash cannot cover for
				// every chart. CSS in an attribute cannot run script; script-src stays strict.
				'style-src-attr': ['unsafe-inline'],
				'img-src': ['self', 'data:'],
				'font-src': ['self'],
				'connect-src': ['self'],
				'object-src': ['none'],
				'base-uri': ['self'],
				'form-action': ['self'],
				'frame-ancestors': ['none']
			}
		},
		typescript: {
			// Type-check the whole project, not only src/ and tests/.
			config: (tsconfig) => {
				tsconfig.include.push(
					'../inference/**/*.ts',
					'../scripts/**/*.ts',
					'../examples/**/*.ts',
					'../otel/**/*.ts',
					'../drizzle.config.ts',
					'../playwright.config.ts'
				);
				return tsconfig;
			}
		}
	}
};

export default config;
