/**
 * `npm start`: the main job. With no external Temporal configured it runs the embedded stack —
 * the Temporal dev server (SQLite file under the data directory, Web UI on) and the andon
 * worker. With TEMPORAL_ADDRESS or a profile it runs only the worker against that cluster.
 * The HTTP service (src/service) runs beside the worker unless service.enabled is false.
 * Ctrl-C stops the HTTP service first (no new requests), then the worker (finishing in-flight
 * tasks), then the server.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { AgentRegistry } from './agents';
import { ScriptedAgent } from './agents/scripted';
import { ensureDemoRepository } from './agents/scripted/demo-repository';
import { Andon } from './client/andon';
import { agentsOf, encryptionCodec, findProjectRoot, connectOptions, loadConfig, resolveTemporalTarget } from './config';
import { createMemoryStore } from './memory';
import { serve, type RunningService } from './service/serve';
import { findTemporalCli } from './temporal/cli-binary';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { createWorker } from './worker';
import { SLACK_ROUTES, SlackNotifier, isSlackEnabled, timelineFacts, type EnabledSlackConfig } from './slack';

async function main(): Promise<void> {
  // The worker logs every bundling step at INFO; an operator wants warnings and the welcome text.
  const logLevel = (process.env.ANDON_LOG_LEVEL?.toUpperCase() as LogLevel | undefined) ?? 'WARN';
  // Signals are handled below, so the HTTP service stops before the worker does.
  Runtime.install({ logger: new DefaultLogger(logLevel), shutdownSignals: [] });
  const root = findProjectRoot();
  const config = loadConfig({ root });
  const target = resolveTemporalTarget(config);
  // Every agent is made (modules loaded and checked) before anything starts: a wrong one stops here.
  const configured = agentsOf(config);
  // With encryption keys configured, agents seal what they keep on disk (LLM transcripts) with them too.
  const { keys, activeKeyId } = config.encryption;
  const encryption = keys && keys.length > 0 ? { keys, activeKeyId } : undefined;
  const agents = await AgentRegistry.create(configured.agents, { defaultAgent: configured.defaultAgent, root, encryption });
  checkRouteAgents(config, agents);
  // Keys configured: every payload the worker, the service's client and the CLI write is encrypted.
  const codec = encryptionCodec(config);
  // The local stack runs the offline code scenario too: the demo repository, a git source this worker may use.
  const codeDemo = target.embedded ? await prepareCodeDemo(config, agents, root) : undefined;

  let server: DevServer | undefined;
  if (target.embedded) {
    const binary = await findTemporalCli({ log: (line) => console.error(line) });
    // With encryption on, the dev server's UI decodes through the service's codec server (for users with a `read` token).
    const uiCodec =
      codec && config.service.enabled
        ? ['--ui-codec-endpoint', `http://${codecHost(config.service.host)}:${config.service.port}/codec`]
        : [];
    server = await startDevServer({ binary, ...config.devServer, dbFile: config.devServer.dbFile!, extraArgs: uiCodec });
    console.log(`Temporal dev server: ${server.address} (data: ${config.devServer.dbFile})`);
  }

  const connection = await NativeConnection.connect(target.connectionOptions);
  // Memories outlive sessions and restarts: a SQLite file under the data directory by default.
  const memory = createMemoryStore(config);
  // A wrong PostgreSQL URL shows at start, not when the first session plans.
  await memory.ready?.();
  const slack = isSlackEnabled(config.service.slack) ? config.service.slack : undefined;
  let andon: Andon | undefined;
  let service: RunningService | undefined;
  try {
    await ensureSearchAttributes(connection, target.namespace, (line) => console.error(line));
    // The Slack notifier reads who decided from the session's timeline, through a client of its own kind.
    if (config.service.enabled || slack) andon = await Andon.connect({ ...connectOptions(config), identity: 'service' });
    const worker = await createWorker({
      connection,
      namespace: target.namespace,
      taskQueue: config.taskQueue,
      agents,
      memory,
      workspace: config.workspace,
      dataDir: config.dataDir,
      notifiers: slack && andon ? { slack: slackNotifier(slack, andon, target.namespace, server) } : undefined,
      maxCachedWorkflows: config.worker.maxCachedWorkflows,
      maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivityTaskExecutions,
      codec,
    });
    if (config.service.enabled) {
      service = await serve({
        andon: andon!,
        config: config.service,
        dataDir: config.dataDir,
        logger: { level: logLevel.toLowerCase() },
        codec: codec && { codec, corsOrigins: codecOrigins(config), namespace: target.namespace },
        // The service runs beside this worker: a session naming an agent it lacks is refused at once.
        agents: agents.names,
      });
    }
    printWelcome(server, target.connectionOptions.address ?? '', target.namespace, config.taskQueue, agents, service, codeDemo);
    if (slack) console.log(slackBanner(slack, service));
    onShutdownSignal(async () => {
      await service?.stop();
      worker.shutdown();
    });
    await worker.run();
  } finally {
    await service?.stop();
    await andon?.close();
    await memory.close();
    await connection.close();
    await server?.stop();
  }
  console.log('andon stopped.');
}

interface CodeDemo {
  /** The bare demo repository (data/demo/checkout-service.git). */
  repository: string;
  /** The agent that plays the code scenario; undefined when it is the default agent. */
  agent: string | undefined;
}

