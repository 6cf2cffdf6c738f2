/**
 * Builds the Andon client for the CLI. The command-line overrides are applied to a copy of the
 * environment and go through the same resolution as the worker (loadConfig, then
 * resolveTemporalTarget), so `--address` behaves exactly like TEMPORAL_ADDRESS would.
 */
import { Client, Connection } from '@temporalio/client';
import { Andon } from '../client/andon';
import { UnavailableError } from '../client/errors';
import type { AndonApi } from '../client/api';
import { encryptingDataConverter } from '../client/codec';
import { encryptionCodec, loadConfig, resolveTemporalTarget, sessionDefaults } from '../config';

export interface ConnectOptions {
  identity: string;
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

export interface Connected {
  /** The SDK, as the commands see it (typed as AndonApi, so it is checked to offer what they use). */
  api: AndonApi;
  /** Settles when the server has answered; rejects with UnavailableError if it cannot be reached. */
  ready: Promise<void>;
}

/**
 * The connection is lazy so that input the SDK refuses (it validates before any network call) is
 * reported as such, at once, even when the server is down; `ready` reports the server separately.
 */
export function connect(options: ConnectOptions, env: NodeJS.ProcessEnv = process.env): Connected {
  const overridden: NodeJS.ProcessEnv = { ...env };
  if (options.address !== undefined) overridden.TEMPORAL_ADDRESS = options.address;
  if (options.namespace !== undefined) overridden.TEMPORAL_NAMESPACE = options.namespace;
  if (options.taskQueue !== undefined) overridden.ANDON_TASK_QUEUE = options.taskQueue;
  const config = loadConfig({ env: overridden });
  const target = resolveTemporalTarget(config, overridden);
  const address = target.connectionOptions.address ?? '(default address)';
  const connection = Connection.lazy(target.connectionOptions as Parameters<typeof Connection.lazy>[0]);
  const ready = connection.ensureConnected().catch((error: unknown) => {
    const hint = target.embedded ? ' (is `npm start` running? or pass --address / set TEMPORAL_ADDRESS)' : '';
    throw new UnavailableError(`cannot reach Temporal at ${address}: ${(error as Error).message}${hint}`, { cause: error });
  });
  // Encryption is on whenever keys are configured (docs/encryption.md): the CLI reads and writes as the worker does.
  const codec = encryptionCodec(config);
  const api: AndonApi = new Andon({
    // The embedded dev server's namespace comes from config; --namespace wins over both.
    client: new Client({
      connection,
      namespace: options.namespace ?? target.namespace,
      ...(codec ? { dataConverter: encryptingDataConverter(codec) } : {}),
    }),
    taskQueue: config.taskQueue,
    identity: options.identity,
    // The configured policies apply to sessions the CLI starts, as to those `npm start`'s service starts.
    defaults: sessionDefaults(config),
  });
  return { api, ready };
}
