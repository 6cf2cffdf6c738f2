/**
 * The Jules backend end to end: a real worker and dev server, andon's Jules agent speaking Jules
 * REST v1alpha to a loopback Jules (test/support/jules-server.ts). Jules' plan becomes the
 * session's plan, andon's approval approves it, Jules' activities reach the timeline once each
 * (across pages, across a worker killed with SIGKILL), its pull request is the session's output,
 * its failure is the session's failure; rate limits are waited out and a bad key fails clearly.
 * The API key never reaches the workflow history.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TimelineEvent } from '../../src/client';
import { JulesServer, type Scenario } from '../support/jules-server';
import { startHarness, testAddress, type Harness } from '../support/harness';
import { startWorkerProcess } from '../support/processes';

const KEY = `jules-key-${randomUUID()}`;
const T = { timeoutMs: 60_000 };

const long: Scenario = {
  work: Array.from({ length: 14 }, (_, i) => ({ afterMs: 400, progress: { title: `Long work ${i + 1}` } })),
};
const scenarios: Record<string, Scenario> = {
  slow: {
    planDelayMs: 2_500,
    planning: [{ progress: { title: 'Cloning the repository' } }, { afterMs: 500, progress: { title: 'Reading the code' } }],
  },
  broken: { failWith: 'the tests do not pass after the change', work: [{ afterMs: 50, progress: { title: 'Trying a fix' } }] },
  curious: { question: 'Which branch should I use?', steps: ['Fix on the named branch'] },
  long,
  late: { prDelayMs: 1_500 },
  quiet: { silentEnd: true },
  vanishing: { silentEnd: true, failWith: 'out of quota' },
  busy: { work: Array.from({ length: 6 }, (_, i) => ({ afterMs: 300, progress: { title: `Busy ${i + 1}` } })), replyDelayMs: 100 },
};

let jules: JulesServer;
let h: Harness;
let root: string;
const workers: ChildProcess[] = [];

/** The Jules agent's settings in tests: fast polling, small pages so paging is exercised. */
const julesAgent = (apiKeyEnv = 'JULES_TEST_KEY') => ({
  kind: 'jules' as const,
  baseUrl: jules.baseUrl,
  apiKeyEnv,
  pollInterval: 100,
  pageSize: 2,
});

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'andon-jules-'));
  jules = await JulesServer.start({ key: KEY, scenarios, deniedKeys: ['denied-key'] });
  h = await startHarness({
    agents: { jules: julesAgent() },
    defaultAgent: 'jules',
    env: { ...process.env, JULES_TEST_KEY: KEY },
  });
});

afterAll(async () => {
  for (const child of workers) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await h?.close();
  await jules?.close();
  rmSync(root, { recursive: true, force: true });
});

const ofType = <E extends TimelineEvent['type']>(events: TimelineEvent[], type: E) =>
  events.filter((e): e is Extract<TimelineEvent, { type: E }> => e.type === type);
const titles = (events: TimelineEvent[]) => ofType(events, 'progressUpdated').map((e) => e.title);
const julesSessionOf = (sessionId: string) => jules.allSessions().find((s) => s.title?.endsWith(`[andon:${sessionId}]`));

