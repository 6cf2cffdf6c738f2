/**
 * What andon shows in Slack, rendered from session views without Slack: the plan message with
 * its buttons, how it reads in every state, escaping, Slack's size limits, the reject modal,
 * tool-call reviews and their modals, thread notes and the slash command's grammar.
 */
import type { Review, SessionView } from '../../src/session/schema';
import {
  agentReplyMessage,
  awaitsDecisionMessage,
  escalationMessage,
  escapeText,
  rejectModal,
  reminderMessage,
  reviewDenyModal,
  reviewEditModal,
  reviewList,
  reviewMessage,
  sessionLink,
  sessionList,
  sessionMessage,
  statusLine,
  usageText,
  who,
  type ReviewVerdict,
} from '../../src/slack/blocks';
import { parseCommand } from '../../src/slack/commands';
import { factsFrom } from '../../src/slack/facts';
import { ACTION, ButtonValue, REJECT_VIEW, REVIEW_VIEW, ReviewButtonValue, ReviewMetadata } from '../../src/slack/ids';
import { at } from '../support/at';

function view(overrides: Partial<SessionView> = {}): SessionView {
  return {
    id: 'alert-am-abc',
    state: 'awaitingPlanApproval',
    title: 'checkout-api error rate above 5%',
    prompt: 'investigate',
    context: { service: 'checkout-api', severity: 'critical' },
    requirePlanApproval: true,
    requestedBy: 'webhook:alertmanager',
    createTime: '2026-01-01T00:00:00.000Z',
    updateTime: '2026-01-01T00:01:00.000Z',
    plan: {
      id: 'plan-1',
      hash: 'abcdef0123456789',
      title: 'Roll back checkout-api',
      steps: [
        { id: 'plan-1-step-1', index: 0, title: 'Check the deploy', description: 'compare v1.42 with v1.41' },
        { id: 'plan-1-step-2', index: 1, title: 'Roll back', description: '' },
      ],
    },
    pauseRequested: false,
    outputs: [],
    lastSeq: 5,
    pendingMessages: 0,
    pendingReviews: [],
    alert: {
      source: 'alertmanager',
      fingerprint: 'abc',
      status: 'firing',
      summary: 'error rate 7%',
      firstReceived: '2026-01-01T00:00:00.000Z',
      lastReceived: '2026-01-01T00:00:00.000Z',
      deliveries: 1,
    },
    ...overrides,
  };
}

type Block = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Slack's JSON, read by path in assertions
const blocksOf = (v: SessionView, url?: string) => sessionMessage(v, { sessionUrl: url }).blocks as Block[];
const allText = (blocks: Block[]) => JSON.stringify(blocks);
const buttons = (blocks: Block[]) => blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as Block[]);

