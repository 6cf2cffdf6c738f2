// The andon service's HTTP client: the SDK's calls and typed errors, over the REST API and SSE.
export { AndonHttp, type AndonHttpOptions } from './andon';
export { HttpSessionClient } from './session';
export { AuthError, UnexpectedResponseError, errorFromResponse } from './errors';
export { SseParser, readSse, type SseFrame } from './sse';
export type { AndonApi, NewSession, PendingReview, ReviewDecisionInput, SessionApi, SessionFilter } from '../api';
export {
  ChangeSet,
  ChangeSetError,
  GeneratedFiles,
  changeSet,
  type GeneratedFile,
  type ParsedChangeSet,
  type ParsedFile,
  type SavedChangeSet,
} from '../change-set';
export type { SessionOutcome } from '../outcome';
