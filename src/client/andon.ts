/**
 * The entry point of the client SDK, in the spirit of `jules.session()`:
 *
 *   const andon = await Andon.connect({ connection: { address: 'localhost:7233' }, taskQueue: 'andon' });
 *   const session = await andon.session({ prompt: 'checkout-api 5xx above 5%' });
 *   await session.waitFor('awaitingPlanApproval');
 *   await session.approve();
 *   const outcome = await session.result();
 */
import { createHash, randomUUID } from 'node:crypto';
import os from 'node:os';
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type ConnectionOptions,
} from '@temporalio/client';
import type { PayloadCodec, SearchAttributePair } from '@temporalio/common';
import {
  AlertNotification,
  Budget,
  ReviewPolicy,
  SessionConfig,
  SessionState,
  describeSource,
  publishMode,
  type ReviewPolicyInput,
  type SessionConfig as SessionConfigInput,
} from '../session/schema';
import { ApprovalPolicy, type ApprovalPolicyInput } from '../session/approval';
import {
  PENDING_REVIEWS_ATTRIBUTE,
  SERVICE_ATTRIBUTE,
  SESSION_WORKFLOW_TYPE,
  STATE_ATTRIBUTE,
  TITLE_ATTRIBUTE,
} from '../session/search-attributes';
import { alertSignal } from '../protocol/messages';
import type { SessionWorkflow, SessionWorkflowInput } from '../protocol/inputs';
import { ListFilter, type PendingReview, type SessionSummary } from '../protocol/list';
import type { AndonApi } from './api';
import { TimeoutError, ValidationError } from './errors';
import { translateError } from './temporal-errors';
import { DEFAULT_TIMEOUTS, validate } from './calls';
import { SessionClient } from './session-client';
import { encryptingDataConverter } from './codec';

export { ListFilter, type SessionSummary };

export interface AndonOptions {
  client: Client;
  taskQueue: string;
  /** Recorded as `by` on what this client does, unless a call says otherwise. */
  identity?: string;
  /** Defaults for new sessions. */
  defaults?: SessionDefaults;
  /**
   * Follow live sessions with the `waitForEvents` update (one round trip per event) instead of
   * a history long-poll and a query. Off by default until an unexplained replay failure seen once
   * in a test is understood (docs/operations.md, "Live events in one round trip").
   */
  liveWaits?: boolean;
}

/** What new sessions get when their config does not say: the project's `sessions` settings, for `npm start` and the CLI. */
export interface SessionDefaults {
  /** Default 1 hour. */
  followUpWindowMs?: number;
  /** Default true. */
  requirePlanApproval?: boolean;
  approval?: ApprovalPolicyInput;
  budget?: Budget;
  review?: ReviewPolicyInput;
}

/**
 * Where and how `Andon.connect()` reaches andon's sessions. Every value is explicit: the SDK reads
 * no project configuration (src/config's `connectOptions()` builds these from it).
 */
export interface AndonConnectOptions {
  /** A connection to share, or how to open one. Default: 127.0.0.1:7233 (the dev server `npm start` runs). */
  connection?: Connection | ConnectionOptions;
  /** Default 'default'. */
  namespace?: string;
  /** The task queue the worker polls. Default 'andon'. */
  taskQueue?: string;
  /** Recorded as `by` on what this client does. Default `sdk:<user name>`. */
  identity?: string;
  defaults?: SessionDefaults;
  /** See AndonOptions.liveWaits. Default false. */
  liveWaits?: boolean;
  /**
   * Encrypts every payload (docs/encryption.md), e.g. `AesGcmCodec.from(process.env.ANDON_ENCRYPTION_KEYS)`.
   * With a codec, titles and prompts stay out of search attributes too (see `Andon.encrypted`).
   */
  codec?: PayloadCodec;
}

/** Where `npm start` runs its embedded Temporal dev server unless configured otherwise. */
const DEV_SERVER_ADDRESS = '127.0.0.1:7233';

export class Andon implements AndonApi {
  readonly client: Client;
  readonly taskQueue: string;
  readonly identity: string;
  /**
   * True when the client encodes payloads with a codec (encryption on). Then nothing a caller
   * wrote goes where a codec cannot reach: the title lives in the (encrypted) memo instead of the
   * AndonTitle search attribute, and `list({ text })` is refused. AndonState and AndonService
   * (an operator's service name, needed to filter) stay in visibility.
   */
  readonly encrypted: boolean;
  private readonly liveWaits: boolean;
  private readonly defaults: NonNullable<AndonOptions['defaults']> & { followUpWindowMs: number; requirePlanApproval: boolean };

