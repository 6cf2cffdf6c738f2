/**
 * Receiver authentication. Each receiver has its own credentials (a monitoring system's secret
 * must not open another's door, nor the session API). A receiver with none configured is closed
 * unless the operator opened it explicitly with `allowUnauthenticated`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError, unauthorized } from '../../protocol/http-errors';
import type { ReceiverName, ReceiverSettings } from './config';

const REALM = 'realm="andon-webhooks"';
/** An unconfigured receiver is an operator's job to fix; a minute between retries is plenty. */
const NOT_CONFIGURED_RETRY_AFTER = '60';

/**
 * Equality whose time does not depend on where the strings differ. Hashing first makes the
 * lengths equal too, so the length of a secret does not leak either.
 */
export function safeEqual(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Whether the receiver can authenticate anything at all. */
export function hasCredentials(settings: ReceiverSettings): boolean {
  return settings.token !== undefined || (settings.user !== undefined && settings.password !== undefined) || settings.secret !== undefined;
}

/**
 * Checks what can be checked before the body is read: that the receiver is configured, and the
 * Authorization header when a bearer token or basic credentials are set. Throws 401 or 503.
 */
export function checkAuthorization(receiver: ReceiverName, settings: ReceiverSettings, headers: IncomingHttpHeaders): void {
  if (!hasCredentials(settings)) {
    if (settings.allowUnauthenticated) return;
    throw notConfigured(receiver);
  }
  const bearer = settings.token !== undefined;
  const basic = settings.user !== undefined && settings.password !== undefined;
  if (!bearer && !basic) return; // only a signature: checked once the body is in
  const challenge = [bearer ? `Bearer ${REALM}` : undefined, basic ? `Basic ${REALM}, charset="UTF-8"` : undefined]
    .filter(Boolean)
    .join(', ');
  const header = headers.authorization;
  if (typeof header !== 'string' || header.trim() === '') {
    throw unauthorized(
      `the ${receiver} webhook needs credentials: ${bearer ? '"Authorization: Bearer <token>"' : ''}${bearer && basic ? ' or ' : ''}${basic ? 'HTTP basic authentication' : ''}`,
      challenge,
    );
  }
  const given = parseAuthorization(header);
  const ok =
    (bearer && given?.scheme === 'bearer' && safeEqual(given.token, settings.token!)) ||
    (basic && given?.scheme === 'basic' && bothEqual(given, settings.user!, settings.password!));
  if (!ok) throw unauthorized(`invalid credentials for the ${receiver} webhook`, challenge);
}

/** Refuses a request whose vendor signature does not match the configured signing secret. */
export function checkSignature(receiver: ReceiverName, valid: boolean): void {
  if (!valid) throw unauthorized(`missing or invalid request signature for the ${receiver} webhook`, `Signature ${REALM}`);
}

type GivenCredentials = { scheme: 'bearer'; token: string } | { scheme: 'basic'; user: string; password: string };

function parseAuthorization(header: string): GivenCredentials | undefined {
  const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (bearer?.[1]) return { scheme: 'bearer', token: bearer[1] };
  const basic = /^Basic[ ]+([A-Za-z0-9+/]+=*)\s*$/i.exec(header);
  if (!basic?.[1]) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { scheme: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function bothEqual(given: { user: string; password: string }, user: string, password: string): boolean {
  // Both comparisons always run, so the time does not tell whether the user name was right.
  const userOk = safeEqual(given.user, user);
  const passwordOk = safeEqual(given.password, password);
  return userOk && passwordOk;
}

function notConfigured(receiver: ReceiverName): HttpError {
  const prefix = `ANDON_WEBHOOK_${receiver.toUpperCase()}`;
  const how =
    receiver === 'pagerduty'
      ? `${prefix}_SECRET (the subscription's signing secret)`
      : `${prefix}_TOKEN, or ${prefix}_USER and ${prefix}_PASSWORD`;
  return new HttpError(
    503,
    'webhook_not_configured',
    `the ${receiver} webhook has no credentials configured, so it accepts nothing: set ${how}, or webhooks.${receiver}.allowUnauthenticated: true to open it to anyone`,
    {},
    { 'retry-after': NOT_CONFIGURED_RETRY_AFTER },
  );
}
