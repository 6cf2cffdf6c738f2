/**
 * The slash command: `/andon status|list|approve|reject|ask|reviews ...`. Usage mistakes are
 * answered at once; everything that talks to Temporal is acknowledged first and answered through
 * the command's response URL, to the person who typed it.
 */
import { SessionState } from '../session/schema';
import { notHere, type SessionActions } from './actions';
import type { Ack } from './ack';
import { COMMAND_HELP, escapeText, unescapeText, type SlackMessage } from './blocks';
import type { SlashCommand } from './payloads';
import type { Responder } from './respond';

export type ParsedCommand =
  | { kind: 'help' }
  | { kind: 'usage'; message: string }
  | { kind: 'status'; sessionId: string }
  | { kind: 'list'; states: SessionState[] }
  | { kind: 'approve'; sessionId: string; planId?: string; comment?: string }
  | { kind: 'reject'; sessionId: string; reason: string; replan: boolean }
  | { kind: 'ask'; sessionId: string; question: string }
  | { kind: 'reviews' };

const PLAN_ID = /^plan-\d+$/;

/** Reads the text after `/andon`. */
export function parseCommand(text: string): ParsedCommand {
  const words = unescapeText(text)
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const [verb = 'help', sessionId, ...rest] = words;
  const tail = rest.join(' ');
  const usage = (form: string): ParsedCommand => ({ kind: 'usage', message: `Usage: \`/andon ${form}\`` });
  switch (verb.toLowerCase()) {
    case 'help':
      return { kind: 'help' };
    case 'status':
      return sessionId ? { kind: 'status', sessionId } : usage('status <session id>');
    case 'list': {
      const states = [sessionId, ...rest].filter((w): w is string => w !== undefined);
      const unknown = states.find((s) => !SessionState.safeParse(s).success);
      if (unknown)
        return {
          kind: 'usage',
          message: `Unknown state \`${unknown}\`: use one of ${SessionState.options.map((s) => `\`${s}\``).join(', ')}`,
        };
      return { kind: 'list', states: states as SessionState[] };
    }
    case 'approve': {
      if (!sessionId) return usage('approve <session id> [plan id] [comment]');
      // A plan id binds the approval to the plan the person looked at.
      const planId = rest[0] !== undefined && PLAN_ID.test(rest[0]) ? rest[0] : undefined;
      const comment = (planId ? rest.slice(1) : rest).join(' ');
      return { kind: 'approve', sessionId, planId, comment: comment || undefined };
    }
    case 'reject': {
      const replan = rest[0] === '--replan';
      const reason = (replan ? rest.slice(1) : rest).join(' ');
      return sessionId && reason ? { kind: 'reject', sessionId, reason, replan } : usage('reject <session id> [--replan] <reason>');
    }
    case 'reviews':
      return { kind: 'reviews' };
    case 'ask':
      return sessionId && tail ? { kind: 'ask', sessionId, question: tail } : usage('ask <session id> <question>');
    default:
      return { kind: 'usage', message: `Unknown command \`${escapeText(verb)}\`.\n${COMMAND_HELP}` };
  }
}

export class CommandHandler {
  constructor(
    private readonly actions: SessionActions,
    private readonly responder: Responder,
  ) {}

  handle(command: SlashCommand): Ack {
    const parsed = parseCommand(command.text);
    const user = command.user_id;
    const audience = { user, responseUrl: command.response_url, channel: command.channel_id };
    const answer = (work: () => Promise<SlackMessage>, body?: SlackMessage): Ack => ({
      body: body ? ephemeral(body) : undefined,
      after: async () => this.responder.tell(audience, await work()),
    });
    // Everything about one session is answered only in that session's channel (actions.ts, notHere).
    const here = (sessionId: string, work: () => Promise<SlackMessage>) => async () =>
      (await this.actions.isSessionChannel(sessionId, command.channel_id)) ? work() : notHere(sessionId);
    switch (parsed.kind) {
      case 'help':
        return { body: ephemeral({ text: COMMAND_HELP }) };
      case 'usage':
        return { body: ephemeral({ text: parsed.message }) };
      case 'status':
        return answer(here(parsed.sessionId, () => this.actions.status(parsed.sessionId)));
      case 'list':
        return answer(() => this.actions.list(parsed.states, command.channel_id));
      case 'reviews':
        return answer(() => this.actions.reviews(command.channel_id));
      case 'approve':
        return answer(here(parsed.sessionId, () => this.actions.approve(user, parsed)));
      case 'reject':
        return answer(here(parsed.sessionId, () => this.actions.reject(user, parsed)));
      case 'ask':
        return answer(
          here(parsed.sessionId, async () => {
            const outcome = await this.actions.ask(user, parsed);
            return outcome.ok ? { text: `*${escapeText(parsed.sessionId)}* answers: ${escapeText(outcome.reply)}` } : outcome.message;
          }),
          // The reply may take a minute: say it is coming.
          { text: `:hourglass: Asking \`${escapeText(parsed.sessionId)}\`…` },
        );
    }
  }
}

function ephemeral(message: SlackMessage): unknown {
  return { response_type: 'ephemeral', ...message };
}
