/**
 * Button clicks and modal submissions (Slack's "interactivity" request URL). Approve approves
 * the plan the button was rendered with; Reject opens a modal asking why, and its submission
 * rejects. A tool call's review message offers Approve (at once), Deny (a modal asks why) and
 * Edit (a modal with its arguments as JSON); once decided, that message says who decided what.
 * Outcomes, refusals included, are told to the person who clicked, to them alone.
 */
import type { WebClient } from '@slack/web-api';
import type { ReviewDecisionInput } from '../protocol/inputs';
import { notHere, type ReviewAttempt, type SessionActions } from './actions';
import type { Ack } from './ack';
import {
  INPUT_MAX,
  clip,
  editableArguments,
  escapeText,
  rejectModal,
  reviewDenyModal,
  reviewEditModal,
  who,
  type ReviewVerdict,
} from './blocks';
import { ACTION, ButtonValue, REJECT_VIEW, REVIEW_VIEW, RejectMetadata, ReviewButtonValue, ReviewMetadata } from './ids';
import { Interaction, type BlockActions, type ViewSubmission } from './payloads';
import type { Audience, Responder } from './respond';

/**
 * How long an edit's submission waits for the session's verdict before the modal is answered:
 * a field the tool's schema refuses is shown in the modal, but Slack gives up after 3 s. A verdict
 * that comes later is told to the person instead.
 */
export const EDIT_ANSWER_MS = 2_000;
/** The Edit button reads the call's arguments first; the modal must still open within Slack's 3 s. */
const EDIT_LOOKUP_MS = 2_000;

const REVIEW_ACTIONS = new Set<string>([ACTION.reviewApprove, ACTION.reviewDeny, ACTION.reviewEdit]);
const PLAN_ACTIONS = new Set<string>([ACTION.approve, ACTION.reject]);

/** A posted message (the review message a decision updates). */
interface MessageRef {
  channel: string;
  ts: string;
}

export interface InteractionOptions {
  /** How long an edit's submission waits for the verdict (default EDIT_ANSWER_MS). */
  editAnswerMs?: number;
  warn?: (message: string) => void;
}

export class InteractionHandler {
  constructor(
    private readonly actions: SessionActions,
    private readonly web: WebClient,
    private readonly responder: Responder,
    private readonly options: InteractionOptions = {},
  ) {}

  /** `payload` is the JSON in the request's `payload` form field. */
  handle(payload: unknown): Ack | Promise<Ack> {
    const parsed = Interaction.safeParse(payload);
    if (!parsed.success) return {};
    const interaction = parsed.data;
    return interaction.type === 'block_actions' ? this.clicked(interaction) : this.submitted(interaction);
  }

  private clicked(interaction: BlockActions): Ack {
    const review = interaction.actions.find((a) => REVIEW_ACTIONS.has(a.action_id));
    if (review) return this.reviewClicked(interaction, review);
    const action = interaction.actions.find((a) => PLAN_ACTIONS.has(a.action_id));
    if (!action) return {};
    const audience = audienceOf(interaction);
    const value = ButtonValue.safeParse(parseJson(action.value));
    if (!value.success) {
      return {
        after: () => this.responder.tell(audience, { text: ':warning: This button carries no session andon knows; nothing was done.' }),
      };
    }
    const { sessionId, planId, planHash, changeSetHash } = value.data;

    if (action.action_id === ACTION.approve) {
      return {
        after: this.here(sessionId, audience, async () =>
          this.responder.tell(audience, await this.actions.approve(audience.user, { sessionId, planId, planHash, changeSetHash })),
        ),
      };
    }
    return {
      // The trigger id expires 3 s after the click: the modal opens first thing (the channel check is remembered, and quick).
      after: this.here(sessionId, audience, async () => {
        const metadata: RejectMetadata = {
          sessionId,
          planId,
          ...(planHash ? { planHash } : {}),
          ...(changeSetHash ? { changeSetHash } : {}),
          channel: audience.channel,
          responseUrl: audience.responseUrl,
        };
        try {
          if (!interaction.trigger_id) throw new Error('the click came without a trigger_id');
          await this.web.views.open({ trigger_id: interaction.trigger_id, view: rejectModal(metadata) });
        } catch (error) {
          const hint = `\`/andon reject ${escapeText(sessionId)} <reason>\``;
          await this.responder.tell(audience, {
            text: `:warning: Could not open the reject dialog (${escapeText((error as Error).message)}). Reject with ${hint} instead.`,
          });
        }
      }),
    };
  }

