import { z } from 'zod';
import { modelInfoOutput, modelListOutput } from '../schemas';
import { protectedProcedure, roleProcedure, router } from '../trpc';
import { describeModels, describeVersion } from '../../services/models.service';
import { modelStates } from '../../db/schema';
import {
	promoteInputSchema,
	rollbackInputSchema,
	shadowInputSchema,
	unshadowInputSchema
} from '../../services/model-registry.service';
import { compareShadow, shadowComparisonInputSchema } from '../../services/shadow-comparison.service';
import { uploadInputSchema } from '../../services/bundle-upload.service';
import {
	backtestRefSchema,
	cancelBacktestInputSchema,
	cancelBacktest,
	compareBacktest,
	getBacktest,
	listBacktests,
	listBacktestsInputSchema,
	startBacktest,
	startBacktestInputSchema
} from '../../services/backtest.service';
import { backtestStatuses } from '../../db/schema';

/** Who may change which version is served: administrators. */
const registryProcedure = roleProcedure('admin');
/** Who may read how a version in shadow compares: risk managers and administrators. */
const watchers = roleProcedure('risk_manager', 'admin');

const shadowChangeOutput = z.object({
	model: z.string(),
	version: z.string().describe('The version put into shadow or taken out of it.'),
	from: z.enum(modelStates).describe('Its state before.'),
	state: z.enum(modelStates).describe('Its state now.'),
	generation: z.number().int()
});

const decisionCounts = z.object({
	approve: z.number().int(),
	review: z.number().int(),
	decline: z.number().int()
});
const swapGroup = z.object({
	count: z.number().int(),
	withOutcome: z.number().int().describe('Of them, with an outcome recorded.'),
	bad: z.number().int().describe('Of those, defaulted.'),
	badRate: z.number().nullable().describe('bad / withOutcome; null without outcomes.')
});
const shadowComparisonOutput = z.object({
	model: z.string(),
	shadowVersion: z.string(),
	inShadow: z.boolean(),
	championVersions: z.array(z.string()),
	window: z.object({ from: z.string(), to: z.string() }),
	count: z.number().int().describe('Champion decisions the shadow version scored in the window.'),
	truncated: z.boolean().describe('More decisions than were read; the newest were compared.'),
	agreementRate: z.number().nullable(),
	flips: z
		.object({ approve: decisionCounts, review: decisionCounts, decline: decisionCounts })
		.describe('flips[champion decision][shadow decision]: counts.'),
	swapIns: swapGroup.describe('Not approved by the champion, approved by the shadow.'),
	swapOuts: swapGroup.describe('Approved by the champion, not by the shadow.'),
	meanProbability: z.object({ champion: z.number().nullable(), shadow: z.number().nullable() }),
	correlation: z.object({ pearson: z.number().nullable(), spearman: z.number().nullable() }),
	psi: z.object({
		value: z.number().nullable().describe('PSI of the shadow’s probabilities against the champion’s.'),
		bins: z.array(
			z.object({
				label: z.string(),
				champion: z.number().int(),
				shadow: z.number().int(),
				contribution: z.number()
			})
		)
	}),
	shapDifferences: z.array(
		z.object({
			feature: z.string(),
			label: z.string(),
			meanAbsDifference: z.number(),
			meanAbsChampion: z.number(),
			meanAbsShadow: z.number()
		})
	)
});

const backtestOutput = z.object({
	id: z.string(),
	model: z.string(),
	version: z.string().describe('The candidate version.'),
	from: z.string(),
	to: z.string(),
	status: z.enum(backtestStatuses),
	total: z.number().int().describe('Stored applications in the period.'),
	done: z.number().int().describe('Of them, replayed so far (skipped ones included).'),
	skipped: z.number().int().describe('Of those, refused by the candidate’s manifest.'),
	progress: z.number().describe('done / total.'),
	requestedBy: z.string(),
	reason: z.string(),
	instance: z.string().nullable(),
	error: z.string().nullable(),
	createdAt: z.string(),
	startedAt: z.string().nullable(),
	finishedAt: z.string().nullable()
});
const backtestComparisonOutput = shadowComparisonOutput
	.omit({ shadowVersion: true, inShadow: true, window: true })
	.extend({
		backtest: backtestOutput,
		version: z.string().describe('The candidate; its figures are the `shadow` ones.'),
		count: z.number().int().describe('Applications the candidate scored (results stored so far).')
	});

