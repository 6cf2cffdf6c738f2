/**
 * The `service` section of andon's configuration: where the HTTP service listens, who may call
 * it (bearer tokens with scopes), and how long it lets a call take before answering 503.
 */
import { z } from 'zod';
import { Duration } from '../session/schema';
import { WebhooksConfig } from './webhooks/config';
import { SlackConfig } from '../slack/config';
import { JulesConfig } from './jules/config';

export const SCOPES = ['read', 'write', 'approve'] as const;
export const Scope = z.enum(SCOPES);
export type Scope = z.infer<typeof Scope>;

/** Token characters exclude ':' and ';' so the compact ANDON_API_TOKENS form stays unambiguous. */
const TOKEN_TEXT = /^[A-Za-z0-9._~+/=-]+$/;

export const ApiToken = z.object(
  {
    /** Recorded on the session as `api:<name>` for everything done with this token. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'expected 1-64 characters: letters, digits, ".", "_", "@" or "-"'),
    token: z.string().min(16, 'must be at least 16 characters').max(512).regex(TOKEN_TEXT, 'must not contain spaces, ":" or ";"'),
    scopes: z.array(Scope).min(1),
  },
  { error: 'expected { name, token, scopes } or "name:token:scope,scope"' },
);
export type ApiToken = z.infer<typeof ApiToken>;

/**
 * `name:token:scope,scope;name:token:scope` (ANDON_API_TOKENS), e.g.
 * `alice:s3cr3t-and-long-enough:read,write,approve;grafana-bot:an0ther-long-secret:read`.
 * Anything else is passed through for the array schema to refuse, naming the entry.
 */
export function parseCompactTokens(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return value
    .split(';')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const parts = entry.split(':');
      if (parts.length !== 3) return entry;
      const [name = '', token = '', scopes = ''] = parts;
      return {
        name,
        token,
        scopes: scopes
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      };
    });
}

const ApiTokens = z.preprocess(
  parseCompactTokens,
  z.array(ApiToken, { error: 'expected a list of { name, token, scopes } or "name:token:scope,scope;..."' }).superRefine((tokens, ctx) => {
    const names = new Set<string>();
    const secrets = new Set<string>();
    tokens.forEach((t, i) => {
      if (names.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate token name "${t.name}"` });
      // Two names sharing one secret would make the recorded identity ambiguous.
      if (secrets.has(t.token)) ctx.addIssue({ code: 'custom', path: [i, 'token'], message: 'the same token is listed twice' });
      names.add(t.name);
      secrets.add(t.token);
    });
  }),
);

/** Environment values arrive as strings: "false" must mean false (z.coerce.boolean would say true). */
const Flag = z.preprocess(
  (value) => (typeof value === 'string' ? ({ true: true, '1': true, false: false, '0': false }[value.toLowerCase()] ?? value) : value),
  z.boolean(),
);

export const ServiceConfig = z.object({
  /** `npm start` runs the HTTP service beside the worker. */
  enabled: Flag.default(true),
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port. */
  port: z.coerce.number().int().min(0).max(65_535).default(8080),
  /** Largest request body accepted, in bytes; larger ones get 413. */
  bodyLimit: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /**
   * API bearer tokens. With none configured, `npm start` creates a random `dev` token with every
   * scope in `<dataDir>/api-token` (mode 0600); the service itself never allows anonymous calls.
   */
  tokens: ApiTokens.default([]),
  /** How long a call to Temporal may take before the service answers 503 (commands, reads, create, list). */
  requestTimeout: Duration.pipe(z.number().min(100)).default(10_000),
  /** The longest an `ask` may wait for the agent's reply (a request's `timeoutMs` is capped to it). */
  askTimeout: Duration.pipe(z.number().min(100)).default(60_000),
  /** Seconds a client is told to wait (Retry-After) when Temporal or the worker did not answer. */
  retryAfterSeconds: z.coerce.number().int().min(1).max(3_600).default(5),
  /**
   * How many `GET /v1/sessions/:id/wait` long polls may be open at once; one more is answered 429
   * with Retry-After. Each holds a watch on Temporal until it answers or its caller disconnects.
   */
  maxConcurrentWaits: z.coerce.number().int().min(1).max(100_000).default(256),
  webhooks: WebhooksConfig.prefault({}),
  /** The Slack app (src/slack/config.ts): plan messages with Approve and Reject, the slash command, thread replies. */
  slack: SlackConfig.prefault({}),
  /** The Jules REST API under /v1alpha (src/service/jules/, docs/jules.md): the GitHub sources it offers. */
  jules: JulesConfig.prefault({}),
});
export type ServiceConfigInput = z.input<typeof ServiceConfig>;
export type ServiceConfig = z.output<typeof ServiceConfig>;
