/**
 * What an adverse-action notice says, shared by the PDF, the printable page and the JSON view: its
 * content type, the decision it is about (or why there is none) and the sentence about it.
 */
import type { Channel, Decision, FinalDecision } from '../../db/schema';
import type { PaperSize } from './notice-settings';

/** At most this many reasons go on a notice (Regulation B's commentary: more are seldom helpful). */
export const MAX_NOTICE_REASONS = 4;

export type NoticeDecision = 'decline' | 'refer';

export const noticeDecisionLabels: Record<NoticeDecision, string> = {
	decline: 'Declined',
	refer: 'Referred for further review'
};

/** The content of a notice, as the PDF, the printable page and the JSON view all show it. */
export interface AdverseActionNotice {
	predictionId: string;
	/** The caller's application reference when one was given, else the prediction id. */
	reference: string;
	/** When the decision that counts was taken (the final review's time, else the model's), ISO. */
	date: string;
	/** `date` in words, e.g. "June 3, 2025" (UTC). */
	dateText: string;
	decision: NoticeDecision;
	decisionLabel: string;
	/** The model's decision as recorded. */
	modelDecision: Decision;
	/** True when a person reviewed the decision; the final decision is theirs. */
	reviewed: boolean;
	/** The decision and who took it, in a sentence or two ({@link decisionSentence}). */
	summary: string;
	/** Principal reasons, strongest first, at most four. */
	reasons: { code: string; text: string }[];
	lender: {
		name: string;
		addressLines: string[];
		contact: string | null;
		statementOfRights: string;
		paperSize: PaperSize;
		/** True while the built-in defaults apply. */
		isDefault: boolean;
	};
	model: { id: string; version: string };
}

/** Where a notice was asked for and in which form, for the audit entry. */
export interface NoticeContext {
	ip: string | null;
	requestId: string | null;
	channel: Channel;
}

export type NoticeFormat = 'json' | 'html' | 'pdf';

/** A PDF ready to send: raw bytes and the name to save it under. */
export interface NoticeFile {
	contentType: 'application/pdf';
	filename: string;
	bytes: Uint8Array;
}

/**
 * The decision a notice is about, or why there is none: the latest review decides when there is
 * one (decline or refer: a notice; approve: none), else the model (decline; review → refer).
 */
export function noticeDecision(
	modelDecision: Decision,
	reviews: readonly { decision: FinalDecision }[]
): { decision: NoticeDecision } | { refused: string } {
	const final = reviews.at(-1)?.decision;
	if (final === 'approve')
		return {
			refused:
				'A reviewer approved this application: it has no adverse-action notice (only declined or referred applications do).'
		};
	if (final === 'decline' || final === 'refer') return { decision: final };
	if (modelDecision === 'approve')
		return {
			refused:
				'This application was approved: it has no adverse-action notice (only declined or referred applications do).'
		};
	return { decision: modelDecision === 'decline' ? 'decline' : 'refer' };
}

/** What the notice says about the decision and who took it. */
export function decisionSentence(notice: Pick<AdverseActionNotice, 'decision' | 'reviewed'>): string {
	const what =
		notice.decision === 'decline'
			? 'Thank you for your application. We are unable to approve it at this time.'
			: 'Thank you for your application. We have not been able to approve it at this time: it has been referred for further review, and we will contact you.';
	const who = notice.reviewed
		? 'The decision was reviewed by a member of our staff.'
		: 'The decision was made with the help of an automated credit-scoring model.';
	return `${what} ${who}`;
}
