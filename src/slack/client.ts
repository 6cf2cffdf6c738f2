/**
 * The Slack Web API client as andon uses it. It never retries and never waits out a rate limit
 * itself: a notification's retries belong to Temporal (visible, durable, honouring Retry-After
 * through the activity's next retry delay), and the HTTP endpoints must answer Slack within
 * seconds rather than sleep in a client queue.
 */
import { LogLevel, WebClient, type FetchFunction } from '@slack/web-api';

export interface SlackClientOptions {
  botToken: string;
  /** Default https://slack.com/api/. */
  apiUrl?: string;
  /** Per call; default 10 s, well inside the notify activity's 30 s. */
  timeoutMs?: number;
  /** Stops the calls in flight, e.g. when Temporal cancels the activity. */
  signal?: AbortSignal;
}

export function slackClient(options: SlackClientOptions): WebClient {
  const { signal } = options;
  const boundFetch: FetchFunction | undefined = signal
    ? (url, init) => fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal } as RequestInit)
    : undefined;
  return new WebClient(options.botToken, {
    slackApiUrl: options.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: options.timeoutMs ?? 10_000,
    // Failures surface as errors with their reason (NotifyError, an ephemeral answer); the client's own log would say it twice.
    logLevel: LogLevel.ERROR,
    ...(boundFetch ? { fetch: boundFetch } : {}),
  });
}
