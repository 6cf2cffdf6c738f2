/**
 * The Slack notifier against the loopback Slack (no Temporal): what each notification posts or
 * updates, and how each kind of Slack failure maps to "retry (after Retry-After)" or "give up".
 */
import { NotifyError, type Notification } from '../../src/notify/notifier';
import type { Review, SessionView } from '../../src/session/schema';
import { SlackNotifier } from '../../src/slack/notifier';
import { rejectionOf } from '../support/rejection';
import { SlackApiServer } from '../support/slack-api-server';
import { at } from '../support/at';

const TOKEN = 'xoxb-test-token';
let slack: SlackApiServer;
let notifier: SlackNotifier;
beforeAll(async () => {
  slack = await SlackApiServer.start({ token: TOKEN });
  notifier = new SlackNotifier({
    botToken: TOKEN,
    apiUrl: slack.apiUrl,
    temporalUiUrl: 'https://temporal.example',
    namespace: 'prod',
    facts: async (view) => ({ approvals: view.state === 'inProgress' ? [{ by: 'slack:U0ALICE' }] : [] }),
  });
});
afterAll(() => slack?.close());
beforeEach(() => slack.clearFaults());

const options = () => ({ signal: new AbortController().signal, attempt: 1 });

function view(overrides: Partial<SessionView> = {}): SessionView {
  return {
    id: 'n-1',
    state: 'awaitingPlanApproval',
    title: 'disk full on db-7',
    prompt: 'p',
    context: {},
    requirePlanApproval: true,
    createTime: '2026-01-01T00:00:00.000Z',
    updateTime: '2026-01-01T00:00:00.000Z',
    plan: { id: 'plan-1', steps: [{ id: 's1', index: 0, title: 'Clean up', description: '' }] },
    pauseRequested: false,
    outputs: [],
    lastSeq: 3,
    pendingMessages: 0,
    pendingReviews: [],
    ...overrides,
  };
}

function notification(overrides: Partial<Notification>): Notification {
  return { kind: 'approvalRequested', targets: { slack: { channel: '#ops' } }, view: view(), ...overrides };
}