describe('the session message', () => {
  it('shows the title, alert context, the steps, Approve and Reject carrying the plan, and the Temporal UI link', () => {
    const url = sessionLink('http://localhost:8233/', 'default', 'alert-am-abc');
    expect(url).toBe('http://localhost:8233/namespaces/default/workflows/alert-am-abc');
    const message = sessionMessage(view(), { sessionUrl: url });
    const blocks = message.blocks as Block[];
    expect(message.text).toBe('checkout-api error rate above 5%: the plan awaits approval');
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'checkout-api error rate above 5%', emoji: true } });
    expect(blocks[1]?.type).toBe('context');
    expect(allText([at(blocks, 1)])).toContain('*firing* alert from alertmanager: error rate 7%');
    expect(allText([at(blocks, 1)])).toContain('service=`checkout-api`');
    const text = allText(blocks);
    expect(text).toContain('The plan awaits approval');
    expect(text).toContain('1. *Check the deploy* — compare v1.42 with v1.41');
    expect(text).toContain('2. *Roll back*');

    const shown = buttons(blocks);
    const [approve, reject, open] = [at(shown, 0), at(shown, 1), at(shown, 2)];
    expect(approve).toMatchObject({ action_id: ACTION.approve, style: 'primary', text: { text: 'Approve' } });
    expect(reject).toMatchObject({ action_id: ACTION.reject, style: 'danger' });
    for (const button of [approve, reject]) {
      expect(ButtonValue.parse(JSON.parse(button.value))).toEqual({
        sessionId: 'alert-am-abc',
        planId: 'plan-1',
        planHash: 'abcdef0123456789',
      });
    }
    expect(open).toMatchObject({ action_id: ACTION.open, url });
    expect(text).toContain(`<${url}|Temporal UI>`);
  });

  it('drops the decision buttons once the plan is decided, and says who decided', () => {
    const running = view({ state: 'inProgress', currentStep: 1 });
    expect(buttons(blocksOf(running)).map((b) => b.action_id)).toEqual([]);
    const line = statusLine(running, { approvals: [{ by: 'slack:U0ALICE' }] });
    expect(line).toBe(':gear: *Running* step 2/2: Roll back. Approved by <@U0ALICE>.');
    const steps = allText(blocksOf(running));
    expect(steps).toContain(':white_check_mark: 1. *Check the deploy*');
    expect(steps).toContain(':arrow_forward: 2. *Roll back*');
  });

  it('reads right in every state', () => {
    expect(statusLine(view({ state: 'planning' }))).toContain('Planning');
    expect(
      statusLine(view({ state: 'planning' }), { approvals: [], rejection: { by: 'slack:U1', reason: 'too risky', replan: true } }),
    ).toBe(':thinking_face: *Re-planning*: <@U1> rejected the plan: too risky');
    expect(statusLine(view({ state: 'paused', currentStep: 1 }), { approvals: [], pausedBy: 'cli:bob' })).toContain('*Paused* by cli:bob');
    const done = statusLine(
      view({
        state: 'completed',
        summary: 'rolled back to v1.41',
        outputs: [
          { type: 'pullRequest', pullRequest: { url: 'https://github.com/acme/checkout/pull/7', title: 'Pin v1.41', description: '' } },
        ],
      }),
    );
    expect(done).toContain(':white_check_mark: *Done*');
    expect(done).toContain('rolled back to v1.41');
    expect(done).toContain('<https://github.com/acme/checkout/pull/7|Pin v1.41>');
    expect(statusLine(view({ state: 'failed', reason: 'the agent crashed' }))).toBe(':x: *Failed*: the agent crashed');
    expect(
      statusLine(view({ state: 'cancelled', reason: 'plan plan-1 rejected: no' }), {
        approvals: [],
        rejection: { by: 'slack:U2', reason: 'no', replan: false },
      }),
    ).toBe(':no_entry_sign: *Rejected* by <@U2>: no');
    expect(statusLine(view({ state: 'cancelled', reason: 'wrong service' }), { approvals: [], cancelledBy: 'api:alice' })).toBe(
      ':no_entry_sign: *Cancelled* by api:alice: wrong service',
    );
    expect(
      statusLine(view({ state: 'cancelled', reason: 'no decision on plan plan-1 before the deadline' }), {
        approvals: [],
        cancelledBy: 'policy:deadline',
      }),
    ).toContain('by the deadline policy');
  });

  it('shows approvals so far, the deadline and escalation while more approvals are needed', () => {
    const line = statusLine(
      view({
        approval: {
          planId: 'plan-1',
          required: 2,
          approvals: [{ person: 'alice', by: 'slack:U0ALICE', time: '2026-01-01T00:02:00.000Z' }],
          escalated: true,
          deadline: '2026-01-01T01:00:00.000Z',
        },
      }),
    );
    expect(line).toContain('1 of 2 approvals: <@U0ALICE>');
    expect(line).toContain(`<!date^${Date.parse('2026-01-01T01:00:00.000Z') / 1000}^`);
    expect(line).toContain('escalated');
    const deadline = { planId: 'plan-1', required: 1, approvals: [], escalated: false, deadline: '2026-01-01T01:00:00.000Z' };
    expect(reminderMessage(view({ approval: deadline })).text).toMatch(/still awaits approval\. Decide by <!date\^\d+\^/);
  });

  it('escapes what agents, alerts and people wrote, so nothing can ping a channel or forge a link', () => {
    const hostile = view({
      title: 'disk <!channel> & more',
      plan: { id: 'plan-1', steps: [{ id: 's', index: 0, title: '<!here> step', description: '<https://evil.example|click>' }] },
    });
    const text = allText(blocksOf(hostile));
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<https://evil.example');
    expect(text).toContain('&lt;!here&gt; step');
    expect(escapeText('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
    // The header is plain text: Slack shows it as is.
    expect(blocksOf(hostile)[0]?.text.text).toBe('disk <!channel> & more');
  });

  it("stays inside Slack's limits for long plans and long text", () => {
    const steps = Array.from({ length: 60 }, (_, index) => ({
      id: `s${index}`,
      index,
      title: `Step ${index} ${'x'.repeat(150)}`,
      description: 'y'.repeat(1_000),
    }));
    const blocks = blocksOf(view({ title: 'T'.repeat(400), plan: { id: 'plan-1', steps } }));
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(blocks[0]?.text.text.length).toBeLessThanOrEqual(150);
    for (const block of blocks) if (block.type === 'section') expect(block.text.text.length).toBeLessThanOrEqual(3_000);
    expect(allText(blocks)).toContain('…and 35 more steps');
    expect(agentReplyMessage('z'.repeat(50_000)).text.length).toBeLessThanOrEqual(40_000);
  });

  it('names people as Slack shows them: users and user groups as mentions, others as text', () => {
    expect(who('slack:U0123ABC')).toBe('<@U0123ABC>');
    expect(who('slack:W0123ABC')).toBe('<@W0123ABC>');
    expect(who('slack:S0ONCALL')).toBe('<!subteam^S0ONCALL>');
    expect(who('api:alice')).toBe('api:alice');
    expect(who('group:<oncall>')).toBe('group:&lt;oncall&gt;');
    expect(escalationMessage(view(), ['slack:S0ONCALL', 'group:sre']).text).toMatch(
      /^:rotating_light: <!subteam\^S0ONCALL> group:sre: nobody has decided/,
    );
  });
});

