import { pgEnum } from 'drizzle-orm/pg-core';

export const roles = ['admin', 'risk_manager', 'executive', 'viewer', 'scorer'] as const;
export type Role = (typeof roles)[number];
export const roleEnum = pgEnum('role', roles);

export const decisions = ['approve', 'review', 'decline'] as const;
export type Decision = (typeof decisions)[number];
export const decisionEnum = pgEnum('decision', decisions);

/** Where a prediction came from. */
export const channels = ['api', 'trpc', 'portal', 'batch'] as const;
export type Channel = (typeof channels)[number];
export const channelEnum = pgEnum('channel', channels);
