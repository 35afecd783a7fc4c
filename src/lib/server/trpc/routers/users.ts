import { z } from 'zod';
import { userRoles } from '../../auth/access';
import {
	createUser,
	getUser,
	listUsers,
	resetUserPassword,
	resetUserTwoFactor,
	setUserDisabled,
	setUserRole,
	unlockUser,
	type UsersCaller
} from '../../services/users.service';
import type { Principal } from '../../auth/principal';
import { roleProcedure, router, type Context } from '../trpc';

const adminProcedure = roleProcedure('admin');

const userId = z.object({ id: z.string().min(1).max(100) });

export const createUserInput = z.object({
	email: z.email('Enter a valid e-mail address.').max(320),
	name: z.string().trim().min(1, 'Enter a name.').max(200),
	role: z.enum(userRoles, { error: `Choose one of: ${userRoles.join(', ')}.` })
});

function caller(ctx: Context & { principal: Principal }): UsersCaller {
	return { actor: ctx.principal, ip: ctx.ip, requestId: ctx.requestId };
}

/** People who use the portal: administrators only. */
export const usersRouter = router({
	list: adminProcedure
		.input(z.object({ search: z.string().max(200).optional() }).optional())
		.query(({ ctx, input }) => listUsers(ctx.core.database.db, input ?? {})),
	get: adminProcedure.input(userId).query(({ ctx, input }) => getUser(ctx.core.database.db, input.id)),
	/** Creates a person with a temporary password, returned once, to change at first sign-in. */
	create: adminProcedure
		.input(createUserInput)
		.mutation(({ ctx, input }) => createUser(ctx.core.database.db, caller(ctx), input)),
	setRole: adminProcedure
		.input(userId.extend({ role: z.enum(userRoles) }))
		.mutation(({ ctx, input }) => setUserRole(ctx.core.database.db, caller(ctx), input.id, input.role)),
	disable: adminProcedure
		.input(userId)
		.mutation(({ ctx, input }) => setUserDisabled(ctx.core.database.db, caller(ctx), input.id, true)),
	enable: adminProcedure
		.input(userId)
		.mutation(({ ctx, input }) => setUserDisabled(ctx.core.database.db, caller(ctx), input.id, false)),
	resetTwoFactor: adminProcedure
		.input(userId)
		.mutation(({ ctx, input }) => resetUserTwoFactor(ctx.core.database.db, caller(ctx), input.id)),
	/** A new temporary password, returned once. */
	resetPassword: adminProcedure
		.input(userId)
		.mutation(({ ctx, input }) => resetUserPassword(ctx.core.database.db, caller(ctx), input.id)),
	unlock: adminProcedure
		.input(userId)
		.mutation(({ ctx, input }) => unlockUser(ctx.core.database.db, caller(ctx), input.id))
});
