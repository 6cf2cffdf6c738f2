/**
 * The service's configuration (tokens in both forms, environment overrides), its startup guard
 * against routes without a scope, token matching, and the dev token `npm start` creates.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { ConfigError, loadConfig } from '../../src/config';
import { authPlugin, tokenMatcher } from '../../src/service/auth';
import { ServiceConfig, parseCompactTokens } from '../../src/service/config';
import { devToken } from '../../src/service/dev-token';

const base = { taskQueue: 'andon', backend: { kind: 'scripted' as const, script: 'scripts/demo.json' } };
const SECRET = 'abcdefghijklmnop-0123';

describe('ServiceConfig', () => {
  it('has safe defaults: loopback, no tokens, bounded deadlines', () => {
    expect(ServiceConfig.parse({})).toMatchObject({
      enabled: true,
      host: '127.0.0.1',
      port: 8080,
      bodyLimit: 1024 * 1024,
      tokens: [],
      requestTimeout: 10_000,
      askTimeout: 60_000,
      retryAfterSeconds: 5,
    });
  });

  it('reads tokens as a list or in the compact name:token:scopes form', () => {
    const compact = `alice:${SECRET}:read,write,approve; bot:${SECRET}-2:read ;`;
    expect(parseCompactTokens(compact)).toEqual([
      { name: 'alice', token: SECRET, scopes: ['read', 'write', 'approve'] },
      { name: 'bot', token: `${SECRET}-2`, scopes: ['read'] },
    ]);
    expect(ServiceConfig.parse({ tokens: compact }).tokens).toHaveLength(2);
    expect(ServiceConfig.parse({ tokens: [{ name: 'a', token: SECRET, scopes: ['read'] }] }).tokens[0]?.name).toBe('a');
  });

  it.each([
    [`alice:short:read`, 'tokens.0.token'],
    [`alice:${SECRET}:read,admin`, 'tokens.0.scopes.1'],
    [`alice:${SECRET}`, 'tokens.0'],
    [`alice:${SECRET}:`, 'tokens.0.scopes'],
    [`alice:${SECRET}:read;alice:${SECRET}-2:read`, 'tokens.1.name'],
    [`alice:${SECRET}:read;bob:${SECRET}:read`, 'tokens.1.token'],
  ])('refuses %s at %s', (tokens, field) => {
    const parsed = ServiceConfig.safeParse({ tokens });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path.join('.')).toBe(field);
  });

  it('is wired into loadConfig with environment overrides', () => {
    const config = loadConfig({
      base,
      root: '/srv/andon',
      env: {
        ANDON_SERVICE_PORT: '9090',
        ANDON_SERVICE_HOST: '0.0.0.0',
        ANDON_SERVICE_ENABLED: 'false',
        ANDON_SERVICE_REQUEST_TIMEOUT: '2500',
        ANDON_SERVICE_ASK_TIMEOUT: '2m',
        ANDON_API_TOKENS: `ops:${SECRET}:read,approve`,
      },
    });
    expect(config.service).toMatchObject({
      enabled: false,
      host: '0.0.0.0',
      port: 9090,
      requestTimeout: 2_500,
      askTimeout: 120_000,
      tokens: [{ name: 'ops', token: SECRET, scopes: ['read', 'approve'] }],
    });
    expect(loadConfig({ base, root: '/srv/andon', env: {} }).service.enabled).toBe(true);
  });

  it('names the variable a bad token came from, without echoing the secret', () => {
    const load = () => loadConfig({ base, root: '/srv/andon', env: { ANDON_API_TOKENS: 'ops:tooShortSecret:read' } });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/service\.tokens\.0\.token: .*\(from ANDON_API_TOKENS\)/);
    expect(load).not.toThrow(/tooShortSecret/);
  });
});

describe('auth', () => {
  it('refuses to start when a route declares no scope', async () => {
    const app = Fastify({ logger: false });
    await app.register(authPlugin, { tokens: [] });
    app.register(async (child) => {
      child.get('/oops', async () => 'public by accident');
    });
    await expect(app.ready()).rejects.toThrow(/GET \/oops must declare config\.scope/);
  });

  it('matches the presented token against every configured one', () => {
    const match = tokenMatcher([
      { name: 'a', token: SECRET, scopes: ['read'] },
      { name: 'b', token: `${SECRET}-b`, scopes: ['write'] },
    ]);
    expect(match(`${SECRET}-b`)).toEqual({ name: 'b', scopes: ['write'] });
    expect(match(SECRET)?.name).toBe('a');
    expect(match(`${SECRET}-c`)).toBeUndefined();
    expect(match('')).toBeUndefined();
  });
});

describe('devToken', () => {
  it('creates a random token with every scope in a 0600 file once, then keeps it', () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'andon-token-')), 'data');
    const first = devToken(dir);
    expect(first).toMatchObject({ created: true, token: { name: 'dev', scopes: ['read', 'write', 'approve'] } });
    expect(first.token.token.length).toBeGreaterThanOrEqual(32);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.file, 'utf8').trim()).toBe(first.token.token);

    const second = devToken(dir);
    expect(second).toMatchObject({ created: false, token: first.token });

    writeFileSync(first.file, 'short\n');
    const replaced = devToken(dir);
    expect(replaced.created).toBe(true);
    expect(replaced.token.token).not.toBe('short');
  });
});
