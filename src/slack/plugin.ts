/**
 * The Slack app's request URLs: POST /v1/slack/interactions (buttons, modals), /v1/slack/commands
 * (the slash command) and /v1/slack/events (thread replies). Each request's Slack signature is
 * checked before anything in it is read; a request that fails the check gets 401 and has no
 * effect. Slack is answered at once and the work happens after (ack.ts).
 *
 * Register it unwrapped (not through fastify-plugin): its raw-body parsers and its signature
 * check must stay inside this scope.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Andon } from '../client/andon';
import { HttpError, errorResponses, unauthorized } from '../protocol/http-errors';
import type { Ack } from './ack';
import { SessionActions } from './actions';
import { Background } from './background';
import { sessionLink } from './blocks';
import { slackClient } from './client';
import { CommandHandler } from './commands';
import type { EnabledSlackConfig } from './config';
import { EventHandler } from './events';
import { InteractionHandler, parseJson } from './interactions';
import { SlashCommand, formFields } from './payloads';
import { Responder } from './respond';
import { replayGuardFor } from './replay-guards';
import { SlackSignatureVerifier, type Verdict } from './signature';
import { ThreadSessions } from './threads';
import { Workspaces, commandTeams, eventTeams, interactionTeams, type RequestTeams } from './workspaces';

export interface SlackPluginOptions {
  andon: Andon;
  config: EnabledSlackConfig;
  /** The clock of the signature check (ms since the epoch); tests move it. */
  now?: () => number;
}

/** How long shutdown waits for work started by requests already answered. */
const DRAIN_MS = 5_000;

const ROUTES = {
  interactions: '/v1/slack/interactions',
  commands: '/v1/slack/commands',
  events: '/v1/slack/events',
} as const;
export const SLACK_ROUTES: readonly string[] = Object.values(ROUTES);

export const slackPlugin: FastifyPluginAsync<SlackPluginOptions> = async (app, { andon, config, now }) => {
  keepRawBodies(app);
  const warn = (message: string) => app.log.warn(message);
  const web = slackClient({ botToken: config.botToken, apiUrl: config.apiUrl });
  const responder = new Responder(web, warn);
  const namespace = andon.client.options.namespace;
  const actions = new SessionActions(andon, { warn, sessionUrl: (id) => sessionLink(config.temporalUiUrl, namespace, id) });
  const interactions = new InteractionHandler(actions, web, responder, { warn });
  const commands = new CommandHandler(actions, responder);
  const events = new EventHandler(actions, new ThreadSessions(andon), responder, warn);
  const background = new Background(warn);
  const verifier = new SlackSignatureVerifier(config.signingSecret, { now, replays: replayGuardFor(config.replayUrl) });
  const workspaces = new Workspaces(web, config.teamIds, warn);
  /** Only requests from allowed workspaces (workspaces.ts) reach the handlers; others get `refusal`. */
  const fromAllowed = async (teams: RequestTeams, handle: () => Ack | Promise<Ack>, refusal: Ack = {}): Promise<Ack> => {
    if (await workspaces.allows(teams)) return handle();
    // Ids only: they say which workspace to allow, and carry nothing of the request.
    warn(
      `slack: refused a request from a workspace that is not allowed (team ${teams.team ?? '-'}, user team ${teams.userTeam ?? '-'}, enterprise ${teams.enterprise ?? '-'})`,
    );
    return refusal;
  };
  const NOT_ALLOWED: Ack = { body: { response_type: 'ephemeral', text: ':no_entry: andon does not take requests from this workspace.' } };

  app.addHook('preValidation', async (request) => {
    let verdict: Verdict;
    try {
      verdict = await verifier.verify(request.headers, rawBody(request));
    } catch (error) {
      // The shared replay store is down: refuse rather than let a replay through; Slack retries.
      warn(`slack: could not check a request against the replay store: ${error instanceof Error ? error.message : String(error)}`);
      throw unavailable('the Slack replay check is unavailable; try again shortly');
    }
    if (!verdict.ok) throw unauthorized(`not a valid request from Slack: ${verdict.reason}`, 'Slack-Signature realm="andon-slack"');
  });
  app.addHook('onClose', async () => {
    await background.drain(DRAIN_MS);
    await verifier.replays.close();
  });

  const route = (url: string, operationId: string, summary: string, handle: (raw: Buffer) => Ack | Promise<Ack>) =>
    app.post(
      url,
      {
        // Slack authenticates itself, by signature (the hook above), not with API tokens.
        config: { scope: 'none' },
        schema: {
          operationId,
          summary,
          description: "For Slack only: requests must carry a valid X-Slack-Signature made with the app's signing secret (401 otherwise).",
          tags: ['slack'],
          response: { ...errorResponses },
        },
      },
      async (request, reply) => {
        // Synchronous for most requests; an edited tool call waits (briefly) for the session's verdict.
        const ack = await handle(rawBody(request));
        reply.code(200);
        if (ack.body === undefined) await reply.send();
        else await reply.send(ack.body);
        if (ack.after) background.run(ack.after);
        return reply;
      },
    );

  route(
    ROUTES.interactions,
    'slackInteractions',
    "The Slack app's interactivity request URL: Approve and Reject buttons, the reject dialog, tool-call reviews (Approve, Deny, Edit)",
    (raw) => {
      const payload = parseJson(formFields(raw).payload);
      return fromAllowed(interactionTeams(payload), () => interactions.handle(payload));
    },
  );
  route(ROUTES.commands, 'slackCommands', "The Slack app's slash command: /andon status|list|approve|reject|ask|reviews", (raw) => {
    const fields = formFields(raw);
    const command = SlashCommand.safeParse(fields);
    return command.success
      ? fromAllowed(commandTeams(fields), () => commands.handle(command.data), NOT_ALLOWED)
      : { body: { response_type: 'ephemeral', text: 'andon could not read this command.' } };
  });
  route(ROUTES.events, 'slackEvents', "The Slack app's Events API request URL: replies in a session's thread", (raw) => {
    const body = parseJson(raw.toString('utf8'));
    // The URL check comes before any workspace is known (when the request URL is set up): it changes nothing.
    if (isUrlVerification(body)) return events.handle(body);
    return fromAllowed(eventTeams(body), () => events.handle(body));
  });
};

/**
 * Bodies stay raw bytes: the signature covers the exact bytes, and nothing in a request is read
 * before its signature has been checked.
 */
function keepRawBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  const raw = (_request: FastifyRequest, body: Buffer, done: (error: Error | null, body?: Buffer) => void) => done(null, body);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, raw);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, raw);
}

function rawBody(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

function isUrlVerification(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { type?: unknown }).type === 'url_verification';
}

const unavailable = (message: string) => new HttpError(503, 'unavailable', message, {}, { 'retry-after': '1' });
