/**
 * The review interactions without Slack or Temporal: what each click and submission answers
 * Slack at once, and what happens after, with the session's verdicts stubbed, including the
 * cases the end-to-end test cannot time: a verdict that comes after the modal had to be answered.
 */
import type { ReviewAttempt, SessionActions } from '../../src/slack/actions';
import type { SlackMessage } from '../../src/slack/blocks';
import { InteractionHandler } from '../../src/slack/interactions';
import { ACTION, REVIEW_VIEW, type ReviewMetadata } from '../../src/slack/ids';
import type { Audience, Responder } from '../../src/slack/respond';
import type { WebClient } from '@slack/web-api';
import { first } from '../support/at';

interface Stubs {
  review?: () => Promise<ReviewAttempt>;
  reviewNow?: SessionActions['reviewNow'];
  pendingReview?: SessionActions['pendingReview'];
}

function handler(stubs: Stubs, editAnswerMs = 50) {
  const told: { audience: Audience; message: SlackMessage }[] = [];
  const updated: Record<string, unknown>[] = [];
  const opened: Record<string, unknown>[] = [];
  const decided: unknown[] = [];
  const actions = {
    review: async (user: string, input: unknown) => {
      decided.push({ user, ...(input as object) });
      return stubs.review ? stubs.review() : { kind: 'decided', view: {} };
    },
    reviewNow: stubs.reviewNow ?? (async () => ({ message: { text: 'decided' }, verdict: { decision: 'approve', by: 'slack:U1' } })),
    pendingReview: stubs.pendingReview ?? (async () => undefined),
    // The clicks and submissions here come from the session's channel, C1.
    isSessionChannel: async (_sessionId: string, channel: string | undefined) => channel === 'C1',
  } as unknown as SessionActions;
  const web = {
    chat: { update: async (args: Record<string, unknown>) => updated.push(args) },
    views: { open: async (args: Record<string, unknown>) => opened.push(args) },
  } as unknown as WebClient;
  const responder = {
    tell: async (audience: Audience, message: SlackMessage) => void told.push({ audience, message }),
  } as unknown as Responder;
  return { interactions: new InteractionHandler(actions, web, responder, { editAnswerMs }), told, updated, opened, decided };
}

const metadata: ReviewMetadata = {
  sessionId: 's-1',
  reviewId: 'review-4',
  tool: 'restart',
  channel: 'C1',
  messageTs: '10.1',
  responseUrl: 'http://respond/1',
};

function editSubmission(text: string | null, meta: ReviewMetadata = metadata) {
  return {
    type: 'view_submission',
    user: { id: 'U0CAROL' },
    view: {
      callback_id: REVIEW_VIEW.editCallbackId,
      private_metadata: JSON.stringify(meta),
      state: { values: { [REVIEW_VIEW.argumentsBlock]: { [REVIEW_VIEW.argumentsBlock]: { type: 'plain_text_input', value: text } } } },
    },
  };
}

function reviewClick(actionId: string, value: unknown = { sessionId: 's-1', reviewId: 'review-4', tool: 'restart' }) {
  return {
    type: 'block_actions',
    user: { id: 'U0ALICE' },
    trigger_id: 'trigger-1',
    response_url: 'http://respond/2',
    channel: { id: 'C1' },
    container: { channel_id: 'C1', message_ts: '10.1' },
    actions: [{ action_id: actionId, value: JSON.stringify(value) }],
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the edit modal', () => {
  it.each([
    ['{"service": ', /^Not valid JSON: /],
    ['', /^Not valid JSON: /],
    ['"checkout-api"', /Expected a JSON object/],
    ['null', /Expected a JSON object/],
    ['[1]', /Expected a JSON object/],
  ])('points at the field for %j without asking the session', async (text, message) => {
    const { interactions, decided } = handler({});
    const ack = await interactions.handle(editSubmission(text));
    expect(ack.body).toEqual({ response_action: 'errors', errors: { [REVIEW_VIEW.argumentsBlock]: expect.stringMatching(message) } });
    expect(ack.after).toBeUndefined();
    expect(decided).toEqual([]);
  });

  it("shows a field the tool's schema refuses in the modal when the verdict comes in time", async () => {
    const { interactions, decided } = handler({
      review: async () => ({
        kind: 'invalid',
        field: 'arguments.service',
        message: 'invalid arguments for restart: service: expected one plain word',
      }),
    });
    const ack = await interactions.handle(editSubmission('{"service": "-rf"}'));
    expect(ack.body).toEqual({
      response_action: 'errors',
      errors: { arguments: 'invalid arguments for restart: service: expected one plain word' },
    });
    expect(decided).toEqual([
      { user: 'U0CAROL', sessionId: 's-1', reviewId: 'review-4', choice: { decision: 'edit', arguments: { service: '-rf' } } },
    ]);
  });

  it('closes the modal when the verdict is late, and tells the person a late refusal', async () => {
    const { interactions, told, updated } = handler({
      review: async () => {
        await sleep(150);
        return { kind: 'invalid', field: 'arguments.service', message: 'invalid arguments for restart: service: expected one plain word' };
      },
    });
    const started = Date.now();
    const ack = await interactions.handle(editSubmission('{"service": "-rf"}'));
    expect(Date.now() - started).toBeLessThan(140);
    expect(ack.body).toBeUndefined();
    await ack.after!();
    expect(told).toEqual([
      {
        audience: { user: 'U0CAROL', channel: 'C1', responseUrl: 'http://respond/1' },
        message: {
          text: ':warning: Your decision on `review-4` was not accepted: invalid arguments for restart: service: expected one plain word. Nothing changed.',
        },
      },
    ]);
    expect(updated).toEqual([]);
  });

  it('updates the review message once accepted, and tells nobody twice', async () => {
    const { interactions, told, updated } = handler({});
    const ack = await interactions.handle(editSubmission('{"service": "checkout-api"}'));
    expect(ack.body).toBeUndefined();
    await ack.after!();
    expect(updated).toEqual([{ channel: 'C1', ts: '10.1', text: 'decided' }]);
    expect(told).toEqual([]);
  });

  it('confirms to the person when the message cannot be updated (no message known)', async () => {
    const { interactions, told, updated } = handler({});
    const ack = await interactions.handle(
      editSubmission('{"service": "checkout-api"}', {
        sessionId: 's-1',
        reviewId: 'review-4',
        channel: 'C1',
        responseUrl: 'http://respond/1',
      }),
    );
    await ack.after!();
    expect(updated).toEqual([]);
    expect(told.map((t) => t.message.text)).toEqual([':white_check_mark: Your decision on `review-4` is recorded.']);
  });
});

