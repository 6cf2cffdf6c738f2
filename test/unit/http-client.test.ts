/**
 * The HTTP client without Temporal: error bodies to typed errors, and the event stream's resume
 * logic against a scripted stand-in for the service on loopback.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AgentReplyError,
  InvalidStateError,
  NotAllowedError,
  SessionNotFoundError,
  StalePlanError,
  TimeoutError,
  UnavailableError,
  ValidationError,
  type TimelineEvent,
} from '../../src/client';
import { AndonHttp, AuthError, UnexpectedResponseError, errorFromResponse } from '../../src/client/http';
import { RECONNECT } from '../../src/client/http/stream';
import { baseUrlOf } from '../../src/client/http/transport';

const body = (error: Record<string, string>) => JSON.stringify({ error });
const context = { request: 'POST /v1/sessions/s-1/approve', sessionId: 's-1' };

describe('errorFromResponse', () => {
  it('gives the SDK’s typed errors, with the details the body carries', () => {
    const validation = errorFromResponse(
      400,
      body({ code: 'invalid_argument', message: 'invalid prompt: must not be empty', field: 'prompt' }),
      context,
    );
    expect(ValidationError.isInstance(validation) && validation.field).toBe('prompt');

    const stale = errorFromResponse(
      409,
      body({ code: 'stale_plan', message: 'stale', state: 'awaitingPlanApproval', currentPlanId: 'plan-2' }),
      context,
    );
    expect(StalePlanError.isInstance(stale)).toBe(true);
    expect(stale).toMatchObject({ state: 'awaitingPlanApproval', currentPlanId: 'plan-2', message: 'stale' });

    const invalid = errorFromResponse(
      409,
      body({ code: 'invalid_state', message: 'nothing awaits approval', state: 'inProgress' }),
      context,
    );
    expect(InvalidStateError.isInstance(invalid) && !StalePlanError.isInstance(invalid)).toBe(true);
    expect(invalid).toMatchObject({ state: 'inProgress' });

    const notFound = errorFromResponse(404, body({ code: 'not_found', message: 'session s-1 not found' }), context);
    expect(SessionNotFoundError.isInstance(notFound) && notFound.message).toBe('session s-1 not found');

    const unauthorized = errorFromResponse(401, body({ code: 'unauthorized', message: 'invalid bearer token' }), context);
    expect(AuthError.isInstance(unauthorized) && unauthorized.status).toBe(401);
    const forbidden = errorFromResponse(403, body({ code: 'forbidden', message: 'token "reader" lacks the "approve" scope' }), context);
    expect(AuthError.isInstance(forbidden) && [forbidden.status, forbidden.message]).toEqual([
      403,
      'token "reader" lacks the "approve" scope',
    ]);
    const notAllowed = errorFromResponse(
      403,
      body({ code: 'not_allowed', message: 'not an approver', state: 'awaitingPlanApproval' }),
      context,
    );
    expect(NotAllowedError.isInstance(notAllowed) && !AuthError.isInstance(notAllowed)).toBe(true);
    expect(notAllowed).toMatchObject({ state: 'awaitingPlanApproval', message: 'not an approver' });

    expect(AgentReplyError.isInstance(errorFromResponse(502, body({ code: 'agent_error', message: 'no reply' }), context))).toBe(true);
    expect(UnavailableError.isInstance(errorFromResponse(503, body({ code: 'unavailable', message: 'retry later' }), context))).toBe(true);
  });

  it('does not mistake a wrong URL or a foreign answer for a missing session', () => {
    const noRoute = errorFromResponse(404, body({ code: 'not_found', message: 'no route GET /api/v1/sessions/s-1' }), context);
    expect(UnexpectedResponseError.isInstance(noRoute) && !SessionNotFoundError.isInstance(noRoute)).toBe(true);
    const proxy = errorFromResponse(502, '<html>Bad Gateway</html>', context);
    expect(UnexpectedResponseError.isInstance(proxy) && proxy.status).toBe(502);
    expect(proxy.message).toBe("POST /v1/sessions/s-1/approve answered 502: <html>Bad Gateway</html> (is this the andon service's URL?)");
    const internal = errorFromResponse(500, body({ code: 'internal', message: 'internal error (request 7)' }), context);
    expect(UnexpectedResponseError.isInstance(internal) && internal.message).toBe('internal error (request 7)');
  });

  it('takes the base URL as people paste it', () => {
    expect(baseUrlOf('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(baseUrlOf('http://127.0.0.1:8080/v1')).toBe('http://127.0.0.1:8080');
    expect(baseUrlOf('https://ops.example.com/andon/v1/')).toBe('https://ops.example.com/andon');
    expect(() => baseUrlOf('127.0.0.1:8080')).toThrow();
    expect(() => baseUrlOf('ftp://example.com')).toThrow(/http/);
  });
});

// -----------------------------------------------------------------------------------------------

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let handle: Handler;
let server: http.Server;
let andon: AndonHttp;

beforeAll(async () => {
  server = http.createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  andon = new AndonHttp({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'test-token-0123456789' });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const event = (seq: number, type: 'agentMessaged' | 'sessionCompleted' = 'agentMessaged'): TimelineEvent =>
  type === 'agentMessaged'
    ? { seq, time: '2025-01-01T00:00:00Z', originator: 'agent', type, message: `m${seq}` }
    : { seq, time: '2025-01-01T00:00:00Z', originator: 'system', type, summary: 'done', outputs: [] };
const frame = (e: TimelineEvent) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

async function collect(stream: AsyncIterable<TimelineEvent>): Promise<number[]> {
  const seqs: number[] = [];
  for await (const e of stream) seqs.push(e.seq);
  return seqs;
}

describe('HttpSessionClient.stream', () => {
  it('resumes a dropped stream and an error frame from the last event, without gaps or duplicates', async () => {
    const asked: Array<string | undefined> = [];
    const credentials = new Set<string | undefined>();
    handle = (req, res) => {
      asked.push(req.headers['last-event-id'] as string | undefined);
      credentials.add(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (asked.length === 1) {
        // Dropped mid-frame: event 3 never completes.
        res.write(`: keep-alive\n\n${frame(event(1))}${frame(event(2))}${frame(event(3)).slice(0, 20)}`);
        setTimeout(() => res.destroy(), 20);
      } else if (asked.length === 2) {
        // The service's reader failed: it says so, then closes. It also repeats an event already seen.
        res.end(`${frame(event(2))}${frame(event(3))}event: error\ndata: {"error":{"code":"unavailable","message":"lost Temporal"}}\n\n`);
      } else {
        res.end(`${frame(event(3))}${frame(event(4))}${frame(event(5, 'sessionCompleted'))}event: end\ndata: {"lastSeq":5}\n\n`);
      }
    };
    expect(await collect(andon.session('s-1').stream())).toEqual([1, 2, 3, 4, 5]);
    expect(asked).toEqual(['0', '2', '3']);
    expect([...credentials]).toEqual(['Bearer test-token-0123456789']);
  });

  it('starts after `after`, ends at the end frame, and fails at once on a refusal a retry cannot fix', async () => {
    const asked: Array<string | undefined> = [];
    handle = (req, res) => {
      if (req.url?.includes('ghost')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(body({ code: 'not_found', message: 'session ghost not found' }));
        return;
      }
      asked.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end('event: end\ndata: {"lastSeq":7}\n\n');
    };
    expect(await collect(andon.session('s-2').stream({ after: 7 }))).toEqual([]);
    expect(asked).toEqual(['7']);
    await expect(collect(andon.session('ghost').stream())).rejects.toThrow(SessionNotFoundError);
  });

  it('fails at once when the first connection fails, and gives up when reconnecting keeps failing', async () => {
    const unavailable = body({ code: 'unavailable', message: 'Temporal is unreachable; retry later' });
    let calls = 0;
    handle = (_req, res) => {
      calls++;
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end(unavailable);
    };
    await expect(collect(andon.session('s-3').stream())).rejects.toMatchObject({
      name: 'UnavailableError',
      message: 'Temporal is unreachable; retry later',
    });
    expect(calls).toBe(1);

    const saved = { ...RECONNECT };
    Object.assign(RECONNECT, { firstDelayMs: 10, budgetMs: 300 });
    calls = 0;
    handle = (_req, res) => {
      if (++calls === 1) {
        res.writeHead(200, { 'content-type': 'text/event-stream' }).end(frame(event(1)));
        return;
      }
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end(unavailable);
    };
    const seqs: number[] = [];
    try {
      const stream = (async () => {
        for await (const e of andon.session('s-3').stream()) seqs.push(e.seq);
      })();
      await expect(stream).rejects.toThrow('Temporal is unreachable; retry later');
      expect(seqs).toEqual([1]);
      expect(calls).toBeGreaterThan(3);
    } finally {
      Object.assign(RECONNECT, saved);
    }
  });

  it('stops quietly when its signal aborts', async () => {
    handle = (_req, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).write(frame(event(1)));
    const controller = new AbortController();
    const seqs: number[] = [];
    for await (const e of andon.session('s-4').stream({ signal: controller.signal })) {
      seqs.push(e.seq);
      controller.abort();
    }
    expect(seqs).toEqual([1]);
  });
});

describe('HttpTransport failures', () => {
  it('reports an unreachable service, a deadline and an answer that is not a session view', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const down = new AndonHttp({ url: `http://127.0.0.1:${port}`, token: 'x'.repeat(16) });
    await expect(down.session('s').info()).rejects.toMatchObject({
      name: 'UnavailableError',
      message: `cannot reach the andon service at http://127.0.0.1:${port}: ECONNREFUSED`,
    });

    handle = () => undefined; // never answers
    const slow = andon.session('s-5').info({ timeoutMs: 100 });
    await expect(slow).rejects.toThrow(TimeoutError);
    await expect(slow).rejects.toThrow(/^info on session s-5 did not finish within 100 ms/);

    handle = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"s-6"}');
    await expect(andon.session('s-6').info()).rejects.toThrow(UnexpectedResponseError);
  });

  it('sends list filters as the service’s query parameters', async () => {
    let url = '';
    handle = (req, res) => {
      url = req.url ?? '';
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"sessions":[]}');
    };
    const createdAfter = new Date('2025-01-31T09:00:00Z');
    await andon.sessions.list({ state: ['paused', 'inProgress'], text: 'disk', service: 'db', createdAfter, limit: 5 });
    expect(Object.fromEntries(new URL(url, 'http://x').searchParams)).toEqual({
      state: 'paused,inProgress',
      text: 'disk',
      service: 'db',
      since: '2025-01-31T09:00:00.000Z',
      limit: '5',
    });
  });

  it('refuses bad input before sending anything, naming the field', async () => {
    let requests = 0;
    handle = (_req, res) => (requests++, res.end());
    await expect(andon.session({ prompt: '  ' })).rejects.toMatchObject({ name: 'ValidationError', field: 'prompt' });
    await expect(andon.session('s').reject('')).rejects.toMatchObject({ name: 'ValidationError', field: 'reason' });
    await expect(andon.session('s').waitFor([])).rejects.toMatchObject({ name: 'ValidationError' });
    expect(requests).toBe(0);
  });
});
