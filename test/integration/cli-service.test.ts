/**
 * The `andon` CLI through the HTTP service: child processes (bin/andon.js --service <url>)
 * against the real service over a harness worker, with results read back through the SDK. Their
 * TEMPORAL_ADDRESS points nowhere, so a command that went to Temporal instead would fail.
 *
 * `tail` goes through a loopback proxy whose connections the test cuts, so it must resume.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { SessionSummary, SessionView, TimelineEvent } from '../../src/client';
import { json, killAll, runCli, uniqueWordFor, until, type CliProcess } from '../support/cli-process';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { TOKENS, startService, type TestService } from '../support/service-harness';

let h: Harness;
let service: TestService;
let proxy: Proxy;
beforeAll(async () => {
  h = await startHarness({
    agent: quickScript({
      plans: [
        {
          title: 'Fix {title}',
          steps: [
            // Long enough that the session is still running while the CLI acts on it.
            { title: 'Slow', description: 'takes a while', result: { description: 'ok' }, delayMs: 1500 },
            { title: 'Fix', result: { title: 'Rolled back', description: 'rolled back to v1.41.2' } },
          ],
        },
      ],
    }),
  });
  service = await startService(h.andon);
  proxy = await startProxy(service.url);
});
afterAll(async () => {
  // A failed assertion can leave a tail running; it must not keep jest alive.
  killAll();
  await proxy?.close();
  await service?.close();
  await h?.close();
});

interface CliOptions {
  human?: boolean;
  /** Default alice's (every scope); null sends none. */
  token?: string | null;
  /** Default the service's. */
  url?: string;
  /** Pass the URL and token in ANDON_SERVICE_URL and ANDON_TOKEN rather than as flags. */
  viaEnv?: boolean;
}

function spawnCli(args: string[], options: CliOptions = {}): CliProcess {
  const url = options.url ?? service.url;
  const token = options.token === undefined ? TOKENS.alice : options.token;
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' };
  delete env.ANDON_SERVICE_URL;
  delete env.ANDON_TOKEN;
  const transport: string[] = [];
  if (options.viaEnv) {
    env.ANDON_SERVICE_URL = url;
    if (token !== null) env.ANDON_TOKEN = token;
  } else {
    transport.push('--service', url, ...(token === null ? [] : ['--token', token]));
  }
  return runCli([...args, ...transport, ...(options.human ? [] : ['--json'])], env);
}

const cli = (args: string[], options: CliOptions = {}) => spawnCli(args, options).done;

const uniqueWord = () => uniqueWordFor('svc');

// -----------------------------------------------------------------------------------------------
// A TCP proxy in front of the service whose open connections can be cut, as a network drop would.

interface Proxy {
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  cut(): void;
  close(): Promise<void>;
}

