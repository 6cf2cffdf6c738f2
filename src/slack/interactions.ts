/**
 * Button clicks and modal submissions (Slack's "interactivity" request URL). Approve approves
 * the plan the button was rendered with; Reject opens a modal asking why, and its submission
 * rejects. Outcomes, refusals included, are told to the person who clicked, to them alone.
 */
import type { WebClient } from '@slack/web-api';
import type { SessionActions } from './actions';
import type { Ack } from './ack';
import { escapeText, rejectModal } from './blocks';
import { ACTION, ButtonValue, REJECT_VIEW, RejectMetadata } from './ids';
import { Interaction, type BlockActions, type ViewSubmission } from './payloads';
import type { Responder } from './respond';

export class InteractionHandler {
  constructor(
    private readonly actions: SessionActions,
    private readonly web: WebClient,
    private readonly responder: Responder,
  ) {}

  /** `payload` is the JSON in the request's `payload` form field. */
  handle(payload: unknown): Ack {
    const parsed = Interaction.safeParse(payload);
    if (!parsed.success) return {};
    const interaction = parsed.data;
    return interaction.type === 'block_actions' ? this.clicked(interaction) : this.submitted(interaction);
  }

  private clicked(interaction: BlockActions): Ack {
    const action = interaction.actions.find((a) => a.action_id === ACTION.approve || a.action_id === ACTION.reject);
    if (!action) return {};
    const audience = {
      user: interaction.user.id,
      responseUrl: interaction.response_url,
      channel: interaction.channel?.id ?? interaction.container?.channel_id,
    };
    const value = ButtonValue.safeParse(parseJson(action.value));
    if (!value.success) {
      return { after: () => this.responder.tell(audience, { text: ':warning: This button carries no session andon knows; nothing was done.' }) };
    }
    const { sessionId, planId, planHash } = value.data;

    if (action.action_id === ACTION.approve) {
      return { after: async () => this.responder.tell(audience, await this.actions.approve(audience.user, { sessionId, planId, planHash })) };
    }
    return {
      // The trigger id expires 3 s after the click: the modal opens first thing.
      after: async () => {
        const metadata: RejectMetadata = { sessionId, planId, channel: audience.channel, responseUrl: audience.responseUrl };
        try {
          if (!interaction.trigger_id) throw new Error('the click came without a trigger_id');
          await this.web.views.open({ trigger_id: interaction.trigger_id, view: rejectModal(metadata) });
        } catch (error) {
          const hint = `\`/andon reject ${escapeText(sessionId)} <reason>\``;
          await this.responder.tell(audience, { text: `:warning: Could not open the reject dialog (${escapeText((error as Error).message)}). Reject with ${hint} instead.` });
        }
      },
    };
  }

  private submitted(submission: ViewSubmission): Ack {
    if (submission.view.callback_id !== REJECT_VIEW.callbackId) return {};
    const metadata = RejectMetadata.safeParse(parseJson(submission.view.private_metadata));
    if (!metadata.success) return {};
    const values = submission.view.state.values;
    const reason = values[REJECT_VIEW.reasonBlock]?.[REJECT_VIEW.reasonAction]?.value?.trim() ?? '';
    // Answering with errors keeps the modal open, pointing at the field.
    if (reason === '') return { body: { response_action: 'errors', errors: { [REJECT_VIEW.reasonBlock]: 'Say why the plan is rejected.' } } };
    const replan = (values[REJECT_VIEW.replanBlock]?.[REJECT_VIEW.replanAction]?.selected_options ?? []).some((o) => o.value === 'replan');
    const { sessionId, planId, channel, responseUrl } = metadata.data;
    const user = submission.user.id;
    return {
      after: async () => this.responder.tell({ user, channel, responseUrl }, await this.actions.reject(user, { sessionId, planId, reason, replan })),
    };
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
