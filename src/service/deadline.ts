/**
 * A bound on calls the SDK does not let us bound itself (create, list: fixed 30 s inside the
 * SDK). An HTTP client must hear back within the service's deadline; the call itself may still
 * finish later, which is why creating a session with an `id` is the safe way to retry.
 */
import { TimeoutError } from '../client/errors';

export async function withDeadline<T>(timeoutMs: number, what: string, call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`${what} did not finish within ${timeoutMs} ms (is Temporal reachable?)`, timeoutMs)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([call, expired]);
  } finally {
    clearTimeout(timer);
  }
}