it('plan → approve → complete: Jules plan and activities on the timeline, its pull request the output, no key in history', async () => {
  const session = await h.andon.session({ prompt: 'fix the bug in app.js', title: 'Fix app.js', context: { 'jules.source': 'acme/app' } });
  const waiting = await session.waitFor('awaitingPlanApproval', T);
  expect(waiting.plan?.steps.map((s) => s.title)).toEqual(['Read the code', 'Fix the bug', 'Run the tests']);
  expect(waiting.plan?.steps[0]?.description).toBe('Read the code (Jules)');
  const remote = julesSessionOf(session.id)!;
  expect(remote).toBeDefined();
  expect(remote.state).toBe('AWAITING_PLAN_APPROVAL');
  expect(remote.sourceContext).toEqual({ source: 'sources/github/acme/app' });
  expect(remote.automationMode).toBe('AUTO_CREATE_PR');
  expect(remote.requirePlanApproval).toBe(true);

  await session.approve({ by: 'test:lead' });
  const outcome = await session.result(T);
  expect(outcome.state).toBe('completed');
  expect(outcome.pullRequest).toEqual({
    url: `https://github.com/acme/app/pull/${remote.id}`,
    title: remote.title,
    description: 'Made by Jules',
  });
  expect(outcome.outputs.map((o) => o.type)).toEqual(['pullRequest', 'changeSet']);

  const { events } = await session.timeline();
  // Planning progress, then the plan, then Jules' work, each once, in Jules' order.
  expect(titles(events)).toEqual([
    'Cloning the repository',
    'Reading app.js',
    'Ran the tests',
    'Changed app.js',
    'Jules finished',
    'Read the code',
    'Fix the bug',
    'Run the tests',
  ]);
  const progress = ofType(events, 'progressUpdated');
  expect(progress.find((e) => e.title === 'Ran the tests')?.artifacts).toEqual([
    { type: 'bashOutput', command: 'npm test', output: '1 passing', exitCode: 0 },
  ]);
  expect(progress.find((e) => e.title === 'Changed app.js')?.artifacts[0]).toMatchObject({
    type: 'changeSet',
    gitPatch: { unidiffPatch: expect.stringContaining('+console.log("fix");'), baseCommitId: 'abc123' },
  });
  expect(events.map((e) => e.type).indexOf('planApproved')).toBeLessThan(
    events.findIndex((e) => e.type === 'progressUpdated' && e.title === 'Reading app.js'),
  );

  const mine = jules.requests.filter((r) => r.path.includes(`/sessions/${remote.id}`) || r.route === 'createSession');
  expect(mine.every((r) => r.authorized)).toBe(true);
  expect(jules.requests.filter((r) => r.route === 'approvePlan' && r.path.includes(remote.id))).toHaveLength(1);
  // Paging: the log was read a page of two at a time, following page tokens.
  expect(jules.requests.some((r) => r.route === 'listActivities' && r.query.pageToken !== undefined && r.query.pageSize === '2')).toBe(
    true,
  );

  const history = await rawHistory(h, session.id);
  expect(history).toContain('Reading app.js');
  expect(history).not.toContain(KEY);
}, 90_000);

it('ask and send go to Jules; the agentMessaged reply is the answer, recorded once', async () => {
  const session = await h.andon.session({ prompt: 'chat with me', title: 'Chat' });
  await session.waitFor('awaitingPlanApproval', T);
  const remote = julesSessionOf(session.id)!;
  expect(remote.sourceContext).toBeUndefined();
  expect(remote.automationMode).toBe('AUTOMATION_MODE_UNSPECIFIED');

  const { reply } = await session.ask('what will you change?', T);
  expect(reply).toBe('Jules heard: what will you change?');
  await session.send('keep the change small', T);
  await waitUntil(() => jules.activities(remote.id).some((a) => JSON.stringify(a).includes('Jules heard: keep the change small')));

  await session.approve({ by: 'test:lead' });
  const outcome = await session.result(T);
  expect(outcome.pullRequest).toBeUndefined();
  expect(outcome.outputs).toEqual([
    { type: 'changeSet', gitPatch: expect.objectContaining({ unidiffPatch: expect.stringContaining('app.js') }) },
  ]);
  const { events } = await session.timeline();
  const agentSaid = ofType(events, 'agentMessaged').map((e) => e.message);
  expect(agentSaid.filter((m) => m === 'Jules heard: what will you change?')).toHaveLength(1);
  expect(agentSaid.filter((m) => m === 'Jules heard: keep the change small')).toHaveLength(1);
  const sent = jules.activities(remote.id).filter((a) => 'userMessaged' in a);
  expect(sent.map((a) => (a.userMessaged as { userMessage: string }).userMessage)).toEqual([
    'what will you change?',
    'keep the change small',
  ]);
}, 90_000);