describe('a code session on the session message', () => {
  const workspace = {
    source: 'github:acme/checkout@main',
    branch: 'main',
    baseCommit: '0123456789abcdef0123456789abcdef01234567',
    changes: [] as { path: string; changeType: 'created' | 'modified' | 'deleted'; additions: number; deletions: number }[],
  };
  const contextTexts = (blocks: Block[]) => blocks.filter((b) => b.type === 'context').map((b) => b.elements[0].text as string);

  it('shows the source, the branch and the short base commit', () => {
    const blocks = blocksOf(view({ workspace }));
    expect(contextTexts(blocks)).toContain(':file_folder: `github:acme/checkout@main` · main at `0123456`');
    expect(allText(blocks)).not.toContain('0123456789abcdef');
  });

  it('once files changed, the diff stats: files, lines added and removed, the first files by name', () => {
    const changes = [
      { path: 'src/rate.ts', changeType: 'modified' as const, additions: 1, deletions: 1 },
      { path: 'src/rate.test.ts', changeType: 'created' as const, additions: 12, deletions: 0 },
      ...Array.from({ length: 5 }, (_, i) => ({ path: `gen/${i}.ts`, changeType: 'deleted' as const, additions: 0, deletions: 3 })),
    ];
    const text = contextTexts(blocksOf(view({ state: 'inProgress', currentStep: 1, workspace: { ...workspace, changes } }))).join('\n');
    expect(text).toContain(':pencil2: 7 files changed, +13 −16: `src/rate.ts` +1 −1, `src/rate.test.ts` +12 −0, `gen/0.ts` +0 −3');
    expect(text).toContain('…and 2 more');
  });

  it('once published, the branch and the pull request link; done, the status line links it', () => {
    const published = {
      branch: 'andon/alert-am-abc',
      commit: 'fedcba9876543210fedcba9876543210fedcba98',
      pullRequest: { url: 'https://github.com/acme/checkout/pull/7', title: 'Fix <rate> & guard' },
    };
    const running = contextTexts(blocksOf(view({ state: 'inProgress', currentStep: 1, workspace: { ...workspace, published } }))).join(
      '\n',
    );
    expect(running).toContain(
      ':arrow_up: pushed `andon/alert-am-abc` at `fedcba9` · :link: <https://github.com/acme/checkout/pull/7|Fix &lt;rate&gt; &amp; guard>',
    );
    const done = blocksOf(
      view({
        state: 'completed',
        summary: 'fixed',
        outputs: [{ type: 'pullRequest', pullRequest: { ...published.pullRequest, description: '' } }],
        workspace: { ...workspace, published },
      }),
    );
    expect(contextTexts(done).join('\n')).toContain(':arrow_up: pushed `andon/alert-am-abc` at `fedcba9`');
    // One link, in the status line.
    expect(allText(done).match(/pull\/7\|/g)).toHaveLength(1);
  });

  it('a change set awaiting approval gets Approve and Reject carrying the diff seen; its reject modal offers no re-plan', () => {
    const changes = [{ path: 'src/rate.ts', changeType: 'modified' as const, additions: 2, deletions: 1 }];
    const awaiting = view({ state: 'awaitingChangeApproval', workspace: { ...workspace, changes, changeSetHash: 'c0ffee1234' } });
    const blocks = blocksOf(awaiting);
    const [approve, reject] = buttons(blocks);
    expect(approve).toMatchObject({ action_id: ACTION.approve, text: { text: 'Approve the change' }, style: 'primary' });
    expect(approve?.confirm.text.text).toContain('1 file changed, +2 −1');
    expect(reject).toMatchObject({ action_id: ACTION.reject, style: 'danger' });
    const value = ButtonValue.parse(JSON.parse(approve?.value as string));
    expect(value).toEqual({ sessionId: 'alert-am-abc', planId: 'plan-1', changeSetHash: 'c0ffee1234' });
    expect(JSON.parse(reject?.value as string)).toEqual(value);
    expect(blocks.find((b) => b.type === 'actions')?.block_id).toBe('andon_actions:change:c0ffee1234');

    const modal = rejectModal({ ...value, channel: 'C1' });
    expect(modal.title.text).toBe('Reject the change');
    expect(JSON.stringify(modal.blocks)).not.toContain(REJECT_VIEW.replanBlock);
    expect(JSON.parse(modal.private_metadata ?? '{}')).toMatchObject({ changeSetHash: 'c0ffee1234' });
    // The plan's buttons are gone: it was approved long ago.
    expect(allText(blocks)).not.toContain('Approve this plan?');
  });

  it('the thread note, reminder and escalation for a change set name the change set, not a plan', () => {
    const changes = [
      { path: 'src/rate.ts', changeType: 'modified' as const, additions: 2, deletions: 1 },
      { path: 'NOTES.md', changeType: 'created' as const, additions: 3, deletions: 0 },
    ];
    const awaiting = view({ state: 'awaitingChangeApproval', workspace: { ...workspace, changes, changeSetHash: 'c0ffee1234' } });
    expect(awaitsDecisionMessage(awaiting).text).toBe(
      ':mag: The change set (2 files changed, +5 −1) awaits approval before it is published: see the message above.',
    );
    expect(reminderMessage(awaiting).text).toMatch(/^:alarm_clock: Reminder: the change set for \*checkout-api/);
    expect(escalationMessage(awaiting, ['slack:U0LEAD']).text).toMatch(/nobody has decided on the change set for/);
    // A re-plan still reads as one.
    expect(awaitsDecisionMessage(view()).text).toBe(':memo: A new plan (`plan-1`) awaits approval: see the message above.');
    expect(reminderMessage(view()).text).toMatch(/the plan for/);
  });

  it('a session without a source shows no workspace line', () => {
    expect(allText(blocksOf(view()))).not.toContain(':file_folder:');
  });

  it('a change awaiting approval, and any state this build does not know, still read as something', () => {
    const changes = [{ path: 'src/rate.ts', changeType: 'modified' as const, additions: 2, deletions: 1 }];
    const awaiting = view({ state: 'awaitingChangeApproval', workspace: { ...workspace, changes } });
    expect(statusLine(awaiting)).toBe(':mag: *The change set awaits approval* before it is published.');
    expect(sessionMessage(awaiting).text).toBe('checkout-api error rate above 5%: the change set awaits approval');
    // The diff it waits on is on the message too.
    expect(allText(blocksOf(awaiting))).toContain(':pencil2: 1 file changed, +2 −1');
    const future = view({ state: 'awaitingSomethingNew' as SessionView['state'] });
    expect(statusLine(future)).toBe(':grey_question: *Awaiting something new*');
    expect(sessionMessage(future).text).toBe('checkout-api error rate above 5%: awaiting something new');
  });
});

