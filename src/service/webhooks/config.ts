/**
 * The `service.webhooks` section: per-receiver credentials and the routes that decide which
 * prompt and approval settings an alert's session gets. Secrets are meant to come from the
 * environment (ANDON_WEBHOOK_<RECEIVER>_TOKEN, ...), never from the committed temporal.config.ts,
 * so the schema itself layers them in: whoever composes it gets them without knowing the names.
 */
import { ApprovalPolicy } from '../../session/approval';
import { z } from 'zod';
import { AgentName, Duration, PublishPolicy, SessionSource } from '../../session/schema';
import { checkTemplate } from './template';

export const RECEIVER_NAMES = ['alertmanager', 'grafana', 'pagerduty', 'datadog', 'generic'] as const;
export const ReceiverName = z.enum(RECEIVER_NAMES);
export type ReceiverName = z.infer<typeof ReceiverName>;

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

const credentialFields = {
  /** Set false to not register this receiver at all (404). */
  enabled: Flag.default(true),
  /** Bearer secret: the sender sends `Authorization: Bearer <token>`. */
  token: Secret.optional(),
  /** HTTP basic credentials (both or neither). */
  user: Secret.optional(),
  password: Secret.optional(),
  /**
   * A receiver with no credential refuses every request (503, so the sender keeps the alert and
   * retries once the operator has configured one). true opens it to anyone who can reach it.
   */
  allowUnauthenticated: Flag.default(false),
};

function basicPairComplete(value: { user?: string; password?: string }, ctx: z.RefinementCtx): void {
  if ((value.user === undefined) !== (value.password === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: [value.user === undefined ? 'user' : 'password'],
      message: 'set both user and password for basic authentication, or neither',
    });
  }
}

// Strict: a misspelt or misplaced credential (a `secret` where no signature is checked) must fail
// at start, not leave the receiver silently unconfigured.
const ReceiverSettings = z.strictObject(credentialFields).superRefine(basicPairComplete);
const PagerDutySettings = z
  .strictObject({
    ...credentialFields,
    /** The v3 webhook subscription's signing secret: every request must carry a valid X-PagerDuty-Signature. */
    secret: Secret.optional(),
  })
  .superRefine(basicPairComplete);
export type ReceiverSettings = z.output<typeof ReceiverSettings> & { secret?: string };

