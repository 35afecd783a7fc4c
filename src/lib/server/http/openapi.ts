/**
 * The OpenAPI 3 document of the REST API, generated from the same tRPC procedures and zod schemas
 * that serve `/trpc` and `/api/v1`, plus the token endpoint and each model's applicant schema.
 */
import { z } from 'zod';
import { generateOpenApiDocument } from 'trpc-to-openapi';
import { appRouter } from '../trpc/root';
import type { ModelRegistry } from '../services/models.service';
import type { Meta } from '../trpc/trpc';
import { API_PREFIX, restRoutes } from './rest';

type Document = ReturnType<typeof generateOpenApiDocument>;

let cached: { registry: ModelRegistry; document: Document } | undefined;

/** The document, built once per model registry. */
export function openApiDocument(registry: ModelRegistry): Document {
	if (cached?.registry === registry) return cached.document;
	const document = generateOpenApiDocument(appRouter, {
		title: 'Credible API',
		description:
			'Credit scoring with explanations. Authenticate with a service account: exchange its client id and secret ' +
			`at POST ${API_PREFIX}/oauth/token for a bearer token. Validation errors are 400 with \`error.fieldErrors\` ` +
			'keyed by the dotted path of each bad field; overload and database outages are 503 with Retry-After.',
		version: '1.0.0',
		baseUrl: API_PREFIX,
		securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
	});
	// The project's licence (package.json), which linters expect the document to state.
	document.info.license = { name: 'MIT', url: 'https://opensource.org/licenses/MIT' };
	document.paths ??= {};
	document.paths['/oauth/token'] = tokenPath as unknown as NonNullable<Document['paths']>[string];
	describeFiles(document);
	document.components ??= {};
	document.components.schemas ??= {};
	// Each model's applicant, generated from its manifest, so clients can validate before calling.
	const applicants: string[] = [];
	for (const version of registry.all()) {
		if (version.status === 'registered' || version.status === 'retired') continue;
		const name = `Applicant_${version.key.replace(/[^A-Za-z0-9]+/g, '_')}`;
		applicants.push(name);
		document.components.schemas[name] = z.toJSONSchema(version.applicantSchema, {
			io: 'input',
			unrepresentable: 'any'
		}) as never;
	}
	referenceApplicants(document, applicants);
	declareSecurity(document);
	cached = { registry, document };
	return document;
}

/**
 * The bodies that carry applicants name their types: any of the served models' applicant schemas
 * (the model is a path or body parameter, so one operation serves them all). A generated client
 * then gets the fields instead of an empty object.
 */
function referenceApplicants(document: Document, names: readonly string[]): void {
	if (names.length === 0) return;
	const anyApplicant = {
		anyOf: names.map((name) => ({ $ref: `#/components/schemas/${name}` })),
		description:
			'Feature name → value, as the schema of the model (and version) scored; see GET /models/{model}.'
	};
	const bodyOf = (path: string) =>
		(
			document.paths?.[path]?.post?.requestBody as
				{ content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } | undefined
		)?.content?.['application/json']?.schema?.properties;
	for (const path of ['/models/{model}/score', '/explain']) {
		const properties = bodyOf(path);
		if (properties?.applicant) properties.applicant = anyApplicant;
	}
	const batch = bodyOf('/models/{model}/score/batch');
	if (batch?.applicants) batch.applicants = { ...batch.applicants, items: anyApplicant };
}

/** Every operation states its security: none for public ones (and the token endpoint), else a bearer token. */
function declareSecurity(document: Document): void {
	const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { meta?: Meta } }>;
	for (const route of restRoutes()) {
		const operation = document.paths?.[route.path]?.[route.method.toLowerCase() as 'get'];
		if (!operation) continue;
		const access = procedures[route.procedure]?._def.meta?.access;
		operation.security = access === 'public' ? [] : [{ bearer: [] }];
	}
	const token = document.paths?.['/oauth/token']?.post;
	if (token) token.security = [];
}

/**
 * A route that answers a file says so: the generator describes every procedure's JSON output, but
 * REST writes the file's bytes itself (`http/rest.ts`), so its 200 is that content type.
 */
function describeFiles(document: Document): void {
	for (const route of restRoutes()) {
		if (!route.file) continue;
		const operation = document.paths?.[route.path]?.[route.method.toLowerCase() as 'get'];
		if (!operation?.responses?.['200']) continue;
		operation.responses['200'] = {
			description: 'The file, to be saved under the name in Content-Disposition.',
			headers: {
				'content-disposition': {
					description: 'attachment; filename="…"',
					schema: { type: 'string' }
				}
			},
			content: { [route.file]: { schema: { type: 'string', format: 'binary' } } }
		} as never;
	}
}

const tokenPath = {
	post: {
		tags: ['auth'],
		summary: 'Exchange client credentials for an access token (OAuth 2.0 client credentials)',
		operationId: 'oauth-token',
		requestBody: {
			required: true,
			content: {
				'application/x-www-form-urlencoded': {
					schema: {
						type: 'object',
						required: ['grant_type', 'client_id', 'client_secret'],
						properties: {
							grant_type: { type: 'string', enum: ['client_credentials'] },
							client_id: { type: 'string' },
							client_secret: { type: 'string' }
						}
					}
				}
			}
		},
		responses: {
			'200': {
				description: 'An access token',
				content: {
					'application/json': {
						schema: {
							type: 'object',
							properties: {
								access_token: { type: 'string' },
								token_type: { type: 'string', enum: ['Bearer'] },
								expires_in: { type: 'integer' }
							}
						}
					}
				}
			},
			'400': { description: 'invalid_request or unsupported_grant_type' },
			'401': { description: 'invalid_client' },
			'429': { description: 'Too many failed attempts; see Retry-After' }
		}
	}
} as const;
