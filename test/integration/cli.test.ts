/**
 * The `andon` CLI as a person or script runs it: a child process (bin/andon.js) against the
 * suite's dev server and a harness worker, with results read back through the SDK.
 */
import { randomUUID } from 'node:crypto';
import type { SessionSummary, SessionView, TimelineEvent } from '../../src/client';
import { json, killAll, runCli, uniqueWordFor, until, type CliProcess } from '../support/cli-process';
import { quickScript, startHarness, type Harness } from '../support/harness';

let h: Harness;
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
});
afterAll(async () => {
  // A failed assertion can leave a tail running; it must not keep jest alive.
  killAll();
  await h?.close();
});

/** Starts the CLI against the harness; `--json` unless `human` is set. */
function spawnCli(args: string[], options: { human?: boolean } = {}): CliProcess {
  return runCli([...args, '--address', h.address, '--task-queue', h.taskQueue, ...(options.human ? [] : ['--json'])], process.env);
}

const cli = (args: string[], options: { human?: boolean } = {}) => spawnCli(args, options).done;

const uniqueWord = () => uniqueWordFor('cli');

describe('andon CLI', () => {
  it('refuses bad input with exit code 2 naming the field, and fails with exit code 1 for an unknown session', async () => {
    const ghost = `ghost-${randomUUID()}`;
    const [emptyPrompt, noReason, badState, unknownHuman, unknownJson] = await Promise.all([
      cli(['start', '--prompt', '']),
      cli(['reject', 'some-session']),
      cli(['list', '--state', 'bogus'], { human: true }),
      cli(['show', ghost], { human: true }),
      cli(['approve', ghost]),
    ]);

    expect(emptyPrompt.code).toBe(2);
    expect(json(emptyPrompt)).toEqual({ error: { type: 'ValidationError', field: 'prompt', message: expect.stringContaining('prompt') } });
    expect(noReason.code).toBe(2);
    expect(json(noReason)).toEqual({ error: { type: 'UsageError', field: 'reason', message: expect.stringContaining('--reason') } });

    expect(badState.code).toBe(2);
    expect(badState.stdout).toBe('');
    expect(badState.stderr).toMatch(/^error: invalid --state "bogus": expected one of .*awaitingPlanApproval/);

    // A person sees one line, not a stack trace.
    expect(unknownHuman.code).toBe(1);
    expect(unknownHuman.stderr).toBe(`error: session ${ghost} not found\n`);
    expect(unknownJson.code).toBe(1);
    expect(json(unknownJson)).toEqual({ error: { type: 'SessionNotFoundError', message: `session ${ghost} not found` } });
  });

  it('starts, shows, lists, chats, tails live, approves and waits for the result', async () => {
    const word = uniqueWord();
    const id = `cli-${word}`;
    const prompt = 'checkout-api 5xx above 5%';
    const title = `${word} checkout errors`;
    const context = ['--context', 'service=checkout', '--context', 'env=prod=eu'];
    const started = await cli(['start', '--prompt', prompt, '--title', title, '--id', id, ...context, '--follow-up', '10m', '--wait']);
    expect(started.code).toBe(0);
    const view = json<SessionView>(started);
    expect(view).toMatchObject({ id, state: 'awaitingPlanApproval', title, context: { service: 'checkout', env: 'prod=eu' } });
    expect(view.requestedBy).toMatch(/^cli:./);
    expect(view.plan?.id).toBe('plan-1');
    const session = h.andon.session(id);
    expect(await session.info()).toMatchObject({ state: 'awaitingPlanApproval', prompt, requestedBy: view.requestedBy });

    // Started before anything below happens, so what it prints after its backlog arrived live.
    const tail = spawnCli(['tail', id]);
    const tailed = () =>
      tail
        .output()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as TimelineEvent);
    await until(() => tailed().some((e) => e.type === 'planGenerated'), 'tail to print its backlog');

    const [showJson, showHuman, listJson, listHuman, asked, sent] = await Promise.all([
      cli(['show', id]),
      cli(['show', id], { human: true }),
      cli(['list', '--text', word, '--state', 'awaitingPlanApproval,planning', '--since', '1h']),
      cli(['list', '--text', word, '--limit', '5'], { human: true }),
      cli(['ask', id, 'what', 'is', 'the', 'status?']),
      cli(['send', id, 'please', 'hurry']),
    ]);

    const shown = json<{ session: SessionView; events: TimelineEvent[] }>(showJson);
    expect(shown.session).toMatchObject({ id, state: 'awaitingPlanApproval' });
    expect(shown.events.slice(0, 2).map((e) => e.type)).toEqual(['sessionCreated', 'planGenerated']);

    expect(showHuman.code).toBe(0);
    expect(showHuman.stdout).toMatch(new RegExp(`^session  ${id}$`, 'm'));
    expect(showHuman.stdout).toMatch(/^state {4}awaitingPlanApproval$/m);
    expect(showHuman.stdout).toMatch(/^context {2}service=checkout, env=prod=eu$/m);
    expect(showHuman.stdout).toMatch(/^plan {5}plan-1 Fix cli\w+ checkout errors \(awaiting approval\)$/m);
    expect(showHuman.stdout).toMatch(/^ {4}1\. Slow — takes a while\n {4}2\. Fix\n\ntimeline\n/m);
    expect(showHuman.stdout).toMatch(/^created {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d by cli:.+$/m);
    expect(showHuman.stdout).toMatch(/^#1 {2}\d\d:\d\d:\d\d {2}system {2}sessionCreated {2}cli\w+ checkout errors — requested by cli:.+$/m);
    expect(showHuman.stdout).toMatch(/^#2 {2}\d\d:\d\d:\d\d {2}agent {2}planGenerated {2}plan-1 Fix .*: Slow; Fix$/m);

    expect(json<SessionSummary[]>(listJson)).toEqual([
      expect.objectContaining({ id, state: 'awaitingPlanApproval', title, status: 'RUNNING' }),
    ]);
    expect(listHuman.code).toBe(0);
    const [header, row, ...rest] = listHuman.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+STATE\s+CREATED\s+TITLE$/);
    expect(row).toMatch(
      new RegExp(`^${id}\\s+awaitingPlanApproval\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+${word} checkout errors$`),
    );
    expect(rest).toEqual([]);

    expect(json(asked)).toEqual({ messageId: expect.any(String), reply: 'all good' });
    const { messageId } = json<{ messageId: string }>(sent);

    const approved = await cli(['approve', id, '--plan', 'plan-1', '--comment', 'go ahead', '--as', 'cli:alice']);
    expect(json<SessionView>(approved).state).toBe('inProgress');
    const again = await cli(['approve', id], { human: true });
    expect(again.code).toBe(1);
    const refusal = `^error: cannot approve session ${id}: no plan is awaiting approval \\(state: (inProgress|completed)\\)\\n$`;
    expect(again.stderr).toMatch(new RegExp(refusal));

    const tailRun = await tail.done;
    expect(tailRun).toMatchObject({ code: 0, stderr: '' });
    const events = tailed();
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({ type: 'sessionCompleted', summary: `done: ${prompt}` });
    expect(events).toContainEqual(expect.objectContaining({ type: 'planApproved', by: 'cli:alice', comment: 'go ahead' }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'userMessaged', messageId, message: 'please hurry' }));
    expect(events.filter((e) => e.type === 'progressUpdated').map((e) => (e as { title: string }).title)).toEqual(['Slow', 'Rolled back']);

    const [waited, result] = await Promise.all([cli(['wait', id, 'completed', '--timeout', '20s']), cli(['result', id], { human: true })]);
    expect(json<SessionView>(waited)).toMatchObject({ id, state: 'completed', summary: `done: ${prompt}` });
    expect(result).toEqual({ code: 0, stderr: '', stdout: `session ${id} completed: ${word} checkout errors\ndone: ${prompt}\n` });
    expect((await session.info()).state).toBe('completed');
  }, 90_000);

  it('pauses, resumes, rejects for a new plan and cancels; result reports the cancellation', async () => {
    const id = `cli-${uniqueWord()}`;
    const session = h.andon.session(id);
    const steer = async () => {
      expect(
        json<SessionView>(await cli(['start', '--prompt', 'disk full on db-1', '--id', id, '--follow-up', '0s', '--wait'])).state,
      ).toBe('awaitingPlanApproval');
      const paused = json<SessionView>(await cli(['pause', id, '--reason', 'hold on']));
      expect(paused.state).toBe('paused');
      expect(json<SessionView>(await cli(['wait', id, 'paused', 'cancelled'])).state).toBe('paused');
      expect(json<SessionView>(await cli(['resume', id])).state).toBe('awaitingPlanApproval');

      const rejected = json<SessionView>(await cli(['reject', id, '--reason', 'wrong service', '--replan', '--plan', 'plan-1']));
      expect(['planning', 'awaitingPlanApproval']).toContain(rejected.state);
      expect((await session.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 })).plan?.id).toBe('plan-2');

      const cancelled = json<SessionView>(await cli(['cancel', id, '--reason', 'fixed by hand']));
      expect(cancelled).toMatchObject({ state: 'cancelled', reason: 'fixed by hand' });
      const result = await cli(['result', id, '--timeout', '20s']);
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toEqual({
        error: { type: 'SessionCancelledError', message: `session ${id} was cancelled: fixed by hand` },
      });

      const { events } = await session.timeline();
      expect(events.map((e) => e.type)).toEqual([
        'sessionCreated',
        'planGenerated',
        'sessionPaused',
        'sessionResumed',
        'planRejected',
        'planGenerated',
        'sessionCancelled',
      ]);
      expect(events[2]).toMatchObject({ reason: 'hold on', by: expect.stringMatching(/^cli:/) });
      expect(events[4]).toMatchObject({ reason: 'wrong service', replan: true, planId: 'plan-1' });
    };

    // Meanwhile, independently: a session without approval, tailed in human form until it ends.
    const unattended = async () => {
      const started = json<SessionView>(await cli(['start', '--prompt', 'rotate logs', '--no-approval', '--follow-up', '0s']));
      expect(started.requirePlanApproval).toBe(false);
      const tail = await cli(['tail', started.id, '--after', '1', '--timeout', '30s'], { human: true });
      expect(tail.code).toBe(0);
      const lines = tail.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^#2 {2}\d\d:\d\d:\d\d {2}agent {2}planGenerated {2}plan-1 Fix rotate logs: Slow; Fix$/);
      const autoApproved = /^#3 {2}\d\d:\d\d:\d\d {2}system {2}planApproved {2}plan-1 by system \(approval not required\)$/;
      expect(lines).toContainEqual(expect.stringMatching(autoApproved));
      expect(lines).toContainEqual(expect.stringMatching(/ {2}agent {2}progressUpdated {2}Rolled back — rolled back to v1\.41\.2$/));
      expect(lines.at(-1)).toMatch(/ {2}agent {2}sessionCompleted {2}done: rotate logs$/);
      expect((await h.andon.session(started.id).info()).state).toBe('completed');
    };

    await Promise.all([steer(), unattended()]);
  }, 90_000);
});