it('live: Jules progress streams while it works; asked meanwhile, Jules answers; each event once', async () => {
  const session = await h.andon.session({ prompt: 'busy working', title: 'Busy' });
  await session.waitFor('awaitingPlanApproval', T);
  // The live stream shows Jules' progress while Jules still works, not when the step ends.
  const streamed: TimelineEvent[] = [];
  const reading = (async () => {
    for await (const event of session.stream()) streamed.push(event);
  })();
  await session.approve({ by: 'test:lead' });
  await waitUntil(() => titles(streamed).includes('Busy 2'));
  expect(julesSessionOf(session.id)?.state).toBe('IN_PROGRESS');
  expect((await session.ask('how is it going?', T)).reply).toBe('Jules heard: how is it going?');
  expect((await session.result(T)).state).toBe('completed');
  await reading;
  const { events } = await session.timeline();
  expect(streamed.map((e) => e.seq)).toEqual(events.map((e) => e.seq));
  expect(titles(events).filter((t) => t.startsWith('Busy'))).toEqual(['Busy 1', 'Busy 2', 'Busy 3', 'Busy 4', 'Busy 5', 'Busy 6']);
  expect(ofType(events, 'agentMessaged').map((e) => e.message)).toEqual(['Jules heard: how is it going?']);
  expect(ofType(events, 'agentMessaged')[0]?.inReplyTo).toBeDefined();
});

it('a question before the plan waits for the answer, which Jules gets once, then plans', async () => {
  const session = await h.andon.session({ prompt: 'curious about branches', title: 'Question' });
  const asking = await session.waitFor('awaitingUserFeedback', T);
  expect(asking.plan).toBeUndefined();
  await session.send('use main', T);
  const planned = await session.waitFor('awaitingPlanApproval', T);
  expect(planned.plan?.steps.map((s) => s.title)).toEqual(['Fix on the named branch']);
  const remote = julesSessionOf(session.id)!;
  const sent = jules.activities(remote.id).filter((a) => 'userMessaged' in a);
  expect(sent).toHaveLength(1);
  const { events } = await session.timeline();
  expect(ofType(events, 'agentMessaged').map((e) => e.message)).toContain('Which branch should I use?');
  expect(ofType(events, 'agentMessaged').filter((e) => e.message === 'Which branch should I use?')).toHaveLength(1);
  await session.cancel('done here');
}, 90_000);

it('a rejection with re-plan goes to Jules once; its revised plan is approved and carried out', async () => {
  const session = await h.andon.session({ prompt: 'replan this', title: 'Replan' });
  await session.waitFor('awaitingPlanApproval', T);
  await session.reject('please revise: smaller steps', { replan: true, by: 'test:lead' });
  const revised = await session.waitFor('awaitingPlanApproval', T);
  expect(revised.plan?.id).toBe('plan-2');
  expect(revised.plan?.steps.map((s) => s.title)).toEqual(['Read the code (revised)', 'Fix the bug (revised)', 'Run the tests (revised)']);
  await session.approve({ by: 'test:lead', planId: 'plan-2' });
  expect((await session.result(T)).state).toBe('completed');
  const remote = julesSessionOf(session.id)!;
  const said = jules.activities(remote.id).filter((a) => 'userMessaged' in a);
  expect(said.map((a) => (a.userMessaged as { userMessage: string }).userMessage)).toEqual(['please revise: smaller steps']);
});

it("plan binding: a plan Jules revised behind andon's back is not carried out", async () => {
  const session = await h.andon.session({ prompt: 'bound plan', title: 'Bound' });
  await session.waitFor('awaitingPlanApproval', T);
  // Asked in chat, Jules revises its plan; andon's plan awaiting approval is still the first one.
  expect((await session.ask('could you revise the plan?', T)).reply).toBe('I will revise the plan.');
  const remote = julesSessionOf(session.id)!;
  await waitUntil(() => jules.activities(remote.id).filter((a) => 'planGenerated' in a).length === 2);
  await session.approve({ by: 'test:lead' });
  const view = await session.waitFor('failed', T);
  expect(view.reason).toBe("Jules' plan changed after andon proposed it: the approved plan is not the one Jules would carry out");
  expect(jules.requests.filter((r) => r.route === 'approvePlan' && r.path.includes(remote.id))).toHaveLength(0);
});

it('a slow plan: Jules progress shows while the session plans', async () => {
  const session = await h.andon.session({ prompt: 'slow planning please', title: 'Slow' });
  await waitUntil(async () => titles((await session.timeline()).events).includes('Reading the code'));
  expect((await session.info()).state).toBe('planning');
  const view = await session.waitFor('awaitingPlanApproval', T);
  expect(view.plan?.steps).toHaveLength(3);
  const { events } = await session.timeline();
  const planAt = events.findIndex((e) => e.type === 'planGenerated');
  expect(titles(events.slice(0, planAt))).toEqual(['Cloning the repository', 'Reading the code']);
  await session.cancel('enough');
}, 90_000);

