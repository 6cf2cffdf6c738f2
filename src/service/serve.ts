/**
 * Runs the service for `npm start`: picks the tokens (the configured ones, or the dev token),
 * listens, and says how to call it. `stop()` gives in-flight requests a moment, then drops the
 * connections that are still open (long polls, live streams) so Ctrl-C is prompt.
 */
import path from 'node:path';
import type { FastifyServerOptions } from 'fastify';
import type { Andon } from '../client/andon';
import { buildService, type BuildServiceOptions } from './app';
import type { ServiceConfig } from './config';
import { devToken } from './dev-token';

export interface RunningService {
  url: string;
  /** What to print: where the API is and how to authenticate. */
  banner: string[];
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 3_000;

export async function serve(options: {
  andon: Andon;
  config: ServiceConfig;
  dataDir: string;
  logger?: FastifyServerOptions['logger'];
  codec?: BuildServiceOptions['codec'];
  /** The worker's agent names (BuildServiceOptions.agents). */
  agents?: readonly string[];
}): Promise<RunningService> {
  const { andon, dataDir } = options;
  const dev = options.config.tokens.length === 0 ? devToken(dataDir) : undefined;
  const config = dev ? { ...options.config, tokens: [dev.token] } : options.config;
  const app = await buildService({ andon, config, logger: options.logger, codec: options.codec, agents: options.agents });
  const listening = await app.listen({ host: config.host, port: config.port });
  const url = listening.replace('://0.0.0.0', '://127.0.0.1').replace('://[::]', '://[::1]');

  const banner = [`andon API: ${url}/v1 (OpenAPI: ${url}/openapi.json)`];
  if (options.codec) banner.push(`codec server (payloads are encrypted): ${url}/codec (docs/encryption.md)`);
  if (dev) {
    const file = displayPath(dev.file);
    banner.push(`API token (every scope, ${dev.created ? 'created' : 'kept'} in ${file}): export ANDON_TOKEN=$(cat ${file})`);
    if (!isLoopback(config.host))
      banner.push(`warning: listening on ${config.host} with the dev token; set service.tokens or ANDON_API_TOKENS for shared use`);
  } else {
    banner.push(`API tokens: ${config.tokens.map((t) => `${t.name} (${t.scopes.join(', ')})`).join('; ')}`);
  }

  let stopped: Promise<void> | undefined;
  const stop = async () => {
    const force = setTimeout(() => app.server.closeAllConnections(), STOP_GRACE_MS);
    try {
      await app.close();
    } finally {
      clearTimeout(force);
    }
  };
  // Called from the signal handler and again on the way out: stop once.
  return { url, banner, stop: () => (stopped ??= stop()) };
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
