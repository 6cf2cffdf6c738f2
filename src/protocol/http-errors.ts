/**
 * The one error shape every andon HTTP response uses, and the exception routes throw to produce
 * it. The service's error handler (src/service/error-handler.ts) turns these, andon's typed SDK errors
 * and framework errors into `{ "error": { code, message, field?, state?, ... } }` with the right
 * status, never a stack; the HTTP client (src/client/http/errors.ts) turns them back.
 */
import { z } from 'zod';

export const ErrorBody = z.object({
  error: z.object({
    /** Stable machine-readable code, e.g. "invalid_argument", "invalid_state", "unauthorized". */
    code: z.string(),
    message: z.string(),
    /** Dotted path of the first bad field (400). */
    field: z.string().optional(),
    /** The session's current state (409). */
    state: z.string().optional(),
    /** The plan awaiting approval when a stale plan was named (409). */
    currentPlanId: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Response schemas for route definitions: every 4xx and 5xx answer has the error shape. */
export const errorResponses = { '4xx': ErrorBody, '5xx': ErrorBody } as const;

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: Omit<ErrorBody['error'], 'code' | 'message'> = {},
    /** Extra response headers, e.g. Retry-After on 503 or WWW-Authenticate on 401. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export const badRequest = (message: string, field?: string) => new HttpError(400, 'invalid_argument', message, { field });
export const unauthorized = (message: string, scheme = 'Bearer') =>
  new HttpError(401, 'unauthorized', message, {}, { 'www-authenticate': scheme });
export const forbidden = (message: string) => new HttpError(403, 'forbidden', message);
export const notFound = (message: string) => new HttpError(404, 'not_found', message);