  private reviewClicked(interaction: BlockActions, action: BlockActions['actions'][number]): Ack {
    const audience = audienceOf(interaction);
    const value = ReviewButtonValue.safeParse(parseJson(action.value));
    if (!value.success) {
      return {
        after: () => this.responder.tell(audience, { text: ':warning: This button carries no review andon knows; nothing was done.' }),
      };
    }
    const { sessionId, reviewId, tool } = value.data;
    const ts = interaction.container?.message_ts ?? interaction.message?.ts;
    const message = audience.channel && ts ? { channel: audience.channel, ts } : undefined;
    const metadata: ReviewMetadata = {
      sessionId,
      reviewId,
      tool,
      channel: message?.channel ?? audience.channel,
      messageTs: message?.ts,
      responseUrl: audience.responseUrl,
    };

    switch (action.action_id) {
      case ACTION.reviewApprove:
        return { after: this.here(sessionId, audience, () => this.decide(audience, message, metadata, { decision: 'approve' })) };
      case ACTION.reviewDeny:
        // The trigger id expires 3 s after the click: the modal opens first thing.
        return {
          after: this.here(sessionId, audience, () =>
            this.openModal(audience, interaction.trigger_id, reviewDenyModal(metadata, tool ?? 'the tool'), 'deny'),
          ),
        };
      default:
        return { after: this.here(sessionId, audience, () => this.openEdit(audience, message, interaction.trigger_id, metadata)) };
    }
  }

  /**
   * `work`, when the request comes from the session's own channel; otherwise the person is told
   * that nothing is done here, and nothing about the session.
   */
  private here(sessionId: string, audience: Audience, work: () => Promise<void>): () => Promise<void> {
    return async () => {
      if (await this.actions.isSessionChannel(sessionId, audience.channel)) await work();
      else await this.responder.tell(audience, notHere(sessionId));
    };
  }

  /** Edit: the modal shows the call's current arguments, so they are read first (quickly: the trigger expires). */
  private async openEdit(
    audience: Audience,
    message: MessageRef | undefined,
    triggerId: string | undefined,
    metadata: ReviewMetadata,
  ): Promise<void> {
    let review;
    try {
      review = await this.actions.pendingReview(metadata.sessionId, metadata.reviewId, EDIT_LOOKUP_MS);
    } catch (error) {
      await this.responder.tell(audience, {
        text: `:warning: Could not read the tool call to edit (${escapeText((error as Error).message)}). Try again in a moment.`,
      });
      return;
    }
    if (!review) {
      await this.concluded(audience, message, metadata, { kind: 'gone', message: `no tool call awaits review as ${metadata.reviewId}` });
      return;
    }
    if (editableArguments(review.arguments).length > INPUT_MAX) {
      await this.responder.tell(audience, {
        text: `:warning: The arguments of this call are over ${INPUT_MAX.toLocaleString('en-US')} characters, too long to edit in Slack: approve or deny it here, or edit it through the API or CLI.`,
      });
      return;
    }
    await this.openModal(audience, triggerId, reviewEditModal({ ...metadata, tool: review.tool }, review), 'edit');
  }

  private async openModal(
    audience: Audience,
    triggerId: string | undefined,
    view: Parameters<WebClient['views']['open']>[0]['view'],
    what: string,
  ): Promise<void> {
    try {
      if (!triggerId) throw new Error('the click came without a trigger_id');
      await this.web.views.open({ trigger_id: triggerId, view });
    } catch (error) {
      await this.responder.tell(audience, {
        text: `:warning: Could not open the ${what} dialog (${escapeText((error as Error).message)}). Click the button again.`,
      });
    }
  }

