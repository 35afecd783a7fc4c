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