describe('facts from the timeline', () => {
  it("names the current plan's approvers, the latest rejection, pause, cancel and the agent's own question", () => {
    const base = { time: '2026-01-01T00:00:00.000Z', originator: 'user' as const };
    const facts = factsFrom(
      [
        { ...base, seq: 1, type: 'planApproved', planId: 'plan-0', by: 'slack:U0OLD' },
        { ...base, seq: 2, type: 'agentMessaged', originator: 'agent', message: 'Which host?' },
        { ...base, seq: 3, type: 'agentMessaged', originator: 'agent', message: 'echo', inReplyTo: 'm1' },
        { ...base, seq: 4, type: 'planRejected', planId: 'plan-0', by: 'slack:U0REJ', reason: 'no', replan: true },
        { ...base, seq: 5, type: 'approvalRecorded', planId: 'plan-1', by: 'slack:U0A', person: 'a', approvals: 1, required: 2 },
        { ...base, seq: 6, type: 'planApproved', planId: 'plan-1', by: 'slack:U0B' },
        { ...base, seq: 7, type: 'sessionPaused', by: 'cli:bob' },
        { ...base, seq: 8, type: 'sessionCancelled', by: 'api:alice', reason: 'enough' },
      ],
      view(),
    );
    expect(facts).toEqual({
      approvals: [
        { by: 'slack:U0A', comment: undefined },
        { by: 'slack:U0B', comment: undefined },
      ],
      rejection: { by: 'slack:U0REJ', reason: 'no', replan: true },
      pausedBy: 'cli:bob',
      cancelledBy: 'api:alice',
      question: 'Which host?',
    });
    expect(statusLine(view({ state: 'awaitingUserFeedback' }), facts)).toBe(
      ':speech_balloon: *The agent asks*: Which host?\nAnswer in the thread.',
    );
  });
});