  private submitted(submission: ViewSubmission): Ack | Promise<Ack> {
    switch (submission.view.callback_id) {
      case REJECT_VIEW.callbackId:
        return this.rejectSubmitted(submission);
      case REVIEW_VIEW.denyCallbackId:
        return this.denySubmitted(submission);
      case REVIEW_VIEW.editCallbackId:
        return this.editSubmitted(submission);
      default:
        return {};
    }
  }

  private rejectSubmitted(submission: ViewSubmission): Ack {
    const metadata = RejectMetadata.safeParse(parseJson(submission.view.private_metadata));
    if (!metadata.success) return {};
    const values = submission.view.state.values;
    const reason = values[REJECT_VIEW.reasonBlock]?.[REJECT_VIEW.reasonAction]?.value?.trim() ?? '';
    // Answering with errors keeps the modal open, pointing at the field.
    if (reason === '')
      return fieldError(
        REJECT_VIEW.reasonBlock,
        metadata.data.changeSetHash ? 'Say why the change is rejected.' : 'Say why the plan is rejected.',
      );
    const replan = (values[REJECT_VIEW.replanBlock]?.[REJECT_VIEW.replanAction]?.selected_options ?? []).some((o) => o.value === 'replan');
    // The modal carries the hash of what the person was shown: a plan's Reject cannot end a change set's review.
    const { sessionId, planId, planHash, changeSetHash, channel, responseUrl } = metadata.data;
    const user = submission.user.id;
    const audience = { user, channel, responseUrl };
    return {
      after: this.here(sessionId, audience, async () =>
        this.responder.tell(audience, await this.actions.reject(user, { sessionId, planId, planHash, changeSetHash, reason, replan })),
      ),
    };
  }

  private denySubmitted(submission: ViewSubmission): Ack {
    const metadata = ReviewMetadata.safeParse(parseJson(submission.view.private_metadata));
    if (!metadata.success) return {};
    const reason = submission.view.state.values[REVIEW_VIEW.reasonBlock]?.[REVIEW_VIEW.reasonBlock]?.value?.trim() ?? '';
    if (reason === '') return fieldError(REVIEW_VIEW.reasonBlock, 'Say why the call is denied: the agent reads it.');
    const { audience, message } = whereFrom(submission, metadata.data);
    return {
      after: this.here(metadata.data.sessionId, audience, () =>
        this.decide(audience, message, metadata.data, { decision: 'deny', reason }),
      ),
    };
  }

  /**
   * Edited arguments: JSON that does not parse, or is no object, is pointed out at once; then the
   * session checks them against the tool's schema, and a field it refuses is shown in the modal
   * too, when the verdict comes in time. Either way nothing changes until it is accepted.
   */
  private async editSubmitted(submission: ViewSubmission): Promise<Ack> {
    const metadata = ReviewMetadata.safeParse(parseJson(submission.view.private_metadata));
    if (!metadata.success) return {};
    const text = submission.view.state.values[REVIEW_VIEW.argumentsBlock]?.[REVIEW_VIEW.argumentsBlock]?.value ?? '';
    let args: unknown;
    try {
      args = JSON.parse(text);
    } catch (error) {
      return fieldError(REVIEW_VIEW.argumentsBlock, `Not valid JSON: ${(error as Error).message}`);
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      return fieldError(REVIEW_VIEW.argumentsBlock, 'Expected a JSON object of arguments, like {"service": "checkout-api"}.');
    }
    const { audience, message } = whereFrom(submission, metadata.data);
    if (!(await this.actions.isSessionChannel(metadata.data.sessionId, audience.channel))) {
      return { after: () => this.responder.tell(audience, notHere(metadata.data.sessionId)) };
    }
    const attempt = this.actions.review(audience.user, {
      sessionId: metadata.data.sessionId,
      reviewId: metadata.data.reviewId,
      choice: { decision: 'edit', arguments: args as Record<string, unknown> },
    });
    const early = await within(attempt, this.options.editAnswerMs ?? EDIT_ANSWER_MS);
    if (early?.kind === 'invalid') return fieldError(REVIEW_VIEW.argumentsBlock, early.message);
    return { after: async () => this.concluded(audience, message, metadata.data, await attempt) };
  }