it('a pull request Jules opens a little after completing is still the output', async () => {
  const session = await h.andon.session({ prompt: 'late pull request', title: 'Late', context: { 'jules.source': 'acme/app' } });
  await session.waitFor('awaitingPlanApproval', T);
  await session.approve({ by: 'test:lead' });
  const outcome = await session.result(T);
  expect(outcome.pullRequest?.url).toBe(`https://github.com/acme/app/pull/${julesSessionOf(session.id)!.id}`);
});

it("a Jules session that ends without saying so in an activity still ends andon's wait", async () => {
  const quiet = await h.andon.session({ prompt: 'quiet ending', title: 'Quiet' });
  await quiet.waitFor('awaitingPlanApproval', T);
  await quiet.approve({ by: 'test:lead' });
  const outcome = await quiet.result(T);
  expect(outcome.state).toBe('completed');
  expect(titles((await quiet.timeline()).events)).toContain('Changed app.js');
  const vanishing = await h.andon.session({ prompt: 'vanishing session', title: 'Vanishing' });
  await vanishing.waitFor('awaitingPlanApproval', T);
  await vanishing.approve({ by: 'test:lead' });
  expect((await vanishing.waitFor('failed', T)).reason).toMatch(/^Jules session \d+ failed: Jules reported the session failed$/);
});

it("without plan approval, andon approves Jules' plan itself and runs it", async () => {
  const session = await h.andon.session({
    prompt: 'just do it',
    title: 'Auto',
    requirePlanApproval: false,
    context: { 'jules.branch': 'dev' },
  });
  const outcome = await session.result(T);
  expect(outcome.state).toBe('completed');
  const remote = julesSessionOf(session.id)!;
  // Jules is always asked to wait for approval: andon decides, here at once (by the system).
  expect(remote.requirePlanApproval).toBe(true);
  expect(jules.activities(remote.id).filter((a) => 'planApproved' in a)).toHaveLength(1);
  const { events } = await session.timeline();
  expect(ofType(events, 'planApproved')[0]?.by).toBe('system (approval not required)');
});

it('a bad jules.source or jules.branch in the context fails the session, naming the key', async () => {
  const before = jules.allSessions().length;
  const session = await h.andon.session({ prompt: 'bad source', title: 'Bad', context: { 'jules.source': 'acme/app/../x' } });
  expect((await session.waitFor('failed', T)).reason).toMatch(/^context jules\.source: expected "owner\/repo"/);
  const other = await h.andon.session({ prompt: 'bad branch', title: 'Bad', context: { 'jules.branch': '--upload-pack=x' } });
  expect((await other.waitFor('failed', T)).reason).toMatch(/^context jules\.branch: expected a git branch name/);
  expect(jules.allSessions()).toHaveLength(before);
});

it("a failed Jules session fails the andon session with Jules' reason", async () => {
  const session = await h.andon.session({ prompt: 'broken change', title: 'Broken' });
  await session.waitFor('awaitingPlanApproval', T);
  await session.approve({ by: 'test:lead' });
  const view = await session.waitFor('failed', T);
  expect(view.reason).toContain('the tests do not pass after the change');
  const { events } = await session.timeline();
  expect(titles(events)).toContain('Trying a fix');
  expect(ofType(events, 'sessionFailed')[0]?.reason).toContain('the tests do not pass after the change');
}, 90_000);

it('429 with Retry-After, then 503, are waited out: one Jules session, then the plan', async () => {
  jules.fail({ route: 'createSession', status: 429, times: 1, retryAfter: '1' });
  jules.fail({ route: 'listActivities', status: 503, times: 1 });
  const before = jules.requests.length;
  const session = await h.andon.session({ prompt: 'rate limited', title: 'Rate limited' });
  await session.waitFor('awaitingPlanApproval', T);
  const created = jules.requests.slice(before).filter((r) => r.route === 'createSession');
  expect(created.map((r) => r.status)).toEqual([429, 200]);
  expect(jules.requests.slice(before).some((r) => r.route === 'listActivities' && r.status === 503)).toBe(true);
  expect(jules.allSessions().filter((s) => s.title?.endsWith(`[andon:${session.id}]`))).toHaveLength(1);
  await session.cancel('enough');
}, 90_000);

