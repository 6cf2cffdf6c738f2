/**
 * How the CLI reaches andon: through the HTTP service (`--service <url>` or ANDON_SERVICE_URL,
 * with `--token` or ANDON_TOKEN), or straight to Temporal. Commands see only the AndonApi both
 * offer, so each command has one implementation.
 *
 * The command line beats the environment: `--address` (or `--namespace`, `--task-queue`) with
 * ANDON_SERVICE_URL set goes to Temporal; with `--service` it is refused as contradictory.
 */
import { AndonHttp } from '../client/http';
import type { AndonApi } from '../client/api';
import { baseUrlOf } from '../client/http/transport';
import { connect } from './connect';
import { UsageError } from './errors';

export interface TransportOptions {
  service?: string;
  token?: string;
  as?: string;
  address?: string;
  namespace?: string;
  taskQueue?: string;
  /** Who is recorded as `by` over Temporal. */
  identity: string;
}

export interface Transport {
  api: AndonApi;
  /** Rejects with UnavailableError when the server cannot be reached (Temporal only; HTTP calls fail one by one). */
  ready?: Promise<void>;
}

const TEMPORAL_FLAGS = [
  ['address', '--address'],
  ['namespace', '--namespace'],
  ['taskQueue', '--task-queue'],
] as const;

export function openTransport(options: TransportOptions, env: NodeJS.ProcessEnv = process.env): Transport {
  const temporalFlag = TEMPORAL_FLAGS.find(([key]) => options[key] !== undefined);
  if (options.service !== undefined && temporalFlag) {
    throw new UsageError(`${temporalFlag[1]} is for talking straight to Temporal; it cannot be combined with --service`, temporalFlag[0]);
  }
  const fromEnv = env.ANDON_SERVICE_URL?.trim() || undefined;
  const service = options.service ?? (temporalFlag ? undefined : fromEnv);
  if (service === undefined) {
    if (options.token !== undefined)
      throw new UsageError('--token is for the andon service: pass --service <url> (or set ANDON_SERVICE_URL) too', 'token');
    return connect({ identity: options.identity, address: options.address, namespace: options.namespace, taskQueue: options.taskQueue });
  }

  const source = options.service !== undefined ? '--service' : 'ANDON_SERVICE_URL';
  try {
    baseUrlOf(service);
  } catch (error) {
    throw new UsageError(`invalid ${source} "${service}": ${(error as Error).message} (expected e.g. http://127.0.0.1:8080)`, 'service');
  }
  if (options.as !== undefined) {
    throw new UsageError("--as cannot be used with the service: it records what you do as the token's name (api:<name>)", 'as');
  }
  const token = options.token ?? (env.ANDON_TOKEN?.trim() || undefined);
  if (token === undefined) throw new UsageError('the andon service needs an API token: set ANDON_TOKEN or pass --token <token>', 'token');
  return { api: new AndonHttp({ url: service, token }) };
}
