/**
 * Custom search attributes andon writes, so sessions can be listed and filtered through Temporal
 * visibility (and in the Temporal UI). They are registered on the dev server at start-up; on
 * another cluster create them once with `temporal operator search-attribute create` (see docs/operations.md).
 * Search attributes are never encrypted: only the state and the title go here, never prompts;
 * with encryption on (docs/encryption.md) the client leaves the title out too.
 */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';

export const STATE_ATTRIBUTE = defineSearchAttributeKey('AndonState', SearchAttributeType.KEYWORD);
export const TITLE_ATTRIBUTE = defineSearchAttributeKey('AndonTitle', SearchAttributeType.TEXT);
/** The service a session is about (its `context.service`, e.g. from alert labels): set at start, never changes. */
export const SERVICE_ATTRIBUTE = defineSearchAttributeKey('AndonService', SearchAttributeType.KEYWORD);
/** `<channel>:<ts>` of the session's Slack message: finds the session of a thread reply or a button click. */
export const SLACK_THREAD_ATTRIBUTE = defineSearchAttributeKey('AndonSlackThread', SearchAttributeType.KEYWORD);

/** How many tool calls of the session wait for review: lists reviews across sessions without asking every session. */
export const PENDING_REVIEWS_ATTRIBUTE = defineSearchAttributeKey('AndonPendingReviews', SearchAttributeType.INT);

/** Name → type, in the form `temporal server start-dev --search-attribute Name=Type` takes. */
export const SEARCH_ATTRIBUTES: Readonly<Record<string, 'Keyword' | 'Text' | 'Int'>> = {
  AndonState: 'Keyword',
  AndonTitle: 'Text',
  AndonService: 'Keyword',
  AndonSlackThread: 'Keyword',
  AndonPendingReviews: 'Int',
};

/** The workflow type every session runs as. */
export const SESSION_WORKFLOW_TYPE = 'andonSession';