it('a key Jules refuses fails the session at once, naming the variable and never the key', async () => {
  const bad = await startHarness({
    agents: { jules: julesAgent('JULES_BAD_KEY') },
    defaultAgent: 'jules',
    env: { ...process.env, JULES_BAD_KEY: 'not-the-key' },
  });
  const denied = await startHarness({
    agents: { jules: julesAgent('JULES_DENIED_KEY') },
    defaultAgent: 'jules',
    env: { ...process.env, JULES_DENIED_KEY: 'denied-key' },
  });
  try {
    const before = jules.requests.length;
    const session = await bad.andon.session({ prompt: 'anything', title: 'Bad key' });
    const view = await session.waitFor('failed', T);
    expect(view.reason).toMatch(/^Jules refused the API key from JULES_BAD_KEY \(UNAUTHENTICATED: /);
    // Not retried: one refused request.
    expect(
      jules.requests
        .slice(before)
        .filter((r) => !r.authorized)
        .map((r) => r.status),
    ).toEqual([401]);
    const history = await rawHistory(bad, session.id);
    expect(history).toContain('JULES_BAD_KEY');
    expect(history).not.toContain('not-the-key');

    const other = await denied.andon.session({ prompt: 'anything', title: 'Denied key' });
    expect((await other.waitFor('failed', T)).reason).toContain('PERMISSION_DENIED');
  } finally {
    await bad.close();
    await denied.close();
  }
}, 90_000);

it('a worker killed with SIGKILL mid-session: another finishes, every Jules activity on the timeline exactly once', async () => {
  const taskQueue = `jules-kill-${randomUUID()}`;
  const options = path.join(root, 'worker.json');
  writeFileSync(
    options,
    JSON.stringify({ agents: { jules: julesAgent() }, defaultAgent: 'jules', env: { ...process.env, JULES_TEST_KEY: KEY } }),
  );
  const worker = async () => {
    const child = await startWorkerProcess(testAddress(), taskQueue, path.resolve(__dirname, '../../scripts/demo.json'), options);
    workers.push(child);
    return child;
  };
  const client = await startHarness({ taskQueue, worker: false });
  try {
    const first = await worker();
    const session = await client.andon.session({ prompt: 'long work ahead', title: 'Long' });
    await session.waitFor('awaitingPlanApproval', T);
    await session.approve({ by: 'test:lead' });
    // Past the worker's 2 s heartbeat throttle, so a cursor beyond the first page was recorded.
    await waitUntil(async () => titles((await session.timeline()).events).includes('Long work 8'), 30_000);
    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await exited;
    // Killed mid-session: Jules is still at work, and goes on while no worker follows it.
    const remote = julesSessionOf(session.id)!;
    expect(remote.state).toBe('IN_PROGRESS');
    const killedAt = jules.requests.length;
    await worker();
    const outcome = await session.result({ timeoutMs: 120_000 });
    expect(outcome.state).toBe('completed');
    const { events } = await session.timeline();
    expect(titles(events).filter((t) => t.startsWith('Long work'))).toEqual(Array.from({ length: 14 }, (_, i) => `Long work ${i + 1}`));
    expect(titles(events).filter((t) => t === 'Jules finished')).toHaveLength(1);
    // The next worker resumed from the cursor in the heartbeat details, not from the first page.
    const resumed = jules.requests.slice(killedAt).find((r) => r.route === 'listActivities' && r.path.includes(remote.id));
    expect(resumed?.query.pageToken).toBeDefined();
    expect(jules.requests.filter((r) => r.route === 'approvePlan' && r.path.includes(remote.id) && r.status === 200)).toHaveLength(1);
  } finally {
    await client.close();
  }
}, 180_000);

/** The session's whole history as text, every payload decoded (payloads travel base64-encoded). */
async function rawHistory(harness: Harness, id: string): Promise<string> {
  const raw = JSON.stringify(await harness.client.workflow.getHandle(id).fetchHistory());
  const decoded = [...raw.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'));
  return [raw, ...decoded].join('\n');
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(100);
  }
}