describe('the review buttons', () => {
  it('decide nothing from another channel, and tell the person nothing of the session', async () => {
    const { interactions, told, decided, opened } = handler({ pendingReview: async () => ({ id: 'review-4' }) as never });
    for (const actionId of [ACTION.reviewApprove, ACTION.reviewDeny, ACTION.reviewEdit]) {
      const ack = await interactions.handle({ ...reviewClick(actionId), channel: { id: 'C0OTHER' }, container: { channel_id: 'C0OTHER' } });
      await ack.after!();
    }
    const deny = await interactions.handle({
      type: 'view_submission',
      user: { id: 'U0CAROL' },
      view: {
        callback_id: REVIEW_VIEW.denyCallbackId,
        private_metadata: JSON.stringify({ ...metadata, channel: 'C0OTHER' }),
        state: { values: { [REVIEW_VIEW.reasonBlock]: { [REVIEW_VIEW.reasonBlock]: { type: 'plain_text_input', value: 'no' } } } },
      },
    });
    await deny.after!();
    const edit = await interactions.handle(editSubmission('{"service": "x"}', { ...metadata, channel: 'C0OTHER' }));
    await edit.after!();
    expect(decided).toEqual([]);
    expect(opened).toEqual([]);
    expect(told).toHaveLength(5);
    for (const { message } of told)
      expect(message.text).toMatch(/^:no_entry: andon acts on `s-1` only in the channel where it was announced/);
  });

  it('Approve decides at once as the clicker and answers Slack with an empty 200', async () => {
    const { interactions, decided, updated } = handler({});
    const ack = await interactions.handle(reviewClick(ACTION.reviewApprove));
    expect(ack.body).toBeUndefined();
    await ack.after!();
    expect(decided).toEqual([{ user: 'U0ALICE', sessionId: 's-1', reviewId: 'review-4', choice: { decision: 'approve' } }]);
    expect(updated).toEqual([{ channel: 'C1', ts: '10.1', text: 'decided' }]);
  });

  it('Deny opens the modal with where to update and answer', async () => {
    const { interactions, opened, decided } = handler({});
    const ack = await interactions.handle(reviewClick(ACTION.reviewDeny));
    await ack.after!();
    expect(decided).toEqual([]);
    expect(opened).toHaveLength(1);
    const view = first(opened).view as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe(REVIEW_VIEW.denyCallbackId);
    expect(JSON.parse(view.private_metadata)).toEqual({ ...metadata, responseUrl: 'http://respond/2' });
  });

  it('Edit on a call that awaits no review opens nothing and says it was decided', async () => {
    const { interactions, opened, told, updated } = handler({
      reviewNow: async () => ({
        message: { text: 'denied' },
        verdict: { decision: 'deny', by: 'policy:review-expired', reason: 'nobody reviewed this call in time' },
      }),
    });
    const ack = await interactions.handle(reviewClick(ACTION.reviewEdit));
    await ack.after!();
    expect(opened).toEqual([]);
    expect(updated).toEqual([{ channel: 'C1', ts: '10.1', text: 'denied' }]);
    expect(told.map((t) => t.message.text)).toEqual([
      ':information_source: This tool call was already decided: denied by the review deadline. Nothing changed.',
    ]);
  });

  it('Edit refuses arguments too long for a Slack input', async () => {
    const big = {
      id: 'review-4',
      stepId: 's',
      toolCallId: 'c',
      tool: 'restart',
      arguments: { blob: 'x'.repeat(4_000) },
      reason: 'risky' as const,
      createdAt: '',
    };
    const { interactions, opened, told } = handler({ pendingReview: async () => big });
    const ack = await interactions.handle(reviewClick(ACTION.reviewEdit));
    await ack.after!();
    expect(opened).toEqual([]);
    expect(told.map((t) => t.message.text)).toEqual([expect.stringContaining('too long to edit in Slack')]);
  });

  it('a button with a value andon did not make does nothing but say so', async () => {
    const { interactions, decided, told } = handler({});
    const ack = await interactions.handle(reviewClick(ACTION.reviewApprove, { sessionId: 's-1' }));
    await ack.after!();
    expect(decided).toEqual([]);
    expect(told.map((t) => t.message.text)).toEqual([expect.stringContaining('carries no review andon knows')]);
  });
});