const backtestRouter = router({
	/**
	 * Queues a backtest: the model's stored applications decided in [from, to) replayed through a
	 * registered version in the background. 404 for an unknown model; 400 by field for an unknown
	 * or retired version, a bad or empty period, more than 100,000 applications, no reason.
	 */
	start: registryProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/models/{model}/backtests',
				tags: ['models'],
				summary: 'Start a backtest',
				protect: true
			}
		})
		.input(startBacktestInputSchema)
		.output(backtestOutput)
		.mutation(({ ctx, input }) =>
			startBacktest(
				{ db: ctx.core.db, models: ctx.core.models, onQueued: () => ctx.core.backtests.poke() },
				ctx.principal,
				input,
				{ ip: ctx.ip, requestId: ctx.requestId }
			)
		),

	/** The model's backtests with their progress, newest first (at most 50). */
	list: watchers
		.meta({
			openapi: {
				method: 'GET',
				path: '/models/{model}/backtests',
				tags: ['models'],
				summary: 'List backtests',
				protect: true
			}
		})
		.input(listBacktestsInputSchema)
		.output(z.array(backtestOutput))
		.query(({ ctx, input }) => listBacktests({ db: ctx.core.db, models: ctx.core.models }, input)),

	/** One backtest and its progress; 404 when unknown. */
	get: watchers
		.meta({
			openapi: {
				method: 'GET',
				path: '/models/{model}/backtests/{id}',
				tags: ['models'],
				summary: 'Read a backtest',
				protect: true
			}
		})
		.input(backtestRefSchema)
		.output(backtestOutput)
		.query(({ ctx, input }) => getBacktest({ db: ctx.core.db, models: ctx.core.models }, input)),

	/** The candidate against the recorded decisions, as the shadow comparison, over the results so far. */
	comparison: watchers
		.meta({
			openapi: {
				method: 'GET',
				path: '/models/{model}/backtests/{id}/comparison',
				tags: ['monitoring'],
				summary: 'Compare a backtest with the recorded decisions',
				protect: true
			}
		})
		.input(backtestRefSchema)
		.output(backtestComparisonOutput)
		.query(({ ctx, input }) => compareBacktest({ db: ctx.core.db, models: ctx.core.models }, input)),

	/** Stops a queued or running backtest (its results so far stay); 409 once finished. */
	cancel: registryProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/models/{model}/backtests/{id}/cancel',
				tags: ['models'],
				summary: 'Cancel a backtest',
				protect: true
			}
		})
		.input(cancelBacktestInputSchema)
		.output(backtestOutput)
		.mutation(({ ctx, input }) =>
			cancelBacktest({ db: ctx.core.db, models: ctx.core.models }, ctx.principal, input, {
				ip: ctx.ip,
				requestId: ctx.requestId
			})
		)
});

const registryChangeOutput = z.object({
	model: z.string(),
	champion: z.string().describe('The version served from now on.'),
	previous: z.string().describe('The champion before this change.'),
	previousState: z.enum(modelStates).describe('Where the previous champion went.'),
	generation: z.number().int()
});