/**
 * Makes the demo repository (idempotently: same commit every start) and allows it as a `git`
 * source, when an agent of this worker plays a code scenario (the scripted agent with a script that
 * has one). No git on the machine only loses the code demo, with a warning; andon still starts.
 */
async function prepareCodeDemo(config: ReturnType<typeof loadConfig>, agents: AgentRegistry, root: string): Promise<CodeDemo | undefined> {
  // The demo's files are in a clone of andon, not in the npm package: no files, no code demo.
  const files = path.join(root, 'demo', 'repos', 'checkout-service');
  if (!existsSync(files)) return undefined;
  const player = agents.names.find((name) => {
    const { agent } = agents.resolve(name);
    return agent instanceof ScriptedAgent && agent.script.code !== undefined;
  });
  if (player === undefined) return undefined;
  try {
    const demo = await ensureDemoRepository(path.join(config.dataDir, 'demo'), files);
    if (!config.workspace.allowedGitSources.includes(demo.path)) config.workspace.allowedGitSources.push(demo.path);
    return { repository: demo.path, agent: player === agents.defaultAgent ? undefined : player };
  } catch (error) {
    console.warn(`the offline code demo is off: cannot make its git repository: ${(error as Error).message}`);
    return undefined;
  }
}

function codeDemoLines(demo: CodeDemo): string[] {
  const agent = demo.agent ? ` --agent ${demo.agent}` : '';
  return [
    'A code session (the agent fixes a failing test in the demo repository and publishes a branch):',
    `  npx andon start${agent} --source git:${demo.repository} --prompt "Fix the failing checkout test" --id code-1`,
    '  npx andon tail code-1',
    '  npx andon approve code-1',
    `  git -C ${demo.repository} log --stat -1 andon/code-1`,
  ];
}

/** A webhook route that names an agent this worker does not have is a typo: refused at start, not when an alert fires. */
function checkRouteAgents(config: ReturnType<typeof loadConfig>, agents: AgentRegistry): void {
  const { routes, defaultRoute } = config.service.webhooks;
  const named = [
    ...routes.map((route, i) => [`service.webhooks.routes[${i}].agent`, route.agent] as const),
    ['service.webhooks.defaultRoute.agent', defaultRoute.agent] as const,
  ];
  for (const [field, agent] of named) {
    if (agent !== undefined && !agents.names.includes(agent))
      throw new Error(`invalid configuration: ${field}: no agent is named "${agent}" (configured: ${agents.names.join(', ')})`);
  }
}