  private async decide(
    audience: Audience,
    message: MessageRef | undefined,
    review: ReviewMetadata,
    choice: ReviewDecisionInput,
  ): Promise<void> {
    const attempt = await this.actions.review(audience.user, { sessionId: review.sessionId, reviewId: review.reviewId, choice });
    await this.concluded(audience, message, review, attempt);
  }

  /**
   * After a decision: the review message shows who decided what, for everyone (its buttons go).
   * A call decided before (by someone else, elsewhere, or by its deadline) is shown the same
   * way, and the person is told. Refusals are told to the person alone.
   */
  private async concluded(
    audience: Audience,
    message: MessageRef | undefined,
    review: ReviewMetadata,
    attempt: ReviewAttempt,
  ): Promise<void> {
    switch (attempt.kind) {
      case 'decided': {
        const { updated } = await this.showVerdict(message, review);
        if (!updated)
          await this.responder.tell(audience, {
            text: `:white_check_mark: Your decision on \`${escapeText(review.reviewId)}\` is recorded.`,
          });
        return;
      }
      case 'gone': {
        const { verdict } = await this.showVerdict(message, review);
        await this.responder.tell(audience, { text: alreadyDecided(verdict, attempt.message) });
        return;
      }
      case 'invalid':
        await this.responder.tell(audience, {
          text: `:warning: Your decision on \`${escapeText(review.reviewId)}\` was not accepted: ${escapeText(attempt.message.replace(/\.$/, ''))}. Nothing changed.`,
        });
        return;
      case 'failed':
        await this.responder.tell(audience, attempt.message);
        return;
    }
  }

  /** Updates the review message to read as the review now stands. */
  private async showVerdict(
    message: MessageRef | undefined,
    review: ReviewMetadata,
  ): Promise<{ verdict?: ReviewVerdict; updated: boolean }> {
    let now: Awaited<ReturnType<SessionActions['reviewNow']>>;
    try {
      now = await this.actions.reviewNow(review.sessionId, review.reviewId);
    } catch (error) {
      this.options.warn?.(`slack: could not read review ${review.reviewId} of ${review.sessionId}: ${(error as Error).message}`);
      return { updated: false };
    }
    if (!message || !now.message || !now.verdict) return { verdict: now.verdict, updated: false };
    try {
      await this.web.chat.update({ channel: message.channel, ts: message.ts, ...now.message });
      return { verdict: now.verdict, updated: true };
    } catch (error) {
      this.options.warn?.(`slack: could not update the message of review ${review.reviewId}: ${(error as Error).message}`);
      return { verdict: now.verdict, updated: false };
    }
  }
}

function audienceOf(interaction: BlockActions): Audience {
  return {
    user: interaction.user.id,
    responseUrl: interaction.response_url,
    channel: interaction.channel?.id ?? interaction.container?.channel_id,
  };
}

/** A modal submission has no response URL or message of its own: the click that opened it did. */
function whereFrom(submission: ViewSubmission, metadata: ReviewMetadata): { audience: Audience; message?: MessageRef } {
  const audience = { user: submission.user.id, channel: metadata.channel, responseUrl: metadata.responseUrl };
  return { audience, message: metadata.channel && metadata.messageTs ? { channel: metadata.channel, ts: metadata.messageTs } : undefined };
}

function alreadyDecided(verdict: ReviewVerdict | undefined, refusal: string): string {
  if (verdict && 'decision' in verdict) {
    const done = { approve: 'approved', deny: 'denied', edit: 'edited' }[verdict.decision];
    return `:information_source: This tool call was already decided: ${done} by ${who(verdict.by)}. Nothing changed.`;
  }
  if (verdict) return `:information_source: This tool call no longer awaits review: ${escapeText(verdict.closed)} Nothing changed.`;
  return `:information_source: This tool call was already decided, or is unknown: ${escapeText(refusal.replace(/\.$/, ''))}. Nothing changed.`;
}

/** Keeps the modal open, the message under the field. */
function fieldError(block: string, message: string): Ack {
  return { body: { response_action: 'errors', errors: { [block]: clip(message, 300) } } };
}

/** The promise's value if it settles within `ms`, else undefined (it goes on). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Slack's JSON fields (payload, button values, metadata): anything that does not parse is just not valid. */
export function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
