/**
 * The `service.slack` section: the Slack app's credentials and where its messages link to.
 * Secrets are meant to come from the environment (ANDON_SLACK_BOT_TOKEN,
 * ANDON_SLACK_SIGNING_SECRET), never from the committed temporal.config.ts, so the schema layers
 * them in itself, as the webhooks section does.
 */
import { z } from 'zod';

/** Environment values arrive as strings: "false" must mean false (z.coerce.boolean would say true). */
const Flag = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? (({ true: true, '1': true, false: false, '0': false } as Record<string, boolean>)[value.toLowerCase()] ?? value)
      : value,
  z.boolean(),
);

// A secret pasted from a file often carries a trailing newline; it is never part of the secret.
const Secret = z.string().trim().min(1, 'must not be empty').max(1_024);

/** An http(s) base URL, kept with exactly one trailing slash so paths can be appended. */
const BaseUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).transform((url) => url.replace(/\/*$/, '/'));

const TeamId = z
  .string()
  .trim()
  .regex(/^[TE][A-Z0-9]{1,30}$/, 'expected a Slack team id (T…) or enterprise id (E…)');
/** A list, or a comma-separated string (from the environment). */
const TeamIds = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((id) => id.trim())
          .filter((id) => id !== '')
      : value,
  z.array(TeamId).min(1, "name at least one team id, or leave it unset for the bot token's own workspace").max(100),
);

export const SlackSettings = z
  .strictObject({
    /** Default: on when a bot token is configured. */
    enabled: Flag.optional(),
    /** The app's bot token (xoxb-...): posts and updates messages, opens modals. */
    botToken: Secret.optional(),
    /** The app's signing secret: every request from Slack must carry a valid signature made with it. */
    signingSecret: Secret.optional(),
    /** Slack's Web API; tests point it at a loopback server. */
    apiUrl: BaseUrl.default('https://slack.com/api/'),
    /** The channel for alert sessions whose webhook route names none (`slackChannel`). */
    defaultChannel: z.string().trim().min(1).max(200).optional(),
    /**
     * The Temporal Web UI, e.g. https://cloud.temporal.io or http://localhost:8233: messages link
     * to the session's workflow there. `npm start` uses its dev server's UI when unset.
     */
    temporalUiUrl: BaseUrl.optional(),
    /**
     * The Slack workspaces (team ids, `T…`) and Enterprise Grid organisations (`E…`) whose people
     * may act on sessions and read them. Unset: only the workspace of the bot token (auth.test).
     * From the environment as a comma-separated list (ANDON_SLACK_TEAM_IDS).
     */
    teamIds: TeamIds.optional(),
    /**
     * A `postgres://` URL: the signatures of accepted requests are remembered there, shared by
     * every service replica, so a replayed request is refused whichever replica it reaches.
     * Unset: each process remembers its own (enough for one replica). ANDON_SLACK_REPLAY_URL.
     */
    replayUrl: z
      .string()
      .trim()
      .max(4_096)
      .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// connection string')
      .optional(),
  })
  .transform(({ enabled, ...rest }) => ({ ...rest, enabled: enabled ?? rest.botToken !== undefined }))
  .superRefine((settings, ctx) => {
    if (!settings.enabled) return;
    // Without either, Slack would either see nothing from andon or andon would believe anyone.
    if (settings.botToken === undefined)
      ctx.addIssue({ code: 'custom', path: ['botToken'], message: 'Slack is enabled but has no bot token: set ANDON_SLACK_BOT_TOKEN' });
    if (settings.signingSecret === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['signingSecret'],
        message: 'Slack is enabled but has no signing secret: set ANDON_SLACK_SIGNING_SECRET',
      });
    }
  });

/** Environment variables of the Slack section, and the field each one sets. */
export const SLACK_ENV: Readonly<Record<string, string>> = {
  ANDON_SLACK_ENABLED: 'enabled',
  ANDON_SLACK_BOT_TOKEN: 'botToken',
  ANDON_SLACK_SIGNING_SECRET: 'signingSecret',
  ANDON_SLACK_API_URL: 'apiUrl',
  ANDON_SLACK_DEFAULT_CHANNEL: 'defaultChannel',
  ANDON_SLACK_TEMPORAL_UI_URL: 'temporalUiUrl',
  ANDON_SLACK_TEAM_IDS: 'teamIds',
  ANDON_SLACK_REPLAY_URL: 'replayUrl',
};

/** The schema with `env` layered over the given values (environment wins, as everywhere in andon). */
export function slackConfigSchema(env: NodeJS.ProcessEnv) {
  return z.preprocess((input) => withEnvironment(input, env), SlackSettings);
}

/** The service's `slack` section, reading secrets from this process's environment. */
export const SlackConfig = slackConfigSchema(process.env);
export type SlackConfig = z.output<typeof SlackSettings>;
export type SlackConfigInput = z.input<typeof SlackSettings>;

/** A Slack section that is on, with the credentials that requires. */
export type EnabledSlackConfig = SlackConfig & { enabled: true; botToken: string; signingSecret: string };

export function isSlackEnabled(config: SlackConfig): config is EnabledSlackConfig {
  return config.enabled && config.botToken !== undefined && config.signingSecret !== undefined;
}

function withEnvironment(input: unknown, env: NodeJS.ProcessEnv): unknown {
  // Anything but an object is left for the schema to refuse.
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) return input;
  const merged: Record<string, unknown> = { ...(input as Record<string, unknown> | undefined) };
  for (const [name, field] of Object.entries(SLACK_ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') merged[field] = value;
  }
  return merged;
}
