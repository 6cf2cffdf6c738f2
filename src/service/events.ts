/**
 * GET /v1/sessions/:id/events: a session's live timeline over Server-Sent Events (the wire
 * format is in feed/sse.ts). Every watcher of a session shares one reader (SessionFeeds), so a
 * hundred dashboards cost the workflow what one does, and approvals and messages are not slowed.
 *
 * Errors found before the stream starts are ordinary JSON errors (404 for an unknown session);
 * once the stream has started they arrive as an `error` frame and the stream closes.
 */
import type { FastifyPluginAsync } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Andon } from '../client';
import { SessionNotFoundError, TimeoutError, UnavailableError } from '../client/errors';
import { SessionId } from '../session/schema';
import { badRequest, errorResponses, notFound } from '../protocol/http-errors';
import { SessionFeeds, SseConnection, type TimelineSource } from './feed';

export interface EventsPluginOptions {
  andon: Andon;
  /** The feed registry; by default one of the plugin's own over `andon`. Inject one to share or observe it. */
  feeds?: SessionFeeds;
  /** Interval of `: keep-alive` comments (default 15 s). */
  heartbeatMs?: number;
  /** Unsent bytes past which a slow client is dropped (default 4 MiB). */
  maxBufferedBytes?: number;
  /** How long to wait for the first read of the session before answering 503 (default 10 s). */
  readyTimeoutMs?: number;
}

export const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** How long shutdown waits for open streams to take their last frame. */
const SHUTDOWN_GRACE_MS = 2_000;

/** The one Temporal reader a feed runs: the SDK's stream, from the first event. */
export function andonTimelineSource(andon: Andon): TimelineSource {
  return (sessionId, signal) => andon.session(sessionId).stream({ after: 0, signal });
}

const Seq = z.coerce.number().int().nonnegative();

export const eventsPlugin: FastifyPluginAsync<EventsPluginOptions> = async (fastify, options) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  // Set here too so the route's zod schemas work in any app this plugin is registered in.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const feeds = options.feeds ?? new SessionFeeds({ source: andonTimelineSource(options.andon) });
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const open = new Set<SseConnection>();

  // Open streams would hold the server's close forever: end them first, with a frame that tells
  // clients to reconnect (elsewhere), and give those frames a moment to leave before sockets close.
  app.addHook('preClose', async () => {
    const shuttingDown = new UnavailableError('the service is shutting down');
    const closing = [...open].map((connection) => (connection.fail(shuttingDown), connection.whenClosed));
    if (!options.feeds) feeds.close(shuttingDown);
    await within(Promise.all(closing), SHUTDOWN_GRACE_MS, () => new Error('streams still open')).catch(() => undefined);
  });

  app.get(
    '/v1/sessions/:id/events',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A session's live timeline (Server-Sent Events)",
        description: [
          'The timeline after `Last-Event-ID` (header) or `after` (query), then live events, one frame per event:',
          '`id: <seq>`, `event: <type>`, `data: <TimelineEvent JSON>`.',
          'After the event that ends the session (sessionCompleted, sessionFailed, sessionCancelled) comes',
          '`event: end` with `data: {"lastSeq": N}`, and the stream closes. `: keep-alive` comments keep idle',
          'connections open. If reading the session fails mid-stream, `event: error` with `data: {"error": {code, message}}`',
          'is sent and the stream closes: reconnect with Last-Event-ID. A client that falls too far behind is',
          'disconnected and resumes the same way.',
        ].join(' '),
        tags: ['sessions'],
        params: z.object({ id: SessionId }),
        querystring: z.object({ after: Seq.optional().describe('Resume after this seq; the Last-Event-ID header wins.') }),
        // Loose: validation replaces request.headers with its output, and every other header must survive it.
        headers: z.looseObject({
          'last-event-id': z.string().optional().describe('Resume after this seq, as an EventSource sends it on reconnecting.'),
        }),
        response: {
          200: {
            description: 'An event stream that ends with the session.',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const after = resumePoint(request.headers['last-event-id'], request.query.after);

      const connection = new SseConnection(reply.raw, {
        heartbeatMs: options.heartbeatMs,
        maxBufferedBytes: options.maxBufferedBytes,
        onClose: () => {
          open.delete(connection);
          subscription.unsubscribe();
        },
      });
      const subscription = feeds.subscribe(id, after, connection);
      try {
        await within(
          subscription.ready,
          readyTimeoutMs,
          () =>
            new TimeoutError(`session ${id} could not be read within ${readyTimeoutMs} ms (is an andon worker running?)`, readyTimeoutMs),
        );
      } catch (error) {
        connection.destroy();
        if (SessionNotFoundError.isInstance(error)) throw notFound(`session ${id} not found`);
        // Unavailable and timeout errors: the service's error handler answers 503 with Retry-After.
        throw error;
      }

      reply.hijack();
      const res = reply.raw;
      if (res.destroyed || !res.socket || res.socket.destroyed) {
        connection.destroy();
        return;
      }
      res.writeHead(200, {
        ...definedHeaders(reply.getHeaders()),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        // nginx buffers proxied responses unless told not to.
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      open.add(connection);
      connection.start();
    },
  );
};

/** Last-Event-ID (an EventSource reconnecting) wins over `?after=` (a client choosing where to start). */
function resumePoint(header: string | string[] | undefined, query: number | undefined): number {
  if (header === undefined) return query ?? 0;
  const parsed = Seq.safeParse(Array.isArray(header) ? header[0] : header);
  if (!parsed.success) throw badRequest('Last-Event-ID must be an event seq (a non-negative integer)', 'Last-Event-ID');
  return parsed.data;
}

async function within<T>(promise: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeoutError()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function definedHeaders(headers: Record<string, string | number | string[] | undefined>): Record<string, string | number | string[]> {
  return Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string | number | string[]] => entry[1] !== undefined),
  );
}
