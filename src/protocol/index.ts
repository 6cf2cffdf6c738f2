/**
 * andon's protocol: what the workflow, its activities, both clients, the service, the Slack app and
 * the CLI agree on. It imports nothing of theirs, only the session model (src/session). Everything
 * here is Temporal-free; the Temporal message definitions (defineUpdate, defineSignal, defineQuery)
 * are in messages.ts, imported on their own so an HTTP-only caller never loads @temporalio.
 */
export * from './inputs';
export * from './refusals';
export * from './failures';
export * from './list';
export * from './http';
export * from './http-errors';
