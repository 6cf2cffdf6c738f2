/**
 * The whole code-session loop from an alert, on the suite's dev server with every part real but
 * the network edges: Alertmanager posts to the webhook receiver, whose route names the repository
 * the alerted service lives in (a bare repo standing in for GitHub's acme/ledger) and publishes
 * by pull request; the plan is approved by a signed Slack click; the change set, shown in the
 * Slack thread with its diff stats, is approved by another click (a click bound to another diff,
 * or to the plan, is refused and recorded); the fix is committed on andon/<session-id> in the
 * bare remote (read back with git), exactly one pull request is opened on the loopback GitHub,
 * `result().pullRequest` is `{ url, title, description }`, and the Slack message links it. The
 * worker's GitHub token (its environment) is used for every GitHub call and never appears in the
 * session's history (read raw through the plain Temporal client) nor in anything sent to Slack.
 * And the other way out: the change set rejected from Slack's modal, nothing pushed or opened.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alertSessionId } from '../../src/client/andon';
import type { SessionView, TimelineEvent } from '../../src/session/schema';
import { SlackNotifier, timelineFacts } from '../../src/slack';
import { ACTION, REJECT_VIEW } from '../../src/slack/ids';
import { git, makeRemote } from '../support/git-repos';
import { GitHubServer } from '../support/github-server';
import { historyText } from '../support/history-text';
import { startHarness, type Harness } from '../support/harness';
import { startService, type TestService } from '../support/service-harness';
import { SlackApiServer, type PostedMessage } from '../support/slack-api-server';
import { SlackSender, click, submitView } from '../support/slack-requests';
import { createCodeAgent } from '../support/code-agent';

const T = { timeoutMs: 60_000 };
const GITHUB_TOKEN = 'ghp_e2e_token_never_in_history_0123456789';
const SLACK_TOKEN = 'xoxb-e2e-loopback-bot-token';
const SLACK_SECRET = 'e2e-loopback-signing-secret-0123456789';
const ALERTMANAGER_TOKEN = 'am-e2e-token-0123456789abcdef';
const CHANNEL = { name: '#ledger-oncall', id: 'CLEDGERONCALL' };
const FIXTURE = path.resolve(__dirname, '../fixtures/alerts/alertmanager/firing.json');

let root: string;
let remote: string;
let base: string;
let github: GitHubServer;
let slack: SlackApiServer;
let h: Harness;
let api: TestService;
let sender: SlackSender;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'andon-code-alert-'));
  // "GitHub": acme/ledger is a bare repository the worker clones through its cloneUrl template, and a loopback REST API.
  const made = makeRemote(path.join(root, 'github', 'acme'), 'ledger', {
    'app.js': 'console.log("bug");\n',
    'README.md': '# ledger\n',
  });
  remote = made.url;
  base = made.commits.main!;
  github = await GitHubServer.start({ token: GITHUB_TOKEN, repos: ['acme/ledger'] });
  slack = await SlackApiServer.start({ token: SLACK_TOKEN });
  const markers = path.join(root, 'markers');
  mkdirSync(markers);
  h = await startHarness({
    agent: createCodeAgent({ markerDir: markers, stepMs: 0 }),
    notifiers: {
      slack: new SlackNotifier({ botToken: SLACK_TOKEN, apiUrl: slack.apiUrl, facts: (view) => timelineFacts(h.andon)(view) }),
    },
    dataDir: path.join(root, 'worker'),
    workspace: { github: { cloneUrl: path.join(root, 'github', '{owner}', '{repo}.git'), apiUrl: github.apiUrl } },
    // The token only in the worker's environment (workspace.github.tokenEnv, GITHUB_TOKEN by default).
    env: { ...process.env, GITHUB_TOKEN },
  });
  api = await startService(h.andon, {
    slack: { enabled: true, botToken: SLACK_TOKEN, signingSecret: SLACK_SECRET, apiUrl: slack.apiUrl },
    webhooks: {
      alertmanager: { token: ALERTMANAGER_TOKEN },
      routes: [
        {
          name: 'ledger-code',
          match: { labels: { service: 'ledger' } },
          prompt: 'Ledger alert "{summary}": find the cause in the code and fix it.',
          title: 'Fix: {summary}',
          source: { github: 'acme/ledger', branch: 'main' },
          publish: { mode: 'pullRequest', approveChanges: true },
          slackChannel: CHANNEL.name,
        },
      ],
    },
  });
  sender = new SlackSender(api.url, SLACK_SECRET);
});

afterAll(async () => {
  await api?.close();
  await h?.close();
  await slack?.close();
  await github?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Alertmanager's documented firing notification, for the ledger service, with an incident of its own. */
