/**
 * Failure type names (ApplicationFailure.type) that activities and agents throw and the
 * workflow reads: protocol, because the workflow cannot import the activity module itself (it
 * pulls in Node-side code). Refusals of commands are in refusals.ts.
 */
/** A permanent agent failure: the session fails with its message. */
export const AGENT_REJECTED = 'AgentRejected';
export const AGENT_INVALID_OUTPUT = 'AgentInvalidOutput';
export const NOTIFY_FAILED = 'NotifyFailed';
/** The session named an agent the worker does not have: the session fails, naming it and the registered ones. */
export const UNKNOWN_AGENT = 'UnknownAgent';
/** An AgentError code: the step failed in a way a person should judge; the session asks retry, skip or abort. */
export const STEP_FAILED = 'StepFailed';
/** A code session's source cannot be prepared (not allowed, unreachable, unknown branch): the session fails at once, naming it. */
export const SOURCE_UNAVAILABLE = 'SourceUnavailable';
/** A code session's change could not be published for good (push rejected, no token, the pull request refused). */
export const PUBLISH_FAILED = 'PublishFailed';
