/**
 * The one error type of the workspace library. Activities map it to Temporal failures by `code`
 * and `retryable`; messages name the source and field concerned and never carry a credential.
 */
const WORKSPACE_ERROR = Symbol.for('andon.WorkspaceError');

export type WorkspaceErrorCode =
  'SourceNotAllowed' | 'SourceUnavailable' | 'BranchNotFound' | 'ChangeTooLarge' | 'PathOutsideTree' | 'PushRejected' | 'GitFailed';

export class WorkspaceError extends Error {
  readonly [WORKSPACE_ERROR] = true;
  readonly code: WorkspaceErrorCode;
  readonly retryable: boolean;

  constructor(code: WorkspaceErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WorkspaceError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }

  /** Works across duplicated package copies, unlike `instanceof`. */
  static isInstance(error: unknown): error is WorkspaceError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[WORKSPACE_ERROR] === true;
  }
}
