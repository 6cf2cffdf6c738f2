/**
 * One request to the andon service: bearer token, JSON in and out, a deadline on every call, the
 * answer checked against its schema, and every failure as a typed error: the service's refusals
 * (errors.ts), TimeoutError at the deadline, UnavailableError when the service cannot be reached.
 */
import type { z } from 'zod';
import { TimeoutError, UnavailableError } from '../errors';
import { UnexpectedResponseError, errorFromResponse } from './errors';
import { firstIssue } from '../../protocol/issues';

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Infinity for none. */
  timeoutMs: number;
  /** What the call does, for the timeout message, e.g. "approve on session x". */
  what: string;
  /** The session the call is about: a 404 then means it does not exist. */
  sessionId?: string;
  signal?: AbortSignal;
}

export class HttpTransport {
  /** The service's base URL without a trailing slash, e.g. http://127.0.0.1:8080. */
  readonly baseUrl: string;

  constructor(
    url: string,
    private readonly token: string,
  ) {
    this.baseUrl = baseUrlOf(url);
  }

  /** A JSON call; resolves with the answer parsed by `schema`. */
  async call<S extends z.ZodType>(schema: S, method: string, path: string, options: RequestOptions): Promise<z.output<S>> {
    return this.withDeadline(options, async (signal) => {
      const response = await this.fetch(method, path, options, signal);
      const text = await response.text();
      if (!response.ok) throw errorFromResponse(response.status, text, { request: `${method} ${path}`, sessionId: options.sessionId });
      return parseAnswer(schema, text, `${method} ${path}`, response.status);
    });
  }

  /**
   * A streaming GET: resolves once the headers are in, with the body unread. The deadline covers
   * only getting there; `options.signal` also ends the body.
   */
  async open(path: string, options: RequestOptions): Promise<Response> {
    return this.withDeadline(options, async (signal) => {
      const response = await this.fetch('GET', path, options, anyOf(signal, options.signal));
      if (response.ok) return response;
      const text = await response.text();
      throw errorFromResponse(response.status, text, { request: `GET ${path}`, sessionId: options.sessionId });
    });
  }

  private async fetch(method: string, path: string, options: RequestOptions, signal: AbortSignal): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${this.token}`, ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    try {
      return await fetch(url, { method, headers, body, signal });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new UnavailableError(`cannot reach the andon service at ${this.baseUrl}: ${networkReason(error)}`, { cause: error });
    }
  }

  private async withDeadline<T>(options: RequestOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = new AbortController();
    const timer = Number.isFinite(options.timeoutMs) ? setTimeout(() => deadline.abort(), options.timeoutMs) : undefined;
    const signal = anyOf(deadline.signal, options.signal);
    try {
      return await fn(signal);
    } catch (error) {
      if (deadline.signal.aborted && !options.signal?.aborted) {
        throw new TimeoutError(
          `${options.what} did not finish within ${options.timeoutMs} ms (is the andon service at ${this.baseUrl} answering?)`,
          options.timeoutMs,
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Accepts what people paste: with or without a trailing slash, and with the `/v1` that `npm start`
 * prints after "andon API:". A path before that is kept, for a service behind a path prefix.
 */
export function baseUrlOf(text: string): string {
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`expected an http:// or https:// URL, got ${url.protocol}`);
  if (url.search || url.hash) throw new TypeError('expected a URL without a query or fragment');
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${url.origin}${path}`;
}

function parseAnswer<S extends z.ZodType>(schema: S, text: string, request: string, status: number): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UnexpectedResponseError(`${request} answered ${status} with a body that is not JSON`, status);
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = firstIssue(parsed.error);
  throw new UnexpectedResponseError(
    `${request} answered with an unexpected body: ${issue.path.join('.') || '(body)'}: ${issue.message}`,
    status,
  );
}

function anyOf(signal: AbortSignal, other: AbortSignal | undefined): AbortSignal {
  return other ? AbortSignal.any([signal, other]) : signal;
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is in its cause. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
