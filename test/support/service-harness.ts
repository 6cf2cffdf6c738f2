/**
 * The HTTP service over real loopback HTTP, for the service-*.test.ts files: buildService on a
 * harness's `andon`, listening on a free port, with a token per scope combination.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Andon } from '../../src/client';
import { buildService, type BuildServiceOptions } from '../../src/service/app';
import { ServiceConfig, type ServiceConfigInput } from '../../src/service/config';

export const TOKENS = {
  alice: 'alice-token-0123456789abcdef',
  reader: 'reader-token-0123456789abcdef',
  writer: 'writer-token-0123456789abcdef',
  approver: 'approver-token-0123456789abcdef',
} as const;
export type TokenName = keyof typeof TOKENS;

export const TEST_TOKENS: ServiceConfigInput['tokens'] = [
  { name: 'alice', token: TOKENS.alice, scopes: ['read', 'write', 'approve'] },
  { name: 'reader', token: TOKENS.reader, scopes: ['read'] },
  { name: 'writer', token: TOKENS.writer, scopes: ['read', 'write'] },
  { name: 'approver', token: TOKENS.approver, scopes: ['read', 'approve'] },
];

/** A response body a test reads by path without declaring its type (the default of `call<T>`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on bodies of many shapes; `call<T>` types one when it matters
export type AnyBody = any;

export interface HttpResponse<T = AnyBody> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  /** Which token to send (default alice, every scope); null sends none. */
  as?: TokenName | null;
  /** Sent as JSON; a string is sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface TestService {
  app: FastifyInstance;
  url: string;
  call<T = AnyBody>(method: string, path: string, options?: CallOptions): Promise<HttpResponse<T>>;
  close(): Promise<void>;
}

export async function startService(
  andon: Andon,
  overrides: ServiceConfigInput = {},
  extra: Pick<BuildServiceOptions, 'codec' | 'agents'> = {},
): Promise<TestService> {
  const config = ServiceConfig.parse({ tokens: TEST_TOKENS, ...overrides });
  const app = await buildService({ andon, config, logger: false, ...extra });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    app,
    url,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const as = options.as === undefined ? 'alice' : options.as;
      if (as !== null) headers.authorization = `Bearer ${TOKENS[as]}`;
      let body: string | undefined;
      if (options.body !== undefined) {
        body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${url}${path}`, { method, headers, body });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        // Not JSON: the test sees the text.
      }
      return { status: response.status, headers: response.headers, body: parsed as AnyBody };
    },
    close: () => app.close(),
  };
}