async function startProxy(target: string): Promise<Proxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(Number(port), hostname);
    client.pipe(upstream).pipe(client);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => sockets.forEach((socket) => socket.destroy());
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections: () => accepted,
    cut,
    close: async () => {
      cut();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// -----------------------------------------------------------------------------------------------

describe('andon CLI through the service', () => {
  it('starts, tails live across dropped connections, shows, lists, chats, approves and waits; refuses bad tokens', async () => {
    const word = uniqueWord();
    const id = `svc-${word}`;
    const prompt = 'checkout-api 5xx above 5%';
    const title = `${word} checkout errors`;
    const started = await cli([
      'start',
      '--prompt',
      prompt,
      '--title',
      title,
      '--id',
      id,
      '--context',
      'service=checkout',
      '--follow-up',
      '10m',
      '--wait',
    ]);
    expect(started.code).toBe(0);
    // Who acted is the token's name, not the local user.
    expect(json<SessionView>(started)).toMatchObject({
      id,
      state: 'awaitingPlanApproval',
      title,
      context: { service: 'checkout' },
      requestedBy: 'api:alice',
    });
    const session = h.andon.session(id);

    const tail = spawnCli(['tail', id], { url: proxy.url });
    const tailed = () =>
      tail
        .output()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as TimelineEvent);
    await until(() => tailed().some((e) => e.type === 'planGenerated'), 'tail to print its backlog');
    proxy.cut();

    const [shown, listed, asked, sent, forbidden, unauthorized] = await Promise.all([
      cli(['show', id]),
      cli(['list', '--text', word, '--state', 'awaitingPlanApproval,planning', '--since', '1h', '--limit', '5']),
      cli(['ask', id, 'what', 'is', 'the', 'status?']),
      cli(['send', id, 'please', 'hurry']),
      cli(['approve', id], { token: TOKENS.reader }),
      cli(['approve', id], { token: 'not-a-token-0123456789', human: true }),
    ]);

    const show = json<{ session: SessionView; events: TimelineEvent[] }>(shown);
    expect(show.session).toMatchObject({ id, state: 'awaitingPlanApproval', plan: { id: 'plan-1' } });
    expect(show.events.slice(0, 2).map((e) => e.type)).toEqual(['sessionCreated', 'planGenerated']);
    expect(json<SessionSummary[]>(listed)).toEqual([
      expect.objectContaining({ id, state: 'awaitingPlanApproval', title, status: 'RUNNING' }),
    ]);
    expect(json(asked)).toEqual({ messageId: expect.any(String), reply: 'all good' });
    const { sessionId, messageId } = json<{ sessionId: string; messageId: string }>(sent);
    expect(sessionId).toBe(id);

    expect(forbidden.code).toBe(1);
    expect(json(forbidden)).toEqual({ error: { type: 'AuthError', message: 'token "reader" lacks the "approve" scope' } });
    expect(unauthorized).toEqual({ code: 1, stdout: '', stderr: 'error: invalid bearer token: check --token or ANDON_TOKEN\n' });
    expect((await session.info()).state).toBe('awaitingPlanApproval');

    const approved = await cli(['approve', id, '--plan', 'plan-1', '--comment', 'go ahead'], { token: TOKENS.approver, viaEnv: true });
    expect(json<SessionView>(approved).state).toBe('inProgress');
    // Cut again while the steps run: events keep coming on the next connection.
    await until(() => tailed().some((e) => e.type === 'planApproved'), 'tail to print the approval');
    proxy.cut();

    const [waited, result] = await Promise.all([cli(['wait', id, 'completed', '--timeout', '30s']), cli(['result', id], { human: true })]);
    expect(json<SessionView>(waited)).toMatchObject({ id, state: 'completed', summary: `done: ${prompt}` });
    expect(result).toEqual({ code: 0, stderr: '', stdout: `session ${id} completed: ${title}\ndone: ${prompt}\n` });

    const tailRun = await tail.done;
    expect(tailRun).toMatchObject({ code: 0, stderr: '' });
    expect(proxy.connections()).toBeGreaterThanOrEqual(3);
    const events = tailed();
    // Every event once, in order, across the reconnections.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events).toEqual((await session.timeline()).events.slice(0, events.length));
    expect(events.at(-1)).toMatchObject({ type: 'sessionCompleted', summary: `done: ${prompt}` });
    expect(events).toContainEqual(expect.objectContaining({ type: 'planApproved', by: 'api:approver', comment: 'go ahead' }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'userMessaged', messageId, message: 'please hurry', by: 'api:alice' }));
    expect(events.filter((e) => e.type === 'progressUpdated').map((e) => (e as { title: string }).title)).toEqual(['Slow', 'Rolled back']);
  }, 90_000);

  it('pauses, resumes, rejects for a new plan, refuses a stale plan and cancels; result reports the cancellation', async () => {
    const id = `svc-${uniqueWord()}`;
    const session = h.andon.session(id);
    expect(json<SessionView>(await cli(['start', '--prompt', 'disk full on db-1', '--id', id, '--wait'])).state).toBe(
      'awaitingPlanApproval',
    );

    expect(json<SessionView>(await cli(['pause', id, '--reason', 'hold on'])).state).toBe('paused');
    expect(json<SessionView>(await cli(['resume', id])).state).toBe('awaitingPlanApproval');
    const rejected = json<SessionView>(await cli(['reject', id, '--reason', 'wrong service', '--replan', '--plan', 'plan-1']));
    expect(['planning', 'awaitingPlanApproval']).toContain(rejected.state);
    expect((await session.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 })).plan?.id).toBe('plan-2');

    const stale = await cli(['approve', id, '--plan', 'plan-1']);
    expect(stale.code).toBe(1);
    expect(json(stale)).toEqual({
      error: { type: 'StalePlanError', message: expect.stringContaining('plan-1'), state: 'awaitingPlanApproval', currentPlanId: 'plan-2' },
    });

    expect(json<SessionView>(await cli(['cancel', id, '--reason', 'fixed by hand']))).toMatchObject({
      state: 'cancelled',
      reason: 'fixed by hand',
    });
    const result = await cli(['result', id, '--timeout', '20s']);
    expect(result.code).toBe(1);
    expect(json(result)).toEqual({ error: { type: 'SessionCancelledError', message: `session ${id} was cancelled: fixed by hand` } });

    const { events } = await session.timeline();
    // Refused decisions may be on the record too; what matters here is what changed the session.
    expect(events.map((e) => e.type).filter((type) => type !== 'approvalRefused')).toEqual([
      'sessionCreated',
      'planGenerated',
      'sessionPaused',
      'sessionResumed',
      'planRejected',
      'planGenerated',
      'sessionCancelled',
    ]);
    expect(events[2]).toMatchObject({ type: 'sessionPaused', reason: 'hold on', by: 'api:alice' });
    expect(events[4]).toMatchObject({ type: 'planRejected', reason: 'wrong service', replan: true, planId: 'plan-1', by: 'api:alice' });
  }, 90_000);

  it('reports an unknown session (1), bad input and a missing token (2) the same way as over Temporal', async () => {
    const ghost = `ghost-${randomUUID()}`;
    const [unknown, emptyPrompt, noToken] = await Promise.all([
      cli(['show', ghost]),
      cli(['start', '--prompt', '']),
      cli(['list'], { token: null, viaEnv: true }),
    ]);
    expect(unknown.code).toBe(1);
    expect(json(unknown)).toEqual({ error: { type: 'SessionNotFoundError', message: `session ${ghost} not found` } });
    expect(emptyPrompt.code).toBe(2);
    expect(json(emptyPrompt)).toEqual({ error: { type: 'ValidationError', field: 'prompt', message: expect.stringContaining('prompt') } });
    expect(noToken.code).toBe(2);
    expect(json(noToken)).toEqual({ error: { type: 'UsageError', field: 'token', message: expect.stringContaining('ANDON_TOKEN') } });
  });
});