function ledgerAlert(fingerprint: string): string {
  const payload = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
    commonLabels: Record<string, string>;
    commonAnnotations: Record<string, string>;
    alerts: { fingerprint: string; labels: Record<string, string>; annotations: Record<string, string> }[];
  };
  const labels = { alertname: 'LedgerDrift', service: 'ledger', severity: 'critical' };
  const annotations = { summary: 'ledger totals drift from the journal' };
  payload.commonLabels = labels;
  payload.commonAnnotations = annotations;
  payload.alerts = payload.alerts.map((alert) => ({ ...alert, fingerprint, labels, annotations }));
  return JSON.stringify(payload);
}

async function fire(fingerprint: string): Promise<{ status: number; body: { sessions?: { id: string; route: string }[] } }> {
  const response = await fetch(`${api.url}/v1/webhooks/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ALERTMANAGER_TOKEN}` },
    body: ledgerAlert(fingerprint),
  });
  return { status: response.status, body: (await response.json()) as { sessions?: { id: string; route: string }[] } };
}

type Block = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Slack's JSON, read by path in assertions
const buttonsOf = (message: PostedMessage): Block[] =>
  message.blocks.filter((b: Block) => b.type === 'actions').flatMap((b: Block) => b.elements);
const buttonValue = (message: PostedMessage, actionId: string): string | undefined =>
  buttonsOf(message).find((b) => b.action_id === actionId)?.value as string | undefined;
const shows = (message: PostedMessage, text: string) => JSON.stringify(message.blocks).includes(text);
const eventsOf = async <K extends TimelineEvent['type']>(id: string, type: K) =>
  (await h.andon.session(id).timeline({ limit: 1_000 })).events.filter((e): e is Extract<TimelineEvent, { type: K }> => e.type === type);

/** The session's message in the route's channel (every session of the route is announced there). */
const messageOf = (id: string) =>
  slack.waitFor(() => slack.posts(CHANNEL.id).find((m) => m.metadata?.event_payload.session_id === id), `the message of ${id}`);

/** What `user` was told at `responseUrl`. */
async function toldAt(responseUrl: string, user: string): Promise<string> {
  const [told] = await slack.waitFor(
    () => slack.responsesTo(responseUrl).length > 0 && slack.responsesTo(responseUrl),
    `the answer to ${user}`,
  );
  return told!.body.text as string;
}

/** A signed click on the session message's Approve button with `value`, as `user`; answers what they were told. */
async function clickAs(user: string, message: PostedMessage, value: string): Promise<string> {
  const responseUrl = slack.responseUrl();
  const answer = await sender.send(
    click({ actionId: ACTION.approve, value, user, channel: CHANNEL.id, responseUrl, messageTs: message.ts }),
  );
  expect(answer.status).toBe(200);
  return toldAt(responseUrl, user);
}

/** Everything andon sent Slack: Web API calls and response-URL posts. */
const allSentToSlack = () => JSON.stringify([slack.calls, slack.responses]);

