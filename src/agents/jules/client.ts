/**
 * A small Jules REST v1alpha client over plain fetch, parsed with the zod schemas of
 * src/protocol/jules.ts. Not @google/jules-sdk: the backend needs page tokens and a cursor it can
 * keep in heartbeat details, and its own retry policy (Temporal's), which the SDK hides or owns
 * (it polls from page one, retries 429/5xx itself for up to five minutes, caches to disk).
 *
 * Failures come out as AgentError, so the activity maps them the way docs/agents.md says:
 * 401/403/404 and other 4xx are permanent (the session fails, the message says why); 429, 5xx and
 * network failures are retried by Temporal, after Retry-After when Jules sends one. The API key
 * goes in a header only; no message, URL or log line carries it.
 */
import type { z } from 'zod';
import {
  JulesActivityList,
  JulesErrorBody,
  JulesSession,
  JulesSessionList,
  type JulesCreateSession,
  type JulesActivity,
} from '../../protocol/jules';
import { AgentError } from '../agent';

export interface JulesClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Where the key came from, for messages (the variable's name, never its value). */
  apiKeyEnv: string;
  requestTimeoutMs: number;
  fetch?: typeof fetch;
}

/** Retryable statuses, as Google's APIs use them. */
const TRANSIENT = new Set([408, 429, 500, 502, 503, 504]);

export class JulesClient {
  private readonly base: string;
  constructor(private readonly options: JulesClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
  }

  createSession(body: JulesCreateSession, signal: AbortSignal): Promise<JulesSession> {
    return this.request('POST', 'sessions', JulesSession, signal, { body, what: 'creating a session' });
  }

  async getSession(id: string, signal: AbortSignal): Promise<JulesSession> {
    return this.request('GET', `sessions/${seg(id)}`, JulesSession, signal, { what: `session ${id}` });
  }

  listSessions(page: { pageSize?: number; pageToken?: string }, signal: AbortSignal): Promise<z.output<typeof JulesSessionList>> {
    return this.request('GET', 'sessions', JulesSessionList, signal, { query: page, what: 'listing sessions' });
  }

  async listActivities(
    id: string,
    page: { pageSize?: number; pageToken?: string },
    signal: AbortSignal,
  ): Promise<{ activities: JulesActivity[]; nextPageToken?: string }> {
    return this.request('GET', `sessions/${seg(id)}/activities`, JulesActivityList, signal, {
      query: page,
      what: `the activities of session ${id}`,
    });
  }

  async approvePlan(id: string, signal: AbortSignal): Promise<void> {
    await this.request('POST', `sessions/${seg(id)}:approvePlan`, null, signal, { body: {}, what: `approving the plan of session ${id}` });
  }

  async sendMessage(id: string, prompt: string, signal: AbortSignal): Promise<void> {
    await this.request('POST', `sessions/${seg(id)}:sendMessage`, null, signal, {
      body: { prompt },
      what: `sending a message to session ${id}`,
    });
  }

  private async request<S extends z.ZodType | null>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    signal: AbortSignal,
    options: { body?: unknown; query?: Record<string, string | number | undefined>; what: string },
  ): Promise<S extends z.ZodType ? z.output<S> : undefined> {
    const url = new URL(`${this.base}/${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.append(key, String(value));
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(url, {
        method,
        headers: { 'Content-Type': 'application/json', 'X-Goog-Api-Key': this.options.apiKey },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.requestTimeoutMs)]),
      });
    } catch (error) {
      // A cancelled session: let the abort through as it is.
      if (signal.aborted) throw error;
      throw new AgentError(`Jules could not be reached (${options.what}): ${(error as Error).message}`, {
        retryable: true,
        code: 'JulesUnavailable',
        cause: error,
      });
    }
    const text = await response.text();
    if (!response.ok) throw this.failure(response, text, options.what);
    let json: unknown = {};
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        throw new AgentError(`Jules answered ${options.what} with a body that is not JSON`, {
          retryable: true,
          code: 'JulesInvalidResponse',
        });
      }
    }
    if (schema === null) return undefined as S extends z.ZodType ? z.output<S> : undefined;
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      // Not retried: the same request would get the same shape.
      throw new AgentError(
        `Jules answered ${options.what} with an unexpected shape: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
        { retryable: false, code: 'JulesInvalidResponse' },
      );
    }
    return parsed.data as S extends z.ZodType ? z.output<S> : undefined;
  }

  /** The failure for a non-2xx answer: permanent or retryable, with Jules' own message. */
  private failure(response: Response, text: string, what: string): AgentError {
    const status = response.status;
    const body = JulesErrorBody.safeParse(safeJson(text));
    const said = body.success
      ? `${body.data.error.status ?? status}: ${body.data.error.message}`
      : `${status} ${response.statusText}`.trim();
    const detail = said.length > 500 ? `${said.slice(0, 500)}…` : said;
    if (status === 401 || status === 403) {
      return new AgentError(`Jules refused the API key from ${this.options.apiKeyEnv} (${detail}) while ${what}`, {
        retryable: false,
        code: 'JulesUnauthorized',
      });
    }
    if (status === 404)
      return new AgentError(`Jules has no such resource (${detail}): ${what}`, { retryable: false, code: 'JulesNotFound' });
    if (TRANSIENT.has(status)) {
      return new AgentError(`Jules is unavailable (${detail}) while ${what}`, {
        retryable: true,
        code: status === 429 ? 'JulesRateLimited' : 'JulesUnavailable',
        retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
      });
    }
    return new AgentError(`Jules refused the request (${detail}) while ${what}`, { retryable: false, code: 'JulesRejected' });
  }
}

/** Ids go into the path: refuse anything that would change the path rather than encode it. */
function seg(id: string): string {
  if (!/^[A-Za-z0-9._~-]{1,200}$/.test(id) || /^\.+$/.test(id))
    throw new AgentError(`not a Jules id: ${JSON.stringify(id.slice(0, 50))}`, { retryable: false });
  return id;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry-After in seconds or as an HTTP date; bounded to an hour, so a bad header cannot park a session for days. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  return Math.min(Math.round(ms), 3_600_000);
}