describe('the reject modal', () => {
  it('asks why, offers a re-plan, and carries the plan and where to answer', () => {
    const modal = rejectModal({ sessionId: 's-1', planId: 'plan-2', channel: 'C1', responseUrl: 'https://hooks.slack.com/actions/x' });
    expect(modal).toMatchObject({ type: 'modal', callback_id: REJECT_VIEW.callbackId });
    expect(JSON.parse(modal.private_metadata!)).toEqual({
      sessionId: 's-1',
      planId: 'plan-2',
      channel: 'C1',
      responseUrl: 'https://hooks.slack.com/actions/x',
    });
    expect(modal.title.text.length).toBeLessThanOrEqual(24);
    const input = modal.blocks.find((b) => b.type === 'input' && b.block_id === REJECT_VIEW.reasonBlock) as Block;
    expect(input.element).toMatchObject({ type: 'plain_text_input', action_id: REJECT_VIEW.reasonAction, min_length: 1 });
    const replan = modal.blocks.find((b) => b.type === 'input' && b.block_id === REJECT_VIEW.replanBlock) as Block;
    expect(replan).toMatchObject({ optional: true, element: { type: 'checkboxes', action_id: REJECT_VIEW.replanAction } });
  });
});

describe('the slash command', () => {
  it.each([
    ['', { kind: 'help' }],
    ['help', { kind: 'help' }],
    ['status demo-1', { kind: 'status', sessionId: 'demo-1' }],
    ['list', { kind: 'list', states: [] }],
    ['list awaitingPlanApproval paused', { kind: 'list', states: ['awaitingPlanApproval', 'paused'] }],
    ['approve demo-1', { kind: 'approve', sessionId: 'demo-1', planId: undefined, comment: undefined }],
    ['approve demo-1 plan-2 looks right', { kind: 'approve', sessionId: 'demo-1', planId: 'plan-2', comment: 'looks right' }],
    ['approve demo-1 ship it', { kind: 'approve', sessionId: 'demo-1', planId: undefined, comment: 'ship it' }],
    ['reject demo-1 too risky at peak', { kind: 'reject', sessionId: 'demo-1', reason: 'too risky at peak', replan: false }],
    ['reject demo-1 --replan try a canary', { kind: 'reject', sessionId: 'demo-1', reason: 'try a canary', replan: true }],
    ['ask demo-1 why roll back &amp; not restart?', { kind: 'ask', sessionId: 'demo-1', question: 'why roll back & not restart?' }],
    ['reviews', { kind: 'reviews' }],
  ])('reads "%s"', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });

  it.each([['status'], ['reject demo-1'], ['reject demo-1 --replan'], ['ask demo-1'], ['approve'], ['list nonsense'], ['frobnicate x']])(
    'answers "%s" with usage',
    (text) => {
      expect(parseCommand(text)).toMatchObject({ kind: 'usage', message: expect.any(String) });
    },
  );

  it('lists sessions one a line', () => {
    const list = sessionList([{ id: 'a', state: 'paused', title: 'disk <full>', createTime: '', status: 'RUNNING' }], 'open');
    expect(list.text).toBe('*1 open session*\n• `a` paused: disk &lt;full&gt;');
    expect(sessionList([], 'open').text).toBe('No open sessions.');
  });
});