it('an alert routed to a repository ends, approved twice in Slack, in one commit on andon/<id> and one pull request', async () => {
  const fingerprint = `ledger-${Date.now().toString(36)}`;
  const fired = await fire(fingerprint);
  expect(fired.status).toBe(202);
  const id = alertSessionId('alertmanager', fingerprint);
  expect(fired.body.sessions).toEqual([expect.objectContaining({ id, route: 'ledger-code' })]);
  const session = h.andon.session(id);

  // The plan, announced in the route's channel, with the repository it works on.
  const planned = await session.waitFor('awaitingPlanApproval', T);
  expect(planned.workspace).toMatchObject({ source: 'github:acme/ledger@main', branch: 'main', baseCommit: base });
  const message = await messageOf(id);
  expect(shows(message, `\`github:acme/ledger@main\` · main at \`${base.slice(0, 7)}\``)).toBe(true);
  const planButton = buttonValue(message, ACTION.approve)!;
  expect(JSON.parse(planButton)).toEqual({ sessionId: id, planId: 'plan-1', planHash: planned.plan!.hash });

  // Approved from Slack: the step runs, the change set awaits its own approval.
  expect(await clickAs('U0ALICE', message, planButton)).toMatch(/Your approval of `plan-1` .* is recorded/);
  const waiting = await session.waitFor('awaitingChangeApproval', T);
  expect(await eventsOf(id, 'planApproved')).toEqual([expect.objectContaining({ by: 'slack:U0ALICE' })]);
  const hash = waiting.workspace!.changeSetHash!;
  expect(hash).toMatch(/^[0-9a-f]{16}$/);
  expect(waiting.workspace?.changes).toEqual(
    expect.arrayContaining([
      { path: 'app.js', changeType: 'modified', additions: 1, deletions: 1 },
      { path: 'NOTES.md', changeType: 'created', additions: 1, deletions: 0 },
    ]),
  );
  // The message now offers the change, with its diff stats, bound to the diff shown; the thread says why.
  await slack.waitFor(() => buttonValue(message, ACTION.approve)?.includes(hash), 'the change approval buttons');
  expect(shows(message, '2 files changed, +2 −1')).toBe(true);
  expect(shows(message, '`app.js` +1 −1')).toBe(true);
  const changeButton = buttonValue(message, ACTION.approve)!;
  expect(JSON.parse(changeButton)).toEqual({ sessionId: id, planId: 'plan-1', changeSetHash: hash });
  const note = await slack.waitFor(() => slack.thread(CHANNEL.id, message.ts).at(-1), 'the thread note on the change');
  expect(note.text).toMatch(/change set \(2 files changed, \+2 −1\) awaits approval/);
  expect(note.text).not.toMatch(/new plan/);

  // A click bound to another diff, and a late click on the plan's button, are refused, recorded, and move nothing.
  const stale = JSON.stringify({ ...JSON.parse(changeButton), changeSetHash: '0123456789abcdef' });
  expect(await clickAs('U0BOB', message, stale)).toMatch(/was not accepted: the change set changed since it was shown/);
  expect(await clickAs('U0BOB', message, planButton)).toMatch(/was not accepted: .*plan.*not the change set/);
  expect((await session.info()).state).toBe('awaitingChangeApproval');
  expect(await eventsOf(id, 'approvalRefused')).toEqual([
    expect.objectContaining({
      decision: 'approve',
      by: 'slack:U0BOB',
      code: 'StalePlan',
      reason: expect.stringMatching(/0123456789abcdef/),
    }),
    expect.objectContaining({ decision: 'approve', by: 'slack:U0BOB', code: 'StalePlan' }),
  ]);
  expect(await eventsOf(id, 'changesApproved')).toEqual([]);
  expect(github.requests).toEqual([]);

  // The change approved from Slack: published once, and the session completes with the pull request.
  expect(await clickAs('U0BOB', message, changeButton)).toMatch(/Your approval of the change set .* is recorded/);
  const outcome = await session.result(T);
  expect(outcome.state).toBe('completed');
  expect(await eventsOf(id, 'changesApproved')).toEqual([expect.objectContaining({ by: 'slack:U0BOB', changeSetHash: hash })]);

  // The fix, committed on andon/<id> in the remote: one commit over the base, base + change.
  const branch = `andon/${id}`;
  expect(git(remote, 'rev-list', '--count', `main..${branch}`)).toBe('1');
  expect(git(remote, 'rev-parse', `${branch}^`)).toBe(base);
  expect(git(remote, 'show', `${branch}:app.js`)).toBe('console.log("fix");');
  expect(git(remote, 'show', `${branch}:NOTES.md`)).toBe('fixed the bug');
  expect(git(remote, 'diff', '--name-only', 'main', branch).split('\n').sort()).toEqual(['NOTES.md', 'app.js']);
  const published = await eventsOf(id, 'changesPublished');
  expect(published).toEqual([
    expect.objectContaining({ branch, commit: git(remote, 'rev-parse', branch), files: 2, additions: 2, deletions: 1 }),
  ]);

  // Exactly one pull request, from that branch into main, opened with the worker's token.
  const pulls = github.pulls('acme', 'ledger');
  expect(pulls).toHaveLength(1);
  expect(pulls[0]).toMatchObject({
    head: `acme:${branch}`,
    base: 'main',
    title: 'Fix: ledger totals drift from the journal',
    state: 'open',
  });
  expect(github.requests.length).toBeGreaterThan(0);
  expect(github.requests.every((r) => r.authorized)).toBe(true);
  const pullRequest = outcome.pullRequest;
  expect(Object.keys(pullRequest ?? {}).sort()).toEqual(['description', 'title', 'url']);
  expect(pullRequest).toEqual({
    url: expect.stringMatching(new RegExp(`/acme/ledger/pull/${pulls[0]!.number}$`)),
    title: 'Fix: ledger totals drift from the journal',
    description: expect.stringContaining('2 files changed, +2 -1.'),
  });
  expect(pullRequest?.description).toContain(`andon view ${id}`);

  // Slack: the message ends with the diff stats, the pushed branch and the pull request's link.
  await slack.waitFor(() => shows(message, ':white_check_mark: *Done*'), 'the message to show the outcome');
  expect(shows(message, '2 files changed, +2 −1')).toBe(true);
  expect(shows(message, `pushed \`${branch}\``)).toBe(true);
  expect(shows(message, `<${pullRequest!.url}|${pullRequest!.title}>`)).toBe(true);
  expect(buttonsOf(message).map((b) => b.action_id)).not.toContain(ACTION.approve);

  // The token: in no event of the session's raw history, in nothing sent to Slack.
  const history = historyText(await h.client.workflow.getHandle(id).fetchHistory());
  // The payloads were read as text: the input's source and the publish activity's pull request are in it.
  expect(history).toContain('acme/ledger');
  expect(history).toContain(pullRequest!.url);
  expect(history).not.toContain(GITHUB_TOKEN);
  expect(allSentToSlack()).not.toContain(GITHUB_TOKEN);
  const view: SessionView = await session.info();
  expect(JSON.stringify(view)).not.toContain(GITHUB_TOKEN);
  expect(JSON.stringify(await session.timeline({ limit: 1_000 }))).not.toContain(GITHUB_TOKEN);
});

