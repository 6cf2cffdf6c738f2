/**
 * One error shape for every response (`{ "error": { code, message, ... } }`, see
 * src/protocol/http-errors.ts) and one mapping from what can go wrong to an HTTP status. Anything not
 * recognised is a 500 with a generic message; its details go to the log only, never a stack.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ServiceError, isGrpcServiceError } from '@temporalio/client';
import {
  AgentReplyError,
  InvalidStateError,
  NotAllowedError,
  SessionNotFoundError,
  StalePlanError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from '../client/errors';
import { HttpError, badRequest, notFound } from '../protocol/http-errors';
import { explainUnion } from '../protocol/issues';
import type { z } from 'zod';

export interface ErrorMappingOptions {
  retryAfterSeconds: number;
}

/**
 * What the client should see for `error`; undefined for errors the service does not recognise
 * (a bug or an unexpected failure: 500).
 */
export function toHttpError(error: unknown, options: ErrorMappingOptions): HttpError | undefined {
  if (error instanceof HttpError) return error;
  const unavailable = (message: string) =>
    new HttpError(503, 'unavailable', message, {}, { 'retry-after': String(options.retryAfterSeconds) });

  if (ValidationError.isInstance(error)) return badRequest(error.message, error.field);
  if (SessionNotFoundError.isInstance(error)) return notFound(error.message);
  if (StalePlanError.isInstance(error)) {
    return new HttpError(409, 'stale_plan', error.message, { state: error.state, currentPlanId: error.currentPlanId });
  }
  if (InvalidStateError.isInstance(error)) return new HttpError(409, 'invalid_state', error.message, { state: error.state });
  if (NotAllowedError.isInstance(error)) return new HttpError(403, 'not_allowed', error.message, { state: error.state });
  if (TimeoutError.isInstance(error)) return unavailable(error.message);
  if (UnavailableError.isInstance(error)) return unavailable('Temporal is unreachable; retry later');
  if (AgentReplyError.isInstance(error)) return new HttpError(502, 'agent_error', error.message);

  const grpc = grpcCode(error);
  // UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED: Temporal is down, slow or shedding load.
  if (grpc === 14 || grpc === 4 || grpc === 8) return unavailable('Temporal did not answer; retry later');
  // INVALID_ARGUMENT: Temporal refused what the caller sent (a value over one of its limits, ...).
  // Inputs are validated before they get there, so this is a gap in that validation, logged; but
  // it is the caller's input, not a fault of the service, and retrying will not help.
  if (grpc === 3) return new HttpError(422, 'rejected_by_temporal', 'Temporal refused the request as invalid; see the service log');
  // FAILED_PRECONDITION on a read: no worker has picked the session up yet (its first workflow task never completed).
  if (grpc === 9 && /workflow task/i.test((error as Error).message)) {
    return unavailable('no andon worker has picked this session up yet (is a worker running?)');
  }

  return fromFramework(error);
}

interface FrameworkIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: { keys?: unknown; errors?: unknown };
}

/** A zod union's issue (fastify-type-provider-zod keeps its alternatives in `params.errors`): the alternative meant. */
function explained(issue: FrameworkIssue): FrameworkIssue {
  if (issue.keyword !== 'invalid_union' || !Array.isArray(issue.params?.errors)) return issue;
  const path = (issue.instancePath ?? '').split('/').filter((part) => part !== '');
  const union = { ...issue.params, code: 'invalid_union', path, message: issue.message ?? 'Invalid input' } as unknown as z.core.$ZodIssue;
  const better = explainUnion(union);
  return {
    keyword: better.code,
    instancePath: `/${better.path.map(String).join('/')}`,
    message: better.message,
    params: 'keys' in better ? { keys: better.keys } : {},
  };
}

/** Fastify's own errors: validation, body parsing, limits. Their messages are safe to show. */
function fromFramework(error: unknown): HttpError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { code?: unknown; statusCode?: unknown; message?: unknown; validation?: unknown; validationContext?: unknown };
  if (Array.isArray(e.validation) && e.validation.length > 0) {
    const first = explained(e.validation[0] as FrameworkIssue);
    const path = (first.instancePath ?? '').split('/').filter((part) => part !== '');
    // An unknown key is named by the key itself, like any other bad field.
    if (first.keyword === 'unrecognized_keys' && Array.isArray(first.params?.keys) && first.params.keys.length > 0) {
      path.push(String(first.params.keys[0]));
    }
    const where = typeof e.validationContext === 'string' ? e.validationContext : 'request';
    const field = path.length > 0 ? path.join('.') : `(${where})`;
    const what = path.length === 0 ? where : where === 'body' ? field : `${where} ${field}`;
    return badRequest(`invalid ${what}: ${first.message ?? 'invalid'}`, field);
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return badRequest('request body is not valid JSON', '(body)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return badRequest('request body is empty', '(body)');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 'payload_too_large', 'request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 'unsupported_media_type', 'send the request body as application/json');
  }
  // Other client errors fastify raises (bad content length, aborted body, ...): keep their status.
  if (
    typeof e.statusCode === 'number' &&
    e.statusCode >= 400 &&
    e.statusCode < 500 &&
    typeof e.code === 'string' &&
    e.code.startsWith('FST_')
  ) {
    return new HttpError(e.statusCode, 'bad_request', typeof e.message === 'string' ? e.message : 'bad request');
  }
  return undefined;
}

function grpcCode(error: unknown): number | undefined {
  if (isGrpcServiceError(error)) return error.code;
  if (error instanceof ServiceError) {
    const cause = error.cause as { code?: unknown } | undefined;
    return typeof cause?.code === 'number' ? cause.code : undefined;
  }
  return undefined;
}

function send(reply: FastifyReply, error: HttpError): FastifyReply {
  return reply.code(error.statusCode).headers(error.headers).send(error.body());
}

/** Installs the error and not-found handlers for the whole service. */
export const errorsPlugin = fp(
  async (app: FastifyInstance, options: ErrorMappingOptions) => {
    app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
      const mapped = toHttpError(error, options);
      if (mapped) {
        if (mapped.statusCode >= 500 || mapped.code === 'rejected_by_temporal')
          request.log.warn({ err: error }, `answered ${mapped.statusCode}: ${mapped.message}`);
        return send(reply, mapped);
      }
      request.log.error({ err: error }, 'unexpected error');
      return send(reply, new HttpError(500, 'internal', `internal error (request ${request.id}); the details are in the service log`));
    });
    app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) =>
      send(reply, notFound(`no route ${request.method} ${request.url.split('?')[0]}`)),
    );
  },
  { name: 'andon-errors' },
);