describe('tool-call reviews', () => {
  const review = (overrides: Partial<Review> = {}): Review => ({
    id: 'review-12',
    stepId: 'plan-1-step-2',
    toolCallId: 'call_1',
    tool: 'restart',
    arguments: { service: 'payments' },
    reason: 'outsidePlan',
    createdAt: '2026-01-01T00:02:00.000Z',
    ...overrides,
  });
  const running = view({ state: 'awaitingUserFeedback', currentStep: 1 });

  it('shows the tool, its step, why it is reviewed, its arguments as code, and Approve, Deny, Edit carrying the review', () => {
    const message = reviewMessage(running, review({ expiresAt: '2026-01-01T04:02:00.000Z' }), { sessionUrl: 'http://ui/x' });
    const blocks = message.blocks as Block[];
    expect(message.text).toBe('Review a tool call in checkout-api error rate above 5%: restart (outside the approved plan)');
    const text = allText(blocks);
    expect(blocks[0]?.text.text).toBe(
      ':raised_hand: *Review a tool call*: the agent wants to run `restart` (step 2/2: Roll back).\n*Why*: it is outside the approved plan (the plan does not allow this call).',
    );
    expect(blocks[1]?.text.text).toBe('```\n{\n  "service": "payments"\n}\n```');
    expect(text).toContain('Review `review-12` of session `alert-am-abc`');
    expect(text).toContain(`denied on its own <!date^${Date.parse('2026-01-01T04:02:00.000Z') / 1000}^`);
    expect(text).toContain('<http://ui/x|Temporal UI>');

    const shown = buttons(blocks);
    const [approve, deny, edit] = [at(shown, 0), at(shown, 1), at(shown, 2)];
    expect(approve).toMatchObject({ action_id: ACTION.reviewApprove, style: 'primary', confirm: { confirm: { text: 'Run it' } } });
    expect(deny).toMatchObject({ action_id: ACTION.reviewDeny, style: 'danger', text: { text: 'Deny…' } });
    expect(edit).toMatchObject({ action_id: ACTION.reviewEdit, text: { text: 'Edit…' } });
    for (const button of [approve, deny, edit]) {
      expect(ReviewButtonValue.parse(JSON.parse(button.value))).toEqual({
        sessionId: 'alert-am-abc',
        reviewId: 'review-12',
        tool: 'restart',
      });
    }
  });

  it('says when a tool is risky', () => {
    const message = reviewMessage(running, review({ tool: 'flushCache', reason: 'risky' }));
    expect(message.text).toMatch(/flushCache \(a risky tool\)$/);
    expect(allText(message.blocks as Block[])).toContain(
      '*Why*: `flushCache` is a risky tool: every call to it is reviewed, in the plan or not.',
    );
  });

  it('escapes and bounds the arguments: no pings, no early end of the code block, inside Slack limits', () => {
    const hostile = review({
      tool: '<!channel>',
      arguments: { note: '<!here> ``` & <https://evil.example|x>', blob: 'x'.repeat(10_000), amp: '&'.repeat(3_000) },
    });
    const blocks = reviewMessage(running, hostile).blocks as Block[];
    // What Slack renders (button values are data, never shown).
    const text = allText(blocks.filter((b) => b.type !== 'actions'));
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<https://evil.example');
    for (const block of blocks) if (block.type === 'section') expect(block.text.text.length).toBeLessThanOrEqual(3_000);
    const code: string = at(blocks, 1).text.text;
    expect(code.startsWith('```\n') && code.endsWith('…\n```')).toBe(true);
    // The fences are the only three backticks in a row.
    expect(code.match(/```/g)).toHaveLength(2);
    // Cut on whole entities.
    expect(code).not.toMatch(/&[a-z]{0,3}…/);
  });

  it('once decided, says who decided what instead of offering the buttons', () => {
    const decided = (verdict: ReviewVerdict) => reviewMessage(running, review(), { verdict });
    const approved = decided({ decision: 'approve', by: 'slack:U0ALICE' });
    expect(buttons(approved.blocks as Block[])).toEqual([]);
    expect(approved.text).toBe('restart in checkout-api error rate above 5%: approved by slack:U0ALICE');
    expect(allText(approved.blocks as Block[])).toContain(':white_check_mark: *Approved* by <@U0ALICE>. The call runs as shown.');
    expect(allText(approved.blocks as Block[])).toContain(':wrench: The agent asked to run `restart` (step 2/2: Roll back).');
    expect(allText(approved.blocks as Block[])).not.toContain('denied on its own');

    expect(allText(decided({ decision: 'deny', by: 'slack:U0BOB', reason: 'not <now>' }).blocks as Block[])).toContain(
      ':no_entry_sign: *Denied* by <@U0BOB>: not &lt;now&gt;. The agent reads why.',
    );
    const edited = allText(decided({ decision: 'edit', by: 'cli:carol', arguments: { service: 'checkout-api' } }).blocks as Block[]);
    expect(edited).toContain(
      ':pencil2: *Edited* by cli:carol. The call runs with:\\n```\\n{\\n  \\"service\\": \\"checkout-api\\"\\n}\\n```',
    );
    expect(
      allText(decided({ decision: 'deny', by: 'policy:review-expired', reason: 'nobody reviewed this call in time' }).blocks as Block[]),
    ).toContain('*Denied* by the review deadline: nobody reviewed this call in time.');
    expect(allText(decided({ closed: 'the session is cancelled.' }).blocks as Block[])).toContain(
      '*No longer awaits review*: the session is cancelled.',
    );
  });

  it('shows on the session message how many calls await review, and the usage against the budget', () => {
    const pending = [review(), review({ id: 'review-13', toolCallId: 'call_2' })];
    const waiting = view({ state: 'awaitingUserFeedback', currentStep: 1, pendingReviews: pending });
    const message = sessionMessage(waiting);
    expect(message.text).toBe('checkout-api error rate above 5%: 2 tool calls await review');
    // The model's text of that turn is no question to answer.
    expect(statusLine(waiting, { approvals: [], question: 'I will restart payments.' })).toBe(
      ':raised_hand: *2 tool calls await review*: decide in the thread.',
    );
    expect(statusLine(view({ state: 'awaitingUserFeedback', pendingReviews: [review()] }))).toBe(
      ':raised_hand: *1 tool call awaits review*: decide in the thread.',
    );
    // Paused with a call still to decide: both show.
    const paused = allText(blocksOf(view({ state: 'paused', currentStep: 1, pendingReviews: [review()] })));
    expect(paused).toContain('*Paused*');
    expect(paused).toContain('*1 tool call awaits review*');
    expect(allText(blocksOf(view({ state: 'cancelled', reason: 'x', pendingReviews: [review()] })))).not.toContain('await');

    const usage = { inputTokens: 1_200, outputTokens: 300, costUsd: 0.0021 };
    expect(usageText({ usage, budget: { tokens: 200_000, costUsd: 2 } })).toBe('used 1,500 of 200,000 tokens, $0.0021 of $2.00');
    expect(usageText({ usage: { ...usage, costUsd: 0 } })).toBe('used 1,500 tokens');
    expect(usageText({ usage: { ...usage, costUsd: 0.25 }, budget: { costUsd: 5 } })).toBe('used 1,500 tokens, $0.25 of $5.00');
    expect(usageText({})).toBeUndefined();
    const footer = blocksOf(view({ state: 'inProgress', currentStep: 0, usage, budget: { tokens: 200_000 } })).at(-1)!;
    expect(allText([footer])).toContain('used 1,500 of 200,000 tokens, $0.0021');
    expect(allText(blocksOf(view()))).not.toContain('tokens');
  });

  it('asks why in the deny modal, and offers the arguments as JSON in the edit modal, carrying the review and where to answer', () => {
    const metadata = {
      sessionId: 's-1',
      reviewId: 'review-12',
      tool: 'restart',
      channel: 'C1',
      messageTs: '1.2',
      responseUrl: 'https://hooks.slack.com/actions/x',
    };
    const deny = reviewDenyModal(metadata, 'restart');
    expect(deny).toMatchObject({ type: 'modal', callback_id: REVIEW_VIEW.denyCallbackId, submit: { text: 'Deny' } });
    expect(ReviewMetadata.parse(JSON.parse(deny.private_metadata!))).toEqual(metadata);
    expect(deny.title.text.length).toBeLessThanOrEqual(24);
    const reason = deny.blocks.find((b) => b.type === 'input') as Block;
    expect(reason).toMatchObject({
      block_id: REVIEW_VIEW.reasonBlock,
      element: { type: 'plain_text_input', action_id: REVIEW_VIEW.reasonBlock, min_length: 1 },
    });
    expect(reason.optional).toBeUndefined();

    const edit = reviewEditModal(metadata, review({ arguments: { service: 'payments', force: true } }));
    expect(edit).toMatchObject({ type: 'modal', callback_id: REVIEW_VIEW.editCallbackId });
    expect(edit.title.text.length).toBeLessThanOrEqual(24);
    expect(edit.submit!.text.length).toBeLessThanOrEqual(24);
    expect(ReviewMetadata.parse(JSON.parse(edit.private_metadata!))).toEqual(metadata);
    const input = edit.blocks.find((b) => b.type === 'input') as Block;
    expect(input).toMatchObject({
      block_id: REVIEW_VIEW.argumentsBlock,
      element: { action_id: REVIEW_VIEW.argumentsBlock, multiline: true, max_length: 3_000 },
    });
    expect(JSON.parse(input.element.initial_value)).toEqual({ service: 'payments', force: true });
  });

  it('lists the reviews waiting across sessions for /andon reviews', () => {
    const list = reviewList([
      { ...review(), sessionId: 'alert-1', sessionTitle: 'checkout <5xx>' },
      { ...review({ id: 'review-3', tool: 'flushCache', reason: 'risky', arguments: {} }), sessionId: 'alert-2', sessionTitle: 'cache' },
    ]);
    const [heading, first, second] = list.text.split('\n');
    expect(heading).toBe("*2 tool calls await review*: decide with the buttons in each session's thread.");
    expect(first).toMatch(
      /^• `restart` `\{"service":"payments"\}` \(outside the plan\) in \*checkout &lt;5xx&gt;\* · `alert-1` `review-12` · since <!date\^\d+\^/,
    );
    expect(second).toMatch(/^• `flushCache` `\{\}` \(risky tool\) in \*cache\*/);
    expect(reviewList([]).text).toBe('No tool calls await review.');
  });
});