/** A prompt, title or context template: `{summary}`, `{labels.service}`, ... (see template.ts). */
const Template = z
  .string()
  .min(1)
  .max(32_000)
  .superRefine((text, ctx) => {
    for (const problem of checkTemplate(text)) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A label condition: the exact value, or any of a list. */
const LabelCondition = z.union([z.string(), z.array(z.string()).min(1)]);

const RouteAction = {
  prompt: Template,
  /** Default: the alert's summary. */
  title: Template.optional(),
  /** Default: the service's `sessions.requirePlanApproval`. */
  requirePlanApproval: z.boolean().optional(),
  followUpWindow: Duration.optional(),
  /** Who must approve this route's plans (default: the service's `sessions.approval`). */
  approval: ApprovalPolicy.optional(),
  /** Announce this route's sessions in a Slack channel (plan approval with buttons, progress). */
  slackChannel: z.string().min(1).max(200).optional(),
  /** Extra context for the agent (templates allowed), on top of the alert's labels. */
  context: z.record(z.string(), Template).default({}),
  /** Which of the worker's agents works on this route's sessions (docs/agents.md). Default: the worker's default agent. */
  agent: AgentName.optional(),
  /**
   * The repository the alerted service lives in: its sessions are code sessions that work on it
   * (docs/code-sessions.md). `{ github: 'owner/repo', branch? }` or `{ git: url-or-path, branch? }`.
   */
  source: SessionSource.optional(),
  /** What this route's code sessions do with their change (default: pullRequest for github, branch for git). */
  publish: PublishPolicy.optional(),
};

export const WebhookRoute = z.object({
  /** Shown in the receiver's answer, to tell which route an alert took. */
  name: z.string().min(1).max(100).optional(),
  /** Every condition must hold; an empty match takes every alert. */
  match: z
    .object({
      source: z.union([ReceiverName, z.array(ReceiverName).min(1)]).optional(),
      labels: z.record(z.string(), LabelCondition).default({}),
    })
    .prefault({}),
  ...RouteAction,
});
export type WebhookRoute = z.output<typeof WebhookRoute>;

export const DEFAULT_ALERT_PROMPT = 'Investigate the alert "{summary}" from {source}. Labels: {labels}';

export const DefaultRoute = z.object({ ...RouteAction, prompt: Template.default(DEFAULT_ALERT_PROMPT) });
export type DefaultRoute = z.output<typeof DefaultRoute>;

export const WebhooksSettings = z.object({
  alertmanager: ReceiverSettings.prefault({}),
  grafana: ReceiverSettings.prefault({}),
  pagerduty: PagerDutySettings.prefault({}),
  datadog: ReceiverSettings.prefault({}),
  generic: ReceiverSettings.prefault({}),
  /** First match wins; an alert no route matches gets `defaultRoute`. */
  routes: z.array(WebhookRoute).default([]),
  defaultRoute: DefaultRoute.prefault({}),
  /**
   * The longest a receiver waits for Temporal before answering 503. Senders have deadlines of
   * their own; answering first lets them retry rather than guess.
   */
  deliveryTimeout: Duration.pipe(z.number().min(100)).default(8_000),
  /**
   * A signed delivery whose event is older than this is refused (422 stale_delivery) as a possible
   * replay. PagerDuty's `occurred_at` is signed with the body, so it cannot be refreshed.
   */
  replayWindow: Duration.pipe(z.number().min(10_000)).default(300_000),
  /** Seconds a sender is told to wait (Retry-After) when a delivery did not go through. */
  retryAfterSeconds: z.coerce.number().int().min(1).max(3_600).default(5),
});

/** Environment variables for the receivers' secrets, and the path under `webhooks` each sets. */
export const WEBHOOK_ENV: Readonly<Record<string, string>> = Object.fromEntries(
  RECEIVER_NAMES.flatMap((name) => {
    const prefix = `ANDON_WEBHOOK_${name.toUpperCase()}`;
    const entries: [string, string][] = [
      [`${prefix}_TOKEN`, `${name}.token`],
      [`${prefix}_USER`, `${name}.user`],
      [`${prefix}_PASSWORD`, `${name}.password`],
      [`${prefix}_ALLOW_UNAUTHENTICATED`, `${name}.allowUnauthenticated`],
    ];
    if (name === 'pagerduty') entries.push([`${prefix}_SECRET`, `${name}.secret`]);
    return entries;
  }),
);

/** The schema with `env` layered over the given values (environment wins, as everywhere in andon). */
export function webhooksConfigSchema(env: NodeJS.ProcessEnv) {
  return z.preprocess((input) => withEnvironment(input, env), WebhooksSettings);
}

/** The service's `webhooks` section, reading secrets from this process's environment. */
export const WebhooksConfig = webhooksConfigSchema(process.env);
export type WebhooksConfig = z.output<typeof WebhooksSettings>;
export type WebhooksConfigInput = z.input<typeof WebhooksSettings>;

function withEnvironment(input: unknown, env: NodeJS.ProcessEnv): unknown {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) return input;
  const merged = structuredClone((input ?? {}) as Record<string, unknown>);
  for (const [name, target] of Object.entries(WEBHOOK_ENV)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const dot = target.indexOf('.');
    const [receiver, field] = [target.slice(0, dot), target.slice(dot + 1)];
    const section = merged[receiver];
    // A receiver given as something other than an object is left for the schema to refuse.
    if (section !== undefined && (typeof section !== 'object' || section === null)) continue;
    merged[receiver] = { ...(section as Record<string, unknown> | undefined), [field]: value };
  }
  return merged;
}
