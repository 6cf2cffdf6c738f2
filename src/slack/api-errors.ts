/**
 * What a failed Slack call means for the notification: try again (when, if Slack said), or give
 * up. The WebClient is built not to retry on its own (client.ts), so Temporal's retry policy is
 * the only one, visible in the workflow's history.
 */
import { ErrorCode, type WebAPICallError } from '@slack/web-api';
import { NotifyError } from '../notify/notifier';

/** Slack error codes that may succeed later; every other `ok: false` is a verdict on the request. */
const TRANSIENT_CODES = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

/** Slack answers failures with `ok: false` and a code: some worth telling the operator how to fix. */
const ADVICE: Readonly<Record<string, string>> = {
  channel_not_found: 'the channel does not exist or the app cannot see it (a private channel needs the app invited)',
  not_in_channel: 'invite the app to the channel (/invite @andon)',
  is_archived: 'the channel is archived',
  invalid_auth: 'the bot token is not valid: check ANDON_SLACK_BOT_TOKEN',
  not_authed: 'no bot token was sent: check ANDON_SLACK_BOT_TOKEN',
  token_revoked: 'the bot token was revoked: reinstall the app',
  account_inactive: 'the bot token belongs to a deleted app or user',
  missing_scope: 'the app lacks a scope it needs (chat:write at least): see docs/slack.md',
  message_not_found: 'the session message was deleted',
};

export function toNotifyError(error: unknown, method: string): NotifyError {
  const slack = asWebApiError(error);
  if (!slack) {
    // Not from the Web API (a retry-header the client could not read, a bug): transient until proven otherwise.
    return new NotifyError(`Slack ${method} failed: ${(error as Error)?.message ?? String(error)}`, { retryable: true, cause: error });
  }
  switch (slack.code) {
    case ErrorCode.RateLimitedError:
      return new NotifyError(`Slack ${method} was rate limited: retry after ${slack.retryAfter} s`, {
        retryable: true,
        retryAfterMs: slack.retryAfter * 1_000,
        cause: error,
      });
    case ErrorCode.HTTPError: {
      const retryable = slack.statusCode >= 500 || slack.statusCode === 408;
      const retryAfter = Number.parseInt(slack.headers['retry-after'] ?? '', 10);
      return new NotifyError(`Slack ${method} answered HTTP ${slack.statusCode}`, {
        retryable,
        retryAfterMs: retryable && Number.isFinite(retryAfter) ? retryAfter * 1_000 : undefined,
        cause: error,
      });
    }
    case ErrorCode.RequestError:
      return new NotifyError(`Slack ${method} could not be reached: ${slack.original.message}`, { retryable: true, cause: error });
    case ErrorCode.PlatformError: {
      const code = slack.data.error;
      const retryAfter = slack.data.response_metadata?.retryAfter;
      const advice = ADVICE[code];
      return new NotifyError(`Slack ${method} failed: ${code}${advice ? ` (${advice})` : ''}`, {
        retryable: TRANSIENT_CODES.has(code),
        retryAfterMs: typeof retryAfter === 'number' ? retryAfter * 1_000 : undefined,
        cause: error,
      });
    }
  }
}

function asWebApiError(error: unknown): WebAPICallError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const codes: unknown[] = [ErrorCode.RateLimitedError, ErrorCode.HTTPError, ErrorCode.RequestError, ErrorCode.PlatformError];
  return codes.includes(code) ? (error as WebAPICallError) : undefined;
}

/** The Slack error code of a failed call (`channel_not_found`, ...), if it was one. */
export function slackErrorCode(error: unknown): string | undefined {
  const slack = asWebApiError(error);
  return slack?.code === ErrorCode.PlatformError ? slack.data.error : undefined;
}