  constructor(options: AndonOptions) {
    this.client = options.client;
    this.taskQueue = options.taskQueue;
    this.identity = options.identity ?? `sdk:${safeUser()}`;
    this.liveWaits = options.liveWaits ?? false;
    this.encrypted = this.client.options.loadedDataConverter.payloadCodecs.length > 0;
    this.defaults = {
      followUpWindowMs: options.defaults?.followUpWindowMs ?? 60 * 60 * 1000,
      requirePlanApproval: options.defaults?.requirePlanApproval ?? true,
      approval: options.defaults?.approval,
      budget: options.defaults?.budget,
      review: options.defaults?.review,
    };
  }

  /** Connects to Temporal (or uses the connection given) and returns the client. */
  static async connect(options: AndonConnectOptions = {}): Promise<Andon> {
    const connection =
      options.connection instanceof Connection
        ? options.connection
        : await Connection.connect(options.connection ?? { address: DEV_SERVER_ADDRESS });
    return new Andon({
      client: new Client({
        connection,
        namespace: options.namespace ?? 'default',
        ...(options.codec ? { dataConverter: encryptingDataConverter(options.codec) } : {}),
      }),
      taskQueue: options.taskQueue ?? 'andon',
      identity: options.identity,
      defaults: options.defaults,
      liveWaits: options.liveWaits,
    });
  }

  /** Creates a session (or returns the existing one with that id) ... */
  session(config: SessionConfigInput): Promise<SessionClient>;
  /** ... or attaches to one by id, without a network call. */
  session(id: string): SessionClient;
  session(configOrId: SessionConfigInput | string): Promise<SessionClient> | SessionClient {
    if (typeof configOrId === 'string') return new SessionClient(configOrId, this.client, this.identity, this.liveWaits);
    return this.create(configOrId);
  }

  /**
   * Delivers an alert notification: the first one for an incident starts its session, every
   * later one (re-delivery, repeat, resolve) reaches that same session. Atomic in Temporal
   * (signal-with-start), so concurrent duplicate deliveries never make a second session. When
   * this resolves, the notification is durably recorded.
   */
  async alert(notification: AlertNotification, session: Omit<SessionConfigInput, 'id'> & { id?: string }): Promise<SessionClient> {
    const alert = validate(AlertNotification, notification);
    const id = session.id ?? (await this.alertSessionFor(alert.source, alert.fingerprint));
    const input = this.workflowInput({ ...session, id });
    await withTimeout(this.client, DEFAULT_TIMEOUTS.commandMs, `delivering alert ${alert.fingerprint}`, () =>
      this.client.workflow.signalWithStart<SessionWorkflow, [AlertNotification]>(SESSION_WORKFLOW_TYPE, {
        workflowId: input.config.id,
        taskQueue: this.taskQueue,
        args: [input],
        signal: alertSignal,
        signalArgs: [alert],
        ...this.startMetadata(input),
      }),
    );
    return new SessionClient(input.config.id, this.client, this.identity, this.liveWaits);
  }

  /**
   * The session an incident's notifications go to: `alertSessionId`, unless a session started
   * under the old id scheme for this very incident is still running (it keeps its incident until
   * it ends; the next incident of that fingerprint starts under the new id).
   */
  async alertSessionFor(source: string, fingerprint: string): Promise<string> {
    const id = alertSessionId(source, fingerprint);
    const legacy = legacyAlertSessionId(source, fingerprint);
    const running = await withTimeout(this.client, DEFAULT_TIMEOUTS.commandMs, `looking up session ${legacy}`, async () => {
      try {
        return (await this.client.workflow.getHandle(legacy).describe()).status.name === 'RUNNING';
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return false;
        throw error;
      }
    });
    if (!running) return id;
    // The old scheme mapped several fingerprints to one id: only this incident's own session counts.
    // Unreadable (no worker answering): keep to the old session, as before the new scheme.
    const view = await new SessionClient(legacy, this.client, this.identity).info({ timeoutMs: 2_000 }).catch(() => undefined);
    return view?.alert === undefined || view.alert.fingerprint === fingerprint ? legacy : id;
  }

  /** Starts a session that needs no approval; follow it with `stream()` and `result()`. */
  run(config: SessionConfigInput): Promise<SessionClient> {
    return this.create({ ...config, requirePlanApproval: false });
  }

  readonly sessions = {
    /** Lists sessions through Temporal visibility, newest first. */
    list: (filter: ListFilter = {}): Promise<SessionSummary[]> => this.list(filter),
  };

