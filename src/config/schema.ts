/**
 * andon's project configuration: the schema of temporal.config.ts, and the environment variables
 * that override it. The loader is load.ts; this module does not read the project file, so
 * temporal.config.ts can import `defineConfig` from it without a cycle.
 */
import { z } from 'zod';
import { Budget, Duration, ReviewPolicy } from '../session/schema';
import { ApprovalPolicy } from '../session/approval';
import { ServiceConfig } from '../service/config';
import { AgentConfig, AgentName, BuiltinAgentConfig, configuredAgents } from '../agents/agent-config';
import { MemoryConfig } from '../memory/config';
import { WorkspaceConfig } from '../workspace/config';
import { EncryptionKeys, KeyId } from '../client/codec';

const Port = z.coerce.number().int().min(1).max(65_535);

export const AndonConfigSchema = z
  .object({
    /** Task queue the worker polls and sessions run on. */
    taskQueue: z.string().min(1).default('andon'),
    /** Where andon keeps local state (the dev server's SQLite file). Relative to the project root. */
    dataDir: z.string().min(1).default('data'),
    /** The embedded Temporal dev server, used when no external cluster is configured. */
    devServer: z
      .object({
        ip: z.string().default('127.0.0.1'),
        port: Port.default(7233),
        uiPort: Port.default(8233),
        ui: z.boolean().default(true),
        namespace: z.string().min(1).default('default'),
        /** SQLite file; defaults to `<dataDir>/temporal.db`. */
        dbFile: z.string().optional(),
        logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('warn'),
        /** Extra `--sqlite-pragma` values. WAL lets the UI read while the server writes. */
        sqlitePragmas: z.array(z.string()).default(['journal_mode=WAL']),
      })
      .prefault({}),
    /** A named profile from the Temporal environment config file (temporal.toml). */
    profile: z.string().optional(),
    /**
     * The single agent of earlier versions, still the simplest way to run one built-in agent
     * (scripted, runbook, llm or jules). It is registered beside `agents` under its kind (an llm: its
     * `name`, default `llm`) and is the default agent unless `defaultAgent` names another. With
     * neither `backend` nor `agents` configured, andon runs the scripted demo agent.
     */
    backend: BuiltinAgentConfig.optional(),
    /**
     * The worker's agents by name (docs/agents.md): built-in kinds (`{ kind: 'runbook', ... }`) or
     * modules of your own (`{ module: './my-agent.js', export?: 'default', options?: {...} }`). A
     * session chooses one with `agent: '<name>'`; a webhook route with `agent`.
     */
    agents: z.record(AgentName, AgentConfig).default({}),
    /** The agent of sessions that choose none. Unset: `backend`'s agent, or the only one in `agents`. */
    defaultAgent: AgentName.optional(),
    sessions: z
      .object({
        /** How long a completed session keeps answering follow-up messages. */
        followUpWindow: Duration.default(60 * 60 * 1000),
        requirePlanApproval: z.boolean().default(true),
        /** The approval policy of sessions that do not bring one (alert routes may set their own). Unset: anyone, once. */
        approval: ApprovalPolicy.optional(),
        /** The token and cost budget of sessions that do not bring one. Unset: no limit. */
        budget: Budget.optional(),
        /** How long tool-call reviews wait before they are denied on their own. Unset: until someone decides. */
        review: ReviewPolicy.optional(),
      })
      .prefault({}),
    worker: z
      .object({
        /**
         * Sessions kept hot in worker memory; the rest are replayed from history (a waiting session:
         * ~15 events) when they wake. Each cached session costs ~0.6 MiB of worker RSS (measured:
         * bench park; docs/operations.md, "Worker memory"), so this, not the number of sessions,
         * bounds the worker's memory.
         */
        maxCachedWorkflows: z.coerce.number().int().nonnegative().default(500),
        maxConcurrentActivityTaskExecutions: z.coerce.number().int().positive().optional(),
      })
      .prefault({}),
    /** The HTTP service `npm start` runs beside the worker (src/service/config.ts). */
    service: ServiceConfig.prefault({}),
    /**
     * Where agents' memories live (src/memory/config.ts): a SQLite file (`kind: 'sqlite'`, the
     * default) or a PostgreSQL table (`kind: 'postgres'`, `url`). Without `kind`, a `url` means
     * postgres, so ANDON_MEMORY_FILE or ANDON_MEMORY_URL alone works.
     */
    memory: MemoryConfig.prefault({ kind: 'sqlite' }),
    /**
     * Code sessions' working trees on the worker (docs/code-sessions.md): where they live (default
     * `<dataDir>/workspaces`), which sources the worker may use (`allowedGitSources`, `allowedGitHub`),
     * GitHub's clone and API URLs and the environment variable holding the token (never the token
     * itself), limits (git timeout, `maxChangeBytes`) and the commit author.
     */
    workspace: WorkspaceConfig.prefault({}),
    /**
     * Payload encryption (docs/encryption.md). With keys configured, the worker, the SDK clients of
     * `npm start` and the CLI, and the service encrypt every payload with AES-256-GCM. Keep keys out
     * of this file: set ANDON_ENCRYPTION_KEYS, or point `keyFile` (ANDON_ENCRYPTION_KEY_FILE) at a file.
     */
    encryption: z
      .object({
        /** `id:base64key,id:base64key` or `[{ id, key }]`: every key that may decrypt. */
        keys: EncryptionKeys.optional(),
        /** A file holding `id:base64key,...` (mode 0600); read at start, used when `keys` is not set. */
        keyFile: z.string().min(1).optional(),
        /** The key that encrypts; default: the first of `keys`. */
        activeKeyId: KeyId.optional(),
        /**
         * Origins allowed to call the codec server (`/codec/decode`, `/codec/encode`) from a browser:
         * the Temporal UI's, e.g. `http://localhost:8233`.
         */
        corsOrigins: z
          .preprocess(
            (v) =>
              typeof v === 'string'
                ? v
                    .split(',')
                    .map((o) => o.trim())
                    .filter((o) => o !== '')
                : v,
            z.array(z.url().max(256)).max(16),
          )
          .default([]),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const agents = configuredAgents(config);
    if (!agents.ok) ctx.addIssue({ code: 'custom', path: agents.field.split('.'), message: agents.message });
  });
export type AndonConfigInput = z.input<typeof AndonConfigSchema>;
export type AndonConfig = z.output<typeof AndonConfigSchema>;

/** Typed helper for temporal.config.ts. */
export function defineConfig(config: AndonConfigInput): AndonConfigInput {
  return config;
}

/** Environment variables andon reads, and the config path each one sets. */
export const ENV_OVERRIDES: Readonly<Record<string, string>> = {
  ANDON_TASK_QUEUE: 'taskQueue',
  ANDON_DATA_DIR: 'dataDir',
  ANDON_DEV_SERVER_PORT: 'devServer.port',
  ANDON_DEV_SERVER_UI_PORT: 'devServer.uiPort',
  ANDON_DEV_SERVER_DB_FILE: 'devServer.dbFile',
  /** `scripted`, `runbook`, `llm` or `jules`: the `backend` agent; the other backend's own settings then take their defaults. */
  ANDON_BACKEND: 'backend.kind',
  /** The agent of sessions that choose none (a name in `agents`). */
  ANDON_DEFAULT_AGENT: 'defaultAgent',
  ANDON_SCRIPT: 'backend.script',
  ANDON_RUNBOOKS: 'backend.runbooks',
  /** With ANDON_BACKEND=llm: openai, anthropic, google or openai-compatible; the model id; the API's base URL. */
  ANDON_LLM_PROVIDER: 'backend.provider',
  ANDON_LLM_MODEL: 'backend.model',
  ANDON_LLM_BASE_URL: 'backend.baseURL',
  /** With ANDON_BACKEND=llm: where transcripts are kept, a SQLite file or a `postgres://` URL shared by every worker. */
  ANDON_LLM_TRANSCRIPTS: 'backend.transcripts',
  /** With ANDON_BACKEND=jules: the Jules API's base URL (default https://jules.googleapis.com/v1alpha). */
  ANDON_JULES_BASE_URL: 'backend.baseUrl',
  ANDON_FOLLOW_UP_WINDOW: 'sessions.followUpWindow',
  ANDON_MAX_CACHED_WORKFLOWS: 'worker.maxCachedWorkflows',
  TEMPORAL_PROFILE: 'profile',
  ANDON_SERVICE_ENABLED: 'service.enabled',
  ANDON_SERVICE_HOST: 'service.host',
  ANDON_SERVICE_PORT: 'service.port',
  ANDON_SERVICE_BODY_LIMIT: 'service.bodyLimit',
  ANDON_SERVICE_REQUEST_TIMEOUT: 'service.requestTimeout',
  ANDON_SERVICE_ASK_TIMEOUT: 'service.askTimeout',
  ANDON_SERVICE_MAX_CONCURRENT_WAITS: 'service.maxConcurrentWaits',
  /** `name:token:scope,scope;...` (see src/service/config.ts); replaces the configured tokens. */
  ANDON_API_TOKENS: 'service.tokens',
  /** `owner/repo,owner/repo`: the GitHub sources the Jules REST API offers (docs/jules.md). */
  ANDON_JULES_SOURCES: 'service.jules.sources',
  /** The memory store: `sqlite` (default) or `postgres`. */
  ANDON_MEMORY_KIND: 'memory.kind',
  /** The memory store's SQLite file. */
  ANDON_MEMORY_FILE: 'memory.file',
  /** The memory store's PostgreSQL connection string (`postgres://user:password@host/db`); implies `postgres`. */
  ANDON_MEMORY_URL: 'memory.url',
  /** `id:base64key,id:base64key`: the payload encryption keys (docs/encryption.md); setting them turns encryption on. */
  ANDON_ENCRYPTION_KEYS: 'encryption.keys',
  /** A file holding the keys in the same form. */
  ANDON_ENCRYPTION_KEY_FILE: 'encryption.keyFile',
  /** The id of the key that encrypts (default: the first key). */
  ANDON_ENCRYPTION_KEY_ID: 'encryption.activeKeyId',
  /** Comma-separated origins (the Temporal UI's) allowed to call the codec server. */
  ANDON_CODEC_CORS_ORIGINS: 'encryption.corsOrigins',
};
