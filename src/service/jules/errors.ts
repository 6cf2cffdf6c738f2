/**
 * Errors as Google APIs (and so Jules) answer them: `{ error: { code, message, status } }`, with
 * the field of a 400 in a BadRequest detail. The status codes are andon's own (the SDK reads only
 * the HTTP status: 401/403 are authentication errors, 429 and 5xx are retried, 404 means "not
 * found"), so the two doors agree on what went wrong; only the body's shape differs.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../../protocol/http-errors';
import { toHttpError, type ErrorMappingOptions } from '../error-handler';
import type { GoogleError } from './wire';

/** google.rpc.Code names by HTTP status, as Google's HTTP mapping gives them. */
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  413: 'INVALID_ARGUMENT',
  414: 'INVALID_ARGUMENT',
  415: 'INVALID_ARGUMENT',
  422: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  502: 'UNKNOWN',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/**
 * andon's refusals by code: a command the session's state does not allow is FAILED_PRECONDITION
 * (what Google APIs answer for "not now"), still with andon's 409 so andon callers recognise it.
 */
const CODE_NAMES: Record<string, string> = {
  invalid_state: 'FAILED_PRECONDITION',
  stale_plan: 'FAILED_PRECONDITION',
  not_allowed: 'PERMISSION_DENIED',
  failed_precondition: 'FAILED_PRECONDITION',
};

export function googleBody(error: HttpError): GoogleError {
  const field = error.details.field;
  return {
    error: {
      code: error.statusCode,
      message: error.message,
      status: CODE_NAMES[error.code] ?? STATUS_NAMES[error.statusCode] ?? (error.statusCode >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'),
      ...(error.statusCode === 400 && field
        ? {
            details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description: error.message }] }],
          }
        : {}),
    },
  };
}

/** Google's answer for a call that cannot be made in the resource's situation: 400 FAILED_PRECONDITION (a 4xx: the SDK does not retry it). */
export const failedPrecondition = (message: string) => new HttpError(400, 'failed_precondition', message);
export const julesNotFound = (message: string) => new HttpError(404, 'not_found', message);

/** The Jules door's error handler: andon's mapping (error-handler.ts), Google's body. */
export function julesErrorHandler(options: ErrorMappingOptions) {
  return (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    let mapped = toHttpError(error, options);
    if (mapped && mapped.statusCode === 503 && isResourceExhausted(error)) {
      // Temporal shedding load: Jules' quota answer, which the SDK retries with backoff.
      mapped = new HttpError(429, 'resource_exhausted', 'too many requests; retry later', {}, mapped.headers);
    }
    if (!mapped) {
      request.log.error({ err: error }, 'unexpected error');
      mapped = new HttpError(500, 'internal', `internal error (request ${request.id}); the details are in the service log`);
    } else if (mapped.statusCode >= 500) {
      request.log.warn({ err: error }, `answered ${mapped.statusCode}: ${mapped.message}`);
    }
    // The auth plugin's challenge names the Bearer scheme; Jules clients send X-Goog-Api-Key.
    const { 'www-authenticate': _challenge, ...headers } = mapped.headers;
    return reply.code(mapped.statusCode).headers(headers).send(googleBody(mapped));
  };
}

function isResourceExhausted(error: unknown): boolean {
  const code =
    (error as { code?: unknown; cause?: { code?: unknown } } | undefined)?.code ?? (error as { cause?: { code?: unknown } })?.cause?.code;
  return code === 8;
}