function slackNotifier(slack: EnabledSlackConfig, andon: Andon, namespace: string, server: DevServer | undefined): SlackNotifier {
  return new SlackNotifier({
    botToken: slack.botToken,
    apiUrl: slack.apiUrl,
    temporalUiUrl: slack.temporalUiUrl ?? server?.uiUrl,
    namespace,
    facts: timelineFacts(andon),
    warn: (message) => console.warn(message),
  });
}

function slackBanner(slack: EnabledSlackConfig, service: RunningService | undefined): string {
  const channel = slack.defaultChannel ? `, alerts to ${slack.defaultChannel} unless a route names a channel` : '';
  if (!service)
    return `Slack: posting session messages${channel}; buttons, /andon and thread replies need the HTTP service (service.enabled)`;
  return [
    `Slack: posting session messages${channel}; request URLs (behind your public HTTPS address):`,
    ...SLACK_ROUTES.map((route) => `  ${service.url}${route}`),
  ].join('\n');
}

/** The first SIGINT/SIGTERM stops andon in order; a second one exits at once. */
function onShutdownSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143);
    stopping = true;
    console.log('\nstopping andon (Ctrl-C again to exit at once)...');
    stop().catch((error: Error) => console.error(`stopping failed: ${error.message}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

function printWelcome(
  server: DevServer | undefined,
  address: string,
  namespace: string,
  taskQueue: string,
  agents: AgentRegistry,
  service: RunningService | undefined,
  codeDemo: CodeDemo | undefined,
): void {
  const agentList =
    agents.names.length === 1
      ? `agent ${agents.defaultAgent}`
      : `agents ${agents.defaultAgent} (default), ${agents.names.slice(1).join(', ')}`;
  const ui = server?.uiUrl ? `${server.uiUrl}/namespaces/${namespace}/workflows` : undefined;
  console.log(
    [
      '',
      `andon worker running: ${address}, namespace ${namespace}, task queue ${taskQueue}, ${agentList}`,
      ui ? `Temporal UI: ${ui}` : '',
      ...(service?.banner ?? []),
      '',
      'Try it (in another terminal):',
      '  node demo/bin/reset.js',
      '  npx andon start --prompt "checkout-api error rate above 5%" --context service=checkout-api --id demo-1',
      '  npx andon tail demo-1',
      '  npx andon approve demo-1',
      ...(service
        ? [
            '',
            'or over HTTP:',
            `  curl -s -X POST ${service.url}/v1/sessions -H "Authorization: Bearer $ANDON_TOKEN" -H 'Content-Type: application/json' -d '{"id":"demo-3","prompt":"checkout-api error rate above 5%","context":{"service":"checkout-api"}}'`,
            `  curl -s "${service.url}/v1/sessions/demo-3/wait?state=awaitingPlanApproval" -H "Authorization: Bearer $ANDON_TOKEN"`,
            `  curl -s -X POST ${service.url}/v1/sessions/demo-3/approve -H "Authorization: Bearer $ANDON_TOKEN"`,
          ]
        : []),
      ...(codeDemo ? ['', ...codeDemoLines(codeDemo)] : []),
      '',
      'Ctrl-C stops andon.',
    ]
      .filter((line, i, all) => line !== '' || all[i - 1] !== '')
      .join('\n'),
  );
}

main().catch((error: Error) => {
  console.error(`andon failed to start: ${error.message}`);
  process.exit(1);
});

/** Where the browser reaches the service: a wildcard listen address means this machine. */
function codecHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

/** The configured UI origins; with none, the embedded dev server's UI (both spellings of this machine). */
function codecOrigins(config: ReturnType<typeof loadConfig>): string[] {
  if (config.encryption.corsOrigins.length > 0) return config.encryption.corsOrigins;
  const port = config.devServer.uiPort;
  return [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
}
