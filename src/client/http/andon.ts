/**
 * The andon service as a client SDK, for programs that hold an API token rather than a Temporal
 * connection:
 *
 *   const andon = new AndonHttp({ url: 'http://127.0.0.1:8080', token: process.env.ANDON_TOKEN! });
 *   const session = await andon.session({ prompt: 'checkout-api 5xx above 5%' });
 *   await session.waitFor('awaitingPlanApproval');
 *   await session.approve();
 *
 * The same calls and typed errors as `Andon`; in addition AuthError (401, 403). What it does is
 * recorded on the session as `api:<token name>`.
 */
import { ListFilter, type SessionSummary } from '../../protocol/list';
import { ValidationError } from '../errors';
import { DEFAULT_TIMEOUTS, validate } from '../calls';
import { SessionView } from '../../session/schema';
import { CreateSessionBody, PendingReviews, ReviewsQuery, SessionList } from '../../protocol/http';
import type { AndonApi, NewSession, PendingReview, SessionFilter } from '../api';
import { HttpSessionClient } from './session';
import { HttpTransport } from './transport';

export interface AndonHttpOptions {
  /** The service's base URL, e.g. http://127.0.0.1:8080 (a trailing /v1 is accepted). */
  url: string;
  /** An API token; its scopes decide what the calls may do. */
  token: string;
}

export class AndonHttp implements AndonApi {
  private readonly http: HttpTransport;

  constructor(options: AndonHttpOptions) {
    this.http = new HttpTransport(options.url, options.token);
  }

  get url(): string {
    return this.http.baseUrl;
  }

  /** Creates a session (or returns the existing one with that id) ... */
  session(config: NewSession): Promise<HttpSessionClient>;
  /** ... or attaches to one by id, without a network call. */
  session(id: string): HttpSessionClient;
  session(configOrId: NewSession | string): Promise<HttpSessionClient> | HttpSessionClient {
    if (typeof configOrId === 'string') return new HttpSessionClient(configOrId, this.http);
    return this.create(configOrId);
  }

  /** Creates a session that needs no approval: the token needs the `approve` scope (else AuthError, 403). */
  run(config: NewSession): Promise<HttpSessionClient> {
    return this.create({ ...config, requirePlanApproval: false });
  }

  readonly sessions = {
    /** Sessions newest first, filtered by the service (Temporal visibility). */
    list: (filter: SessionFilter = {}): Promise<SessionSummary[]> => this.list(filter),
  };

  readonly reviews = {
    /** Tool calls awaiting review across running sessions, oldest first. */
    list: (options: { limit?: number } = {}): Promise<PendingReview[]> => this.listReviews(options),
  };

  /** Nothing to close: requests share Node's connection pool. */
  async close(): Promise<void> {}

  private async create(config: NewSession): Promise<HttpSessionClient> {
    const body = validate(CreateSessionBody, config);
    const view = await this.http.call(SessionView, 'POST', '/v1/sessions', {
      body,
      timeoutMs: DEFAULT_TIMEOUTS.commandMs,
      what: `creating session${body.id ? ` ${body.id}` : ''}`,
    });
    return new HttpSessionClient(view.id, this.http);
  }

  private async list(raw: SessionFilter): Promise<SessionSummary[]> {
    if ('createdBefore' in raw)
      throw new ValidationError('invalid createdBefore: the service filters by createdAfter only', 'createdBefore');
    const filter = validate(ListFilter, raw);
    const states = filter.state === undefined ? undefined : [filter.state].flat().join(',');
    const { sessions } = await this.http.call(SessionList, 'GET', '/v1/sessions', {
      query: { state: states, text: filter.text, service: filter.service, since: filter.createdAfter?.toISOString(), limit: filter.limit },
      timeoutMs: DEFAULT_TIMEOUTS.commandMs,
      what: 'listing sessions',
    });
    return sessions;
  }

  private async listReviews(options: { limit?: number }): Promise<PendingReview[]> {
    const query = validate(ReviewsQuery, { limit: options.limit });
    const { reviews } = await this.http.call(PendingReviews, 'GET', '/v1/reviews', {
      query,
      timeoutMs: DEFAULT_TIMEOUTS.commandMs,
      what: 'listing reviews',
    });
    return reviews;
  }
}