  readonly reviews = {
    /**
     * Tool calls waiting for review across all running sessions, oldest first. Visibility finds
     * the sessions that have any (AndonPendingReviews > 0), so only those are asked for theirs.
     */
    list: (options: { limit?: number } = {}): Promise<PendingReview[]> => this.listReviews(options.limit ?? 100),
  };

  private async listReviews(limit: number): Promise<PendingReview[]> {
    const query = `${this.ownSessions()} AND ExecutionStatus = 'Running' AND ${PENDING_REVIEWS_ATTRIBUTE.name} > 0`;
    return withTimeout(this.client, DEFAULT_TIMEOUTS.commandMs, 'listing reviews', async () => {
      const ids: string[] = [];
      for await (const execution of this.client.workflow.list({ query, pageSize: 100 })) {
        ids.push(execution.workflowId);
        if (ids.length >= limit) break;
      }
      // A session whose worker is gone must not hold up the list: it is left out after 5 s.
      const views = await Promise.all(
        ids.map((id) =>
          this.session(id)
            .info({ timeoutMs: 5_000 })
            .catch(() => undefined),
        ),
      );
      return views
        .flatMap((view) => (view ? view.pendingReviews.map((review) => ({ ...review, sessionId: view.id, sessionTitle: view.title })) : []))
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        .slice(0, limit);
    });
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }

  /** Validates a session config and fills the defaults: the workflow's input. */
  private workflowInput(raw: SessionConfigInput): SessionWorkflowInput {
    const { followUpWindow, ...parsed } = validate(SessionConfig, raw);
    return {
      config: {
        ...parsed,
        id: parsed.id ?? `session-${randomUUID()}`,
        title: parsed.title ?? titleFrom(parsed.prompt),
        requirePlanApproval: raw.requirePlanApproval ?? this.defaults.requirePlanApproval,
        followUpWindowMs: followUpWindow ?? this.defaults.followUpWindowMs,
        requestedBy: parsed.requestedBy ?? this.identity,
        // The configured policy applies unless the (trusted) caller gives one.
        approval: parsed.approval ?? (this.defaults.approval ? validate(ApprovalPolicy, this.defaults.approval) : undefined),
        budget: parsed.budget ?? this.defaults.budget,
        review: parsed.review ?? (this.defaults.review ? validate(ReviewPolicy, this.defaults.review) : undefined),
      },
    };
  }

  private async create(raw: SessionConfigInput): Promise<SessionClient> {
    const input = this.workflowInput(raw);
    const { id } = input.config;
    try {
      await withTimeout(this.client, DEFAULT_TIMEOUTS.commandMs, `creating session ${id}`, () =>
        this.client.workflow.start<SessionWorkflow>(SESSION_WORKFLOW_TYPE, {
          workflowId: id,
          taskQueue: this.taskQueue,
          args: [input],
          // The same id twice is the same session: a running one is returned, never a second started.
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          ...this.startMetadata(input),
        }),
      );
    } catch (error) {
      // A closed session with this id exists: that is the session, as for a running one.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw translateError(error, id);
    }
    return new SessionClient(id, this.client, this.identity, this.liveWaits);
  }

  /**
   * Search attributes, memo and UI summary of a new session. Payloads (memo, summary, details) go
   * through the codec; search attributes never do, so with encryption on the title is in the memo
   * only.
   */
  private startMetadata(input: SessionWorkflowInput) {
    const { title, prompt, source, publish } = input.config;
    // A code session's repository and what becomes of its change (no credentials: the schema refuses them in URLs).
    const code = source ? `\n\n**Source:** ${describeSource(source)}\n\n**Publish:** ${publishMode(source, publish)}` : '';
    return {
      typedSearchAttributes: startAttributes(input, !this.encrypted),
      staticSummary: title,
      staticDetails: `**Prompt:** ${prompt}${code}`,
      ...(this.encrypted ? { memo: { title } } : {}),
    };
  }

  /**
   * Sessions of this deployment: andon's workflow type on this client's task queue. Other
   * deployments may share the namespace (with other keys, other agents); their sessions are not
   * this client's to list, and their encrypted memos would not decode here.
   */
  private ownSessions(): string {
    return `WorkflowType = '${SESSION_WORKFLOW_TYPE}' AND TaskQueue = '${this.taskQueue}'`;
  }