it('a change set rejected from Slack completes the session with nothing pushed and no pull request', async () => {
  const fingerprint = `ledger-reject-${Date.now().toString(36)}`;
  expect((await fire(fingerprint)).status).toBe(202);
  const id = alertSessionId('alertmanager', fingerprint);
  const session = h.andon.session(id);
  await session.waitFor('awaitingPlanApproval', T);
  const message = await messageOf(id);
  // Carol opens the plan's Reject dialog, and submits it only after Alice approved the plan.
  const planModal = await openRejectModal(message, 'U0CAROL');
  expect(planModal).toMatchObject({ title: { text: 'Reject the plan' } });
  expect(await clickAs('U0ALICE', message, buttonValue(message, ACTION.approve)!)).toMatch(/is recorded/);
  const waiting = await session.waitFor('awaitingChangeApproval', T);
  const hash = waiting.workspace!.changeSetHash!;
  await slack.waitFor(() => buttonValue(message, ACTION.reject)?.includes(hash), 'the change set buttons');

  // That late rejection was of the plan she saw, not of the diff: refused, recorded, nothing moves.
  const lateUrl: string = JSON.parse(planModal.private_metadata).responseUrl;
  const lateSubmit = submitView({
    user: 'U0CAROL',
    callbackId: planModal.callback_id,
    privateMetadata: planModal.private_metadata,
    reason: 'not this plan',
  });
  expect(await sender.send(lateSubmit)).toMatchObject({ status: 200 });
  expect(await toldAt(lateUrl, 'U0CAROL')).toMatch(/not the change set/);
  expect(await eventsOf(id, 'approvalRefused')).toEqual([
    expect.objectContaining({ decision: 'reject', by: 'slack:U0CAROL', code: 'StalePlan' }),
  ]);
  expect((await session.info()).state).toBe('awaitingChangeApproval');

  // Reject… opens the change set's modal; its submission rejects the change with the reason.
  const modal = await openRejectModal(message, 'U0CAROL');
  const responseUrl = JSON.parse(modal.private_metadata).responseUrl;
  expect(modal).toMatchObject({ callback_id: REJECT_VIEW.callbackId, title: { text: 'Reject the change' } });
  expect(JSON.parse(modal.private_metadata)).toMatchObject({ sessionId: id, changeSetHash: hash });
  const submitted = await sender.send(
    submitView({
      user: 'U0CAROL',
      callbackId: modal.callback_id,
      privateMetadata: modal.private_metadata,
      reason: 'fix the journal, not the totals',
    }),
  );
  expect(submitted).toMatchObject({ status: 200, body: undefined });
  expect(await toldAt(responseUrl, 'U0CAROL')).toMatch(/Your rejection of .* is recorded/);

  const outcome = await session.result(T);
  expect(outcome.state).toBe('completed');
  expect((await session.info()).reason).toBe('change set rejected by slack:U0CAROL: fix the journal, not the totals; not published');
  expect(outcome.pullRequest).toBeUndefined();
  expect(outcome.outputs.map((o) => o.type)).toEqual(['changeSet']);
  expect(await eventsOf(id, 'changesRejected')).toEqual([expect.objectContaining({ by: 'slack:U0CAROL', changeSetHash: hash })]);
  expect(await eventsOf(id, 'changesPublished')).toEqual([]);
  expect(() => git(remote, 'rev-parse', '--verify', '-q', `refs/heads/andon/${id}`)).toThrow();
  expect(github.pulls('acme', 'ledger').filter((p) => p.head === `acme:andon/${id}`)).toEqual([]);
  await slack.waitFor(() => shows(message, ':white_check_mark: *Done*'), 'the message to show the outcome');
  expect(buttonsOf(message).map((b) => b.action_id)).not.toContain(ACTION.reject);
});

/** Clicks the message's Reject… button as `user` and returns the modal Slack was asked to open. */
async function openRejectModal(
  message: PostedMessage,
  user: string,
): Promise<{ callback_id: string; private_metadata: string; title: { text: string } }> {
  const opened = slack.callsOf('views.open').length;
  const value = buttonValue(message, ACTION.reject)!;
  await sender.send(
    click({ actionId: ACTION.reject, value, user, channel: CHANNEL.id, responseUrl: slack.responseUrl(), messageTs: message.ts }),
  );
  return (await slack.waitFor(() => slack.callsOf('views.open')[opened], 'the reject modal')).args.view;
}
