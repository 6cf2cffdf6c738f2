/**
 * The token `npm start` uses when no API tokens are configured: random, with every scope, kept
 * in `<dataDir>/api-token` (mode 0600) so it survives restarts and scripts can read it
 * (`curl -H "Authorization: Bearer $(cat data/api-token)"`). Whoever can read that file can
 * already read every session in the dev server's SQLite file next to it, so it grants nothing
 * new; the service itself never serves the API anonymously.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApiToken, SCOPES } from './config';

export const DEV_TOKEN_NAME = 'dev';
export const DEV_TOKEN_FILE = 'api-token';

export function devToken(dataDir: string): { token: ApiToken; file: string; created: boolean } {
  const file = path.join(dataDir, DEV_TOKEN_FILE);
  const existing = read(file);
  const parsed = existing === undefined ? undefined : ApiToken.safeParse({ name: DEV_TOKEN_NAME, token: existing, scopes: [...SCOPES] });
  if (parsed?.success) return { token: parsed.data, file, created: false };

  const token = randomBytes(32).toString('base64url');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  // writeFileSync's mode applies only when it creates the file; an invalid old one is replaced.
  chmodSync(file, 0o600);
  return { token: { name: DEV_TOKEN_NAME, token, scopes: [...SCOPES] }, file, created: true };
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
