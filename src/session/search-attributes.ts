/**
 * Custom search attributes andon writes, so sessions can be listed and filtered through Temporal
 * visibility (and in the Temporal UI). They are registered on the dev server at start-up; on
 * another cluster create them once with `temporal operator search-attribute create` (see README).
 * Search attributes are never encrypted: only the state and the title go here, never prompts.
 */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';

export const STATE_ATTRIBUTE = defineSearchAttributeKey('AndonState', SearchAttributeType.KEYWORD);
export const TITLE_ATTRIBUTE = defineSearchAttributeKey('AndonTitle', SearchAttributeType.TEXT);

/** Name → type, in the form `temporal server start-dev --search-attribute Name=Type` takes. */
export const SEARCH_ATTRIBUTES: Readonly<Record<string, 'Keyword' | 'Text'>> = {
  AndonState: 'Keyword',
  AndonTitle: 'Text',
};

/** The workflow type every session runs as. */
export const SESSION_WORKFLOW_TYPE = 'andonSession';
