/**
 * Slack replay protection behind several service replicas (docs/operations.md, "Running on your
 * own cluster"): the guards keep their contract (a signature is accepted once until it expires,
 * the in-process one bounded, the PostgreSQL one pruned), and with `service.slack.replayUrl` two
 * replicas on one real PostgreSQL accept the same signed request once, however it is sent to
 * them: one after the other or both at once. Without it each replica accepts it (why replicas
 * need the shared store).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { MemoryReplayGuard, type ReplayGuard } from '../../src/slack/replay';
import { replayGuardFor } from '../../src/slack/replay-guards';
import { PostgresReplayGuard } from '../../src/slack/replay-postgres';
import { startHarness, type Harness } from '../support/harness';
import { startService, type TestService } from '../support/service-harness';
import { SlackApiServer } from '../support/slack-api-server';
import { SlackSender, urlVerification } from '../support/slack-requests';
import { startTestDatabase, type TestDatabase } from '../support/postgres-server';

const TOKEN = 'xoxb-loopback-bot-token';
const SECRET = 'loopback-signing-secret-0123456789';
const NOW = 1_800_000_000_000;

let database: TestDatabase;
let url: string;
const guards: ReplayGuard[] = [];

beforeAll(async () => {
  database = await startTestDatabase('andon-slack-replay-');
  url = database.url;
});
afterAll(async () => {
  for (const guard of guards.splice(0)) await guard.close();
  await database?.stop();
});

const signatureHex = () => randomBytes(32).toString('hex');
function guard(kind: 'memory' | 'postgres'): ReplayGuard {
  const made = replayGuardFor(kind === 'postgres' ? url : undefined);
  guards.push(made);
  return made;
}
async function rows(signature: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM andon_slack_replays WHERE signature = $1', [signature])).rowCount ?? 0;
  } finally {
    await client.end();
  }
}

describe.each(['memory', 'postgres'] as const)('the %s replay guard', (kind) => {
  it('is the guard the configuration names', () => {
    expect(guard(kind)).toBeInstanceOf(kind === 'postgres' ? PostgresReplayGuard : MemoryReplayGuard);
  });

  it('accepts a signature once until it expires, then again', async () => {
    const g = guard(kind);
    const sig = signatureHex();
    expect(await g.claim(sig, NOW + 360_000, NOW)).toBe(true);
    expect(await g.claim(sig, NOW + 360_000, NOW + 1_000)).toBe(false);
    expect(await g.claim(signatureHex(), NOW + 360_000, NOW)).toBe(true);
    // Past its expiry (the window check refuses it by then anyway) it is forgotten.
    expect(await g.claim(sig, NOW + 800_000, NOW + 400_000)).toBe(true);
  });

  it('accepts one of many claims of one signature made at the same moment', async () => {
    const sig = signatureHex();
    // Two PostgreSQL guards are two replicas on one table; the memory guard is one process's.
    const claimers = kind === 'postgres' ? [guard(kind), guard(kind)] : [guard(kind)];
    // Later than every clock the test before used: its guard may still be pruning rows that expire
    // before NOW + 400 s in the background, which would take this row too and let a claim in twice.
    const now = NOW + 10_000_000;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => claimers[i % claimers.length]!.claim(sig, now + 360_000, now)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

describe('the memory replay guard', () => {
  it('is bounded: past its cap it forgets the oldest', async () => {
    const g = new MemoryReplayGuard(3);
    const sigs = [signatureHex(), signatureHex(), signatureHex(), signatureHex()];
    for (const sig of sigs) expect(await g.claim(sig, NOW + 360_000, NOW)).toBe(true);
    expect(await g.claim(sigs[3]!, NOW + 360_000, NOW)).toBe(false);
    expect(await g.claim(sigs[0]!, NOW + 360_000, NOW)).toBe(true);
  });
});

describe('the PostgreSQL replay guard', () => {
  it('prunes expired rows (at most once a minute), keeping the live ones', async () => {
    const g = new PostgresReplayGuard({ url });
    guards.push(g);
    const base = NOW + 10_000_000;
    const old = signatureHex();
    expect(await g.claim(old, base + 1_000, base)).toBe(true);
    const live = signatureHex();
    // This claim prunes nothing yet (the first claim pruned at `base`, the next prune is a minute on).
    expect(await g.claim(live, base + 600_000, base + 2_000)).toBe(true);
    expect(await rows(old)).toBe(1);
    expect(await g.claim(signatureHex(), base + 600_000, base + 61_000)).toBe(true);
    await g.close(); // waits for the background prune
    guards.pop();
    expect(await rows(old)).toBe(0);
    expect(await rows(live)).toBe(1);
  });

  it('fails the check when the database cannot be reached, rather than accept', async () => {
    const down = new PostgresReplayGuard({
      url: `postgres://andon:wrong@127.0.0.1:${database.postgres.port}/andon`,
      connectionTimeout: 2_000,
    });
    try {
      await expect(down.claim(signatureHex(), NOW + 360_000, NOW)).rejects.toThrow(/password authentication failed/);
    } finally {
      await down.close();
    }
  });
});

describe('two service replicas', () => {
  let slack: SlackApiServer;
  let h: Harness;
  const replicas: TestService[] = [];
  const start = async (replayUrl?: string) => {
    const service = await startService(h.andon, {
      slack: { enabled: true, botToken: TOKEN, signingSecret: SECRET, apiUrl: slack.apiUrl, replayUrl },
    });
    replicas.push(service);
    return new SlackSender(service.url, SECRET);
  };

  beforeAll(async () => {
    slack = await SlackApiServer.start({ token: TOKEN });
    h = await startHarness({ worker: false });
  });
  afterAll(async () => {
    for (const service of replicas.splice(0)) await service.close();
    await h?.close();
    await slack?.close();
  });

  it('on one PostgreSQL accept a signed request once, sent to one then the other, or to both at once', async () => {
    const [one, two] = [await start(url), await start(url)];
    const request = urlVerification(`challenge-${randomUUID()}`);
    const headers = one!.sign(request);
    expect(await one!.sendSigned(request, headers)).toMatchObject({ status: 200 });
    expect(await two!.sendSigned(request, headers)).toMatchObject({
      status: 401,
      body: { error: { code: 'unauthorized', message: expect.stringMatching(/replay/) } },
    });

    const again = urlVerification(`challenge-${randomUUID()}`);
    const signed = one!.sign(again);
    const answers = await Promise.all([1, 2, 3, 4].map((i) => (i % 2 ? one! : two!).sendSigned(again, signed)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 401, 401, 401]);
  });

  it('fuzz: malformed signature headers get 401 from a replica on the shared store, never a 5xx', async () => {
    const sender = await start(url);
    const request = urlVerification('fuzz');
    const junk = [
      '',
      'v0=',
      `v0=${'g'.repeat(64)}`,
      `v0=${signatureHex()}0`,
      `V0=${signatureHex()}`,
      'v0=' + 'a'.repeat(10_000),
      "v0=' OR 1=1 --",
    ];
    for (const signature of junk) {
      const answer = await sender.sendSigned(request, {
        'x-slack-request-timestamp': String(Math.floor(Date.now() / 1_000)),
        'x-slack-signature': signature,
      });
      expect(answer.status).toBe(401);
    }
  });

  it('answers 503 (Slack retries), not 200, while the shared store cannot be reached', async () => {
    const sender = await start(`postgres://andon:wrong-password@127.0.0.1:${database.postgres.port}/andon`);
    const request = urlVerification(`challenge-${randomUUID()}`);
    const answer = await sender.send(request);
    expect(answer).toMatchObject({ status: 503, body: { error: { code: 'unavailable', message: expect.stringMatching(/replay check/) } } });
    expect(JSON.stringify(answer.body)).not.toContain('wrong-password');
  });

  it('each with its own memory accept it twice (why replicas need the shared store)', async () => {
    const [one, two] = [await start(), await start()];
    const request = urlVerification(`challenge-${randomUUID()}`);
    const headers = one!.sign(request);
    expect((await one!.sendSigned(request, headers)).status).toBe(200);
    expect((await two!.sendSigned(request, headers)).status).toBe(200);
  });
});