describe('SlackNotifier', () => {
  it('a retry after a post whose answer was lost updates that message instead of posting another', async () => {
    const channel = '#retried';
    slack.fail({ method: 'chat.postMessage', status: 503, afterApply: true, times: 1, when: (args) => args.channel === channel });
    const first = notification({ targets: { slack: { channel } }, view: view({ id: 'n-retry' }) });
    expect(await rejectionOf(notifier.notify(first, options()))).toBeInstanceOf(NotifyError);
    expect(slack.posts('CRETRIED')).toHaveLength(1);
    const posted = await notifier.notify(first, { ...options(), attempt: 2 });
    expect(slack.posts('CRETRIED')).toHaveLength(1);
    expect(posted.slack).toEqual({ channel: 'CRETRIED', ts: slack.posts('CRETRIED')[0]!.ts });
    expect(slack.posts('CRETRIED')[0]!.history).toHaveLength(1);
    // Another session's first post in the same channel is its own message, even on a retry.
    await notifier.notify(notification({ targets: { slack: { channel } }, view: view({ id: 'n-other' }) }), { ...options(), attempt: 3 });
    expect(slack.posts('CRETRIED')).toHaveLength(2);
  });

  it('a retry whose lookup fails posts anyway (a duplicate is better than no message) and says why', async () => {
    const warnings: string[] = [];
    const warned = new SlackNotifier({ botToken: TOKEN, apiUrl: slack.apiUrl, warn: (m) => warnings.push(m) });
    slack.fail({ method: 'conversations.history', error: 'missing_scope', times: 1 });
    const posted = await warned.notify(notification({ targets: { slack: { channel: 'C0NOSCOPE' } } }), { ...options(), attempt: 2 });
    expect(posted.slack?.channel).toBe('C0NOSCOPE');
    expect(warnings).toEqual([expect.stringContaining('missing_scope')]);
  });

  it('posts the plan, then updates that message, and answers in its thread', async () => {
    const posted = await notifier.notify(notification({}), options());
    expect(posted.slack).toEqual({ channel: 'COPS', ts: expect.stringMatching(/^\d+\.\d+$/) });
    const ref = posted.slack!;
    const message = slack.messages.get(`${ref.channel}:${ref.ts}`)!;
    expect(JSON.stringify(message.blocks)).toContain('https://temporal.example/namespaces/prod/workflows/n-1');
    expect(JSON.stringify(message.blocks)).toContain('andon_approve');

    const updated = await notifier.notify(
      notification({ kind: 'stateChanged', view: view({ state: 'inProgress', currentStep: 0 }), slack: ref }),
      options(),
    );
    expect(updated.slack).toEqual(ref);
    expect(message.history).toHaveLength(1);
    expect(JSON.stringify(message.blocks)).toContain('Approved by <@U0ALICE>');
    expect(JSON.stringify(message.blocks)).not.toContain('andon_approve');

    expect(
      await notifier.notify(
        notification({ kind: 'agentReplied', reply: { messageId: 'm', text: 'because <reasons>' }, slack: ref }),
        options(),
      ),
    ).toEqual({});
    await notifier.notify(notification({ kind: 'approvalReminder', slack: ref }), options());
    await notifier.notify(notification({ kind: 'approvalEscalated', escalateTo: ['slack:S0ONCALL'], slack: ref }), options());
    const thread = slack.thread(ref.channel, ref.ts);
    expect(thread.map((m) => m.text)).toEqual([
      'because &lt;reasons&gt;',
      expect.stringContaining('Reminder'),
      expect.stringContaining('<!subteam^S0ONCALL>'),
    ]);
    expect(thread.map((m) => m.broadcast)).toEqual([false, false, true]);
  });

  it('updates the message in place for a new plan, and says so in the thread', async () => {
    const { slack: ref } = await notifier.notify(notification({}), options());
    const again = await notifier.notify(
      notification({ view: view({ plan: { id: 'plan-2', steps: [{ id: 's', index: 0, title: 'Other', description: '' }] } }), slack: ref }),
      options(),
    );
    expect(again.slack).toEqual(ref);
    expect(slack.messages.get(`${ref!.channel}:${ref!.ts}`)!.history).toHaveLength(1);
    expect(slack.thread(ref!.channel, ref!.ts).map((m) => m.text)).toEqual([
      expect.stringContaining('A new plan (`plan-2`) awaits approval'),
    ]);
  });

  it('posts a state change as a new message when there is none yet (no approval required)', async () => {
    const result = await notifier.notify(
      notification({ kind: 'stateChanged', view: view({ state: 'inProgress', currentStep: 0 }) }),
      options(),
    );
    expect(result.slack?.channel).toBe('COPS');
  });

  it('does nothing for a notification without a Slack target', async () => {
    const before = slack.calls.length;
    expect(await notifier.notify(notification({ targets: {} }), options())).toEqual({});
    expect(slack.calls.length).toBe(before);
  });

  it.each([
    ['channel_not_found', false, /channel_not_found \(the channel does not exist/],
    ['not_in_channel', false, /invite the app/],
    ['invalid_auth', false, /ANDON_SLACK_BOT_TOKEN/],
    ['invalid_blocks', false, /invalid_blocks/],
    ['internal_error', true, /internal_error/],
  ])('maps ok:false %s to retryable=%s', async (error, retryable, message) => {
    slack.fail({ method: 'chat.postMessage', error, times: 1 });
    const failure = await rejectionOf(notifier.notify(notification({}), options()));
    expect(failure).toBeInstanceOf(NotifyError);
    expect((failure as NotifyError).options).toMatchObject({ retryable });
    expect((failure as NotifyError).message).toMatch(message);
  });

  it('maps a 429 to retryable with Retry-After, 5xx to retryable, and makes no retries of its own', async () => {
    slack.fail({ method: 'chat.postMessage', status: 429, retryAfter: 7, times: 1 });
    const before = slack.callsOf('chat.postMessage').length;
    const limited = (await rejectionOf(notifier.notify(notification({}), options()))) as NotifyError;
    expect(limited.options).toMatchObject({ retryable: true, retryAfterMs: 7_000 });
    expect(slack.callsOf('chat.postMessage').length).toBe(before + 1);

    slack.fail({ method: 'chat.update', status: 503, times: 1 });
    const down = (await rejectionOf(
      notifier.notify(notification({ kind: 'stateChanged', slack: { channel: 'COPS', ts: '1.1' } }), options()),
    )) as NotifyError;
    expect(down.options.retryable).toBe(true);
    expect(down.message).toMatch(/HTTP 503/);
  });

  it('maps an unreachable Slack to retryable, and stops when the activity is cancelled', async () => {
    const offline = new SlackNotifier({ botToken: TOKEN, apiUrl: 'http://127.0.0.1:9/api/', timeoutMs: 2_000 });
    const failure = (await rejectionOf(offline.notify(notification({}), options()))) as NotifyError;
    expect(failure).toBeInstanceOf(NotifyError);
    expect(failure.options.retryable).toBe(true);

    const controller = new AbortController();
    controller.abort();
    const cancelled = await rejectionOf(notifier.notify(notification({}), { signal: controller.signal, attempt: 1 }));
    expect(cancelled).toBeInstanceOf(NotifyError);
  });

  it.each([
    ['approvalReminder', 'Reminder'],
    ['approvalEscalated', 'nobody has decided'],
  ] as const)('posts a %s once when a retry follows a post whose answer was lost, and the next one again', async (kind, text) => {
    const { slack: ref } = await notifier.notify(notification({ view: view({ id: `n-${kind}` }) }), options());
    slack.fail({ method: 'chat.postMessage', status: 500, afterApply: true, times: 1, when: (args) => args.thread_ts === ref!.ts });
    const first = notification({
      kind,
      view: view({ id: `n-${kind}` }),
      slack: ref,
      key: `${kind}:wait-1:1`,
      escalateTo: ['slack:U0LEAD'],
    });
    expect(await rejectionOf(notifier.notify(first, options()))).toBeInstanceOf(NotifyError);
    await notifier.notify(first, { ...options(), attempt: 2 });
    await notifier.notify(first, { ...options(), attempt: 3 });
    const posted = () => slack.thread(ref!.channel, ref!.ts).filter((m) => m.text.includes(text));
    expect(posted()).toHaveLength(1);
    expect(posted()[0]!.metadata).toEqual({
      event_type: 'andon_thread_post',
      event_payload: { session_id: `n-${kind}`, key: `${kind}:wait-1:1` },
    });
    // The next one (another key) is a post of its own, on a retry too.
    await notifier.notify({ ...first, key: `${kind}:wait-1:2` }, { ...options(), attempt: 2 });
    expect(posted()).toHaveLength(2);
    // A session from before keys: the key comes from its view, the same on every attempt.
    const legacy = { ...first, key: undefined, view: view({ id: `n-${kind}`, lastSeq: 9 }) };
    await notifier.notify(legacy, options());
    await notifier.notify(legacy, { ...options(), attempt: 2 });
    expect(posted()).toHaveLength(3);
  });

  describe('a tool call to review', () => {
    const review: Review = {
      id: 'review-9',
      stepId: 's1',
      toolCallId: 'call_1',
      tool: 'restart',
      arguments: { service: 'payments' },
      reason: 'outsidePlan',
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    const waiting = (overrides: Partial<SessionView> = {}) =>
      view({ state: 'awaitingUserFeedback', currentStep: 0, pendingReviews: [review], ...overrides });

    it('updates the session message, then asks in its thread, also sent to the channel, with the buttons', async () => {
      const { slack: ref } = await notifier.notify(notification({}), options());
      const result = await notifier.notify(notification({ kind: 'reviewRequested', view: waiting(), review, slack: ref }), options());
      // The review message is no session message: the session keeps its own.
      expect(result).toEqual({});
      const session = slack.messages.get(`${ref!.channel}:${ref!.ts}`)!;
      expect(session.history).toHaveLength(1);
      expect(session.text).toBe('disk full on db-7: 1 tool call awaits review');
      const asked = at(slack.thread(ref!.channel, ref!.ts), 0);
      expect(asked).toMatchObject({
        broadcast: true,
        text: 'Review a tool call in disk full on db-7: restart (outside the approved plan)',
      });
      expect(JSON.stringify(asked.blocks)).toContain('andon_review_approve');
      expect(JSON.stringify(asked.blocks)).toContain('\\"service\\": \\"payments\\"');
    });

    it('is posted once when a retry follows a post whose answer was lost', async () => {
      const { slack: ref } = await notifier.notify(notification({}), options());
      slack.fail({ method: 'chat.postMessage', status: 500, afterApply: true, times: 1, when: (args) => args.thread_ts === ref!.ts });
      const asking = notification({ kind: 'reviewRequested', view: waiting(), review, slack: ref });
      expect(await rejectionOf(notifier.notify(asking, options()))).toBeInstanceOf(NotifyError);
      await notifier.notify(asking, { ...options(), attempt: 2 });
      expect(slack.thread(ref!.channel, ref!.ts)).toHaveLength(1);
      // Another review is its own message.
      await notifier.notify({ ...asking, review: { ...review, id: 'review-10' } }, { ...options(), attempt: 2 });
      expect(slack.thread(ref!.channel, ref!.ts)).toHaveLength(2);
    });

    it('posts in the channel when the session has no message', async () => {
      const before = slack.callsOf('chat.update').length;
      const result = await notifier.notify(
        notification({ kind: 'reviewRequested', targets: { slack: { channel: '#noplan' } }, view: waiting(), review }),
        options(),
      );
      expect(result).toEqual({});
      expect(slack.callsOf('chat.update').length).toBe(before);
      expect(slack.posts('CNOPLAN').map((m) => m.text)).toEqual([
        'Review a tool call in disk full on db-7: restart (outside the approved plan)',
      ]);
    });

    it('posts a call decided before it could be posted without buttons, and not to the channel', async () => {
      const { slack: ref } = await notifier.notify(notification({}), options());
      await notifier.notify(
        notification({ kind: 'reviewRequested', view: waiting({ state: 'inProgress', pendingReviews: [] }), review, slack: ref }),
        options(),
      );
      const asked = at(slack.thread(ref!.channel, ref!.ts), 0);
      expect(asked.broadcast).toBe(false);
      expect(JSON.stringify(asked.blocks)).not.toContain('andon_review_approve');
      expect(JSON.stringify(asked.blocks)).toContain('No longer awaits review');
    });

    it('still asks when the session message cannot be updated, and fails (to be retried) when the question cannot be posted', async () => {
      const { slack: ref } = await notifier.notify(notification({}), options());
      const warnings: string[] = [];
      const warned = new SlackNotifier({ botToken: TOKEN, apiUrl: slack.apiUrl, warn: (m) => warnings.push(m) });
      slack.fail({ method: 'chat.update', error: 'message_not_found', times: 1 });
      await warned.notify(notification({ kind: 'reviewRequested', view: waiting(), review, slack: ref }), options());
      expect(slack.thread(ref!.channel, ref!.ts)).toHaveLength(1);
      expect(warnings).toEqual([expect.stringContaining('message_not_found')]);

      slack.fail({ method: 'chat.postMessage', status: 429, retryAfter: 2, times: 1 });
      const limited = (await rejectionOf(
        warned.notify(notification({ kind: 'reviewRequested', view: waiting(), review, slack: ref }), options()),
      )) as NotifyError;
      expect(limited.options).toMatchObject({ retryable: true, retryAfterMs: 2_000 });
    });
  });

  it('still posts when who decided cannot be read', async () => {
    const warnings: string[] = [];
    const blind = new SlackNotifier({
      botToken: TOKEN,
      apiUrl: slack.apiUrl,
      facts: async () => Promise.reject(new Error('no worker')),
      warn: (m) => warnings.push(m),
    });
    const result = await blind.notify(notification({ kind: 'stateChanged', view: view({ state: 'inProgress' }) }), options());
    expect(result.slack).toBeDefined();
    expect(warnings).toEqual([expect.stringContaining('no worker')]);
  });
});