export const modelsRouter = router({
	/** Backtests: replays of a period's stored applications through a registered version. */
	backtest: backtestRouter,

	/** Every model with its versions, champion and challengers. */
	list: protectedProcedure
		.meta({
			openapi: { method: 'GET', path: '/models', tags: ['models'], summary: 'List models', protect: true }
		})
		.input(z.object({}).optional())
		.output(modelListOutput)
		.query(({ ctx }) => describeModels(ctx.core.models)),

	/** One model version: its features (types, ranges, categories), metrics and decision policy. */
	info: protectedProcedure
		.meta({
			openapi: {
				method: 'GET',
				path: '/models/{model}',
				tags: ['models'],
				summary: 'Describe a model',
				protect: true
			}
		})
		.input(z.object({ model: z.string().min(1).max(64), version: z.string().min(1).max(64).optional() }))
		.output(modelInfoOutput)
		.query(({ ctx, input }) =>
			describeVersion(ctx.core.models, ctx.core.models.resolve(input.model, input.version))
		),

	/**
	 * Makes a version the champion on every instance sharing the database; the old champion
	 * becomes a challenger. 404 for an unknown model or version, 409 for a retired version, the
	 * current champion, a stale `expectedGeneration` or a concurrent change.
	 */
	promote: registryProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/models/{model}/promote',
				tags: ['models'],
				summary: 'Promote a model version to champion',
				protect: true
			}
		})
		.input(promoteInputSchema)
		.output(registryChangeOutput)
		.mutation(({ ctx, input }) =>
			ctx.core.lifecycle.promote(ctx.principal, input, { ip: ctx.ip, requestId: ctx.requestId })
		),

	/**
	 * Registers a bundle archive (tar or tar.gz, base64) after checking its manifest, its SHA-256
	 * and its golden rows in the inference workers; 400 with the failing checks or rows, 409 when
	 * the version exists. The version is `registered` (champion only for a new model).
	 */
	upload: registryProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/models/bundles',
				tags: ['models'],
				summary: 'Upload a model bundle',
				protect: true
			}
		})
		.input(uploadInputSchema)
		.output(
			z.object({
				model: z.string(),
				version: z.string(),
				state: z.enum(modelStates),
				sha256: z.string(),
				goldenRows: z.number().int(),
				maxProbabilityError: z.number(),
				maxShapError: z.number()
			})
		)
		.mutation(({ ctx, input }) =>
			ctx.core.lifecycle.upload(ctx.principal, input, { ip: ctx.ip, requestId: ctx.requestId })
		),

	/**
	 * Puts a registered version or a challenger into shadow (one per model): every champion decision
	 * is then also scored by it in the background. 404 for an unknown model or version; 409 for the
	 * champion, a retired version, a version already in shadow, another version in shadow, a stale
	 * `expectedGeneration` or a concurrent change.
	 */
	shadow: registryProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/models/{model}/shadow',
				tags: ['models'],
				summary: 'Put a model version into shadow',
				protect: true
			}
		})
		.input(shadowInputSchema)
		.output(shadowChangeOutput)
		.mutation(({ ctx, input }) =>
			ctx.core.lifecycle.shadow(ctx.principal, input, { ip: ctx.ip, requestId: ctx.requestId })
		),

	/** Takes the model's version in shadow out of it, back to its earlier state; 409 when none is. */
	unshadow: registryProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/models/{model}/unshadow',
				tags: ['models'],
				summary: 'Take a model version out of shadow',
				protect: true
			}
		})
		.input(unshadowInputSchema)
		.output(shadowChangeOutput)
		.mutation(({ ctx, input }) =>
			ctx.core.lifecycle.unshadow(ctx.principal, input, { ip: ctx.ip, requestId: ctx.requestId })
		),

	/**
	 * The version in shadow against the champion over a window (`window`, or `from`/`to` as for
	 * drift). 400 for a bad window, 404 for an unknown model or version, 409 for a version that is
	 * not in shadow and never was (or, without `version`, when none is).
	 */
	shadowComparison: watchers
		.meta({
			openapi: {
				method: 'GET',
				path: '/models/{model}/shadow',
				tags: ['monitoring'],
				summary: 'Compare the version in shadow with the champion',
				protect: true
			}
		})
		.input(shadowComparisonInputSchema)
		.output(shadowComparisonOutput)
		.query(({ ctx, input }) => compareShadow({ db: ctx.core.db, models: ctx.core.models }, input)),

	/** Restores the champion the last promotion replaced; the version rolled back is retired. */
	rollback: registryProcedure
		.meta({
			openapi: {
				method: 'POST',
				path: '/models/{model}/rollback',
				tags: ['models'],
				summary: 'Roll a model back to its previous champion',
				protect: true
			}
		})
		.input(rollbackInputSchema)
		.output(registryChangeOutput)
		.mutation(({ ctx, input }) =>
			ctx.core.lifecycle.rollback(ctx.principal, input, { ip: ctx.ip, requestId: ctx.requestId })
		)
});