  private async list(raw: ListFilter): Promise<SessionSummary[]> {
    const filter = validate(ListFilter, raw);
    if (filter.text && this.encrypted) {
      throw new ValidationError('filtering by title is not available with encryption on (titles are not in visibility)', 'text');
    }
    const clauses = [this.ownSessions()];
    if (filter.state) {
      const states = Array.isArray(filter.state) ? filter.state : [filter.state];
      clauses.push(`${STATE_ATTRIBUTE.name} IN (${states.map((s) => `'${s}'`).join(', ')})`);
    }
    if (filter.text) clauses.push(`${TITLE_ATTRIBUTE.name} = '${filter.text}'`);
    if (filter.service) clauses.push(`${SERVICE_ATTRIBUTE.name} = '${filter.service}'`);
    if (filter.createdAfter) clauses.push(`StartTime > '${filter.createdAfter.toISOString()}'`);
    if (filter.createdBefore) clauses.push(`StartTime < '${filter.createdBefore.toISOString()}'`);
    return withTimeout(this.client, DEFAULT_TIMEOUTS.commandMs, 'listing sessions', () =>
      this.collect(clauses.join(' AND '), filter.limit),
    );
  }

  private async collect(query: string, limit: number): Promise<SessionSummary[]> {
    const sessions: SessionSummary[] = [];
    for await (const execution of this.client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
      const state = SessionState.safeParse(execution.typedSearchAttributes.get(STATE_ATTRIBUTE));
      sessions.push({
        id: execution.workflowId,
        state: state.success ? state.data : 'unspecified',
        title: execution.typedSearchAttributes.get(TITLE_ATTRIBUTE) ?? memoTitle(execution.memo),
        service: execution.typedSearchAttributes.get(SERVICE_ATTRIBUTE),
        createTime: execution.startTime.toISOString(),
        closeTime: execution.closeTime?.toISOString(),
        status: execution.status.name,
      });
      if (sessions.length >= limit) break;
    }
    return sessions;
  }
}

/** The search attributes a session starts with; the workflow keeps AndonState current from then on. */
function startAttributes(input: SessionWorkflowInput, withTitle: boolean): SearchAttributePair[] {
  const { title, context } = input.config;
  const pairs: SearchAttributePair[] = [{ key: STATE_ATTRIBUTE, value: 'queued' }];
  if (withTitle) pairs.push({ key: TITLE_ATTRIBUTE, value: title });
  if (context.service) pairs.push({ key: SERVICE_ATTRIBUTE, value: context.service });
  return pairs;
}

/** The title an encrypted session keeps in its memo (decoded by the client's codec). */
function memoTitle(memo: Record<string, unknown> | undefined): string {
  const title = memo?.title;
  return typeof title === 'string' ? title : '';
}

/** Bounds a call with a deadline and turns Temporal's errors into andon's. */
async function withTimeout<T>(client: Client, timeoutMs: number, what: string, fn: () => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await client.withAbortSignal(controller.signal, fn);
  } catch (error) {
    if (controller.signal.aborted)
      throw new TimeoutError(`${what} did not finish within ${timeoutMs} ms (is Temporal reachable?)`, timeoutMs);
    if (error instanceof WorkflowExecutionAlreadyStartedError) throw error;
    throw translateError(error, '');
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The session id of an incident: stable for the same source and fingerprint, safe as a workflow
 * id whatever characters the monitoring system puts in its fingerprints, and distinct for
 * distinct fingerprints (`db/7` and `db 7` differ): a readable slug of the fingerprint, then a
 * hash of the exact source and fingerprint. Sessions started before this scheme have
 * `legacyAlertSessionId`; `Andon.alertSessionFor` still finds those while they run.
 */
export function alertSessionId(source: string, fingerprint: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([source, fingerprint]))
    .digest('hex')
    .slice(0, 16);
  const slug = (text: string, max: number) => text.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, max);
  return `alert-${slug(source, 20)}-${slug(fingerprint, 80)}-${hash}`;
}

/** The id scheme before fingerprints were hashed in; it mapped `db/7` and `db 7` to one id. */
export function legacyAlertSessionId(source: string, fingerprint: string): string {
  const safe = `${source}-${fingerprint}`.replace(/[^A-Za-z0-9._:-]/g, '_');
  const id = `alert-${safe}`;
  return id.length <= 128
    ? id
    : `alert-${source.replace(/[^A-Za-z0-9]/g, '_').slice(0, 20)}-${createHash('sha256').update(fingerprint).digest('hex').slice(0, 40)}`;
}

function titleFrom(prompt: string): string {
  const [first = ''] = prompt.split('\n');
  const line = first.trim();
  return line.length <= 80 ? line : `${line.slice(0, 77)}...`;
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}
