/**
 * The codec server (docs/encryption.md): Temporal's remote codec protocol, so the Temporal UI
 * (`--ui-codec-endpoint`, or the UI's "Data Encoder" setting) and the `temporal` CLI
 * (`--codec-endpoint`, `--codec-auth`) can show decrypted payloads to callers andon trusts.
 *
 *   POST /codec/decode   {"payloads":[{"metadata":{"encoding":"<base64>"},"data":"<base64>"}]}   scope read
 *   POST /codec/encode   the same shape                                                        scope write
 *
 * Decoding needs the `read` scope: it shows what `GET /v1/sessions/:id` shows anyway. The token
 * comes as `Authorization: Bearer` (the CLI's `--codec-auth`) or, for a browser UI that has no
 * andon token to send, as the HttpOnly `andon_codec` cookie that `GET /codec/login` sets (the UI
 * then needs "include cross-origin credentials"). A browser may call only from a configured origin
 * (CORS); other origins get no CORS headers, so the browser withholds the answer. `X-Namespace`,
 * when sent, must be the namespace andon serves.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { HttpError, badRequest, errorResponses, forbidden, unauthorized } from '../protocol/http-errors';
import { tokenMatcher } from './auth';
import type { ApiToken, Scope } from './config';

/** At most this many payloads per request (the body limit bounds their size). */
export const MAX_CODEC_PAYLOADS = 1_000;

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Browser origins allowed to call (the Temporal UI's, e.g. http://localhost:8233). */
  corsOrigins: readonly string[];
  /** The namespace andon's sessions run in; a request naming another one (X-Namespace) is refused. */
  namespace?: string;
}

/** The cookie a browser UI authenticates with (HttpOnly, SameSite=Strict, Path=/codec, 8 hours). */
export const CODEC_COOKIE = 'andon_codec';
const COOKIE_MAX_AGE_S = 8 * 60 * 60;

const Base64 = z
  .string()
  .max(64 * 1024 * 1024)
  .regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'expected base64');
const JsonPayload = z.object({
  metadata: z
    .record(z.string().max(256), Base64)
    .refine((m) => Object.keys(m).length <= 32, 'at most 32 metadata entries')
    .optional(),
  data: Base64.optional(),
});
const CodecBody = z.object({ payloads: z.array(JsonPayload).max(MAX_CODEC_PAYLOADS) });
type CodecBody = z.infer<typeof CodecBody>;

const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Namespace';

export async function codecRoutes(app: FastifyInstance, options: CodecServerOptions & { tokens: readonly ApiToken[] }): Promise<void> {
  const origins = new Set(options.corsOrigins);
  const authenticate = tokenMatcher(options.tokens);
  /** The bearer header or the cookie; the scope checked here, as auth.ts does for the API. */
  const authorize = (request: FastifyRequest, scope: Scope): string => {
    const header = request.headers.authorization;
    const bearer = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    const token = bearer ?? cookieOf(request, CODEC_COOKIE);
    if (!token)
      throw unauthorized('missing token: send "Authorization: Bearer <token>" or sign in at /codec/login', 'Bearer realm="andon"');
    const principal = authenticate(token);
    if (!principal) throw unauthorized('invalid token', 'Bearer realm="andon", error="invalid_token"');
    if (!principal.scopes.includes(scope)) throw forbidden(`token "${principal.name}" lacks the "${scope}" scope`);
    return token;
  };

  // CORS on every answer of these routes, errors included, so the UI can show why it was refused.
  app.addHook('onSend', async (request, reply) => {
    const origin = request.headers.origin;
    if (typeof origin === 'string' && origins.has(origin)) {
      void reply.header('access-control-allow-origin', origin);
      void reply.header('access-control-allow-credentials', 'true');
      void reply.header('vary', 'Origin');
    }
  });

  for (const action of ['decode', 'encode'] as const) {
    const url = `/codec/${action}`;
    app.options(url, { config: { scope: 'none' }, schema: { hide: true } as object }, async (request, reply) =>
      preflight(request, reply, origins),
    );
    app.post(
      url,
      {
        // Authenticated here (bearer or cookie; the API's hook knows only the bearer header), on
        // request: before the body is read, so an unauthenticated caller cannot make the service
        // read or parse up to bodyLimit bytes.
        config: { scope: 'none' },
        onRequest: async (request) => {
          authorize(request, action === 'decode' ? 'read' : 'write');
          checkNamespace(request, options.namespace);
        },
        schema: {
          tags: ['codec'],
          summary:
            action === 'decode' ? 'Decrypt payloads (Temporal codec server protocol)' : 'Encrypt payloads (Temporal codec server protocol)',
          body: CodecBody,
          response: { 200: CodecBody, ...errorResponses },
        },
      },
      async (request) => {
        const payloads = (request.body as CodecBody).payloads.map(fromJson);
        let result: Payload[];
        try {
          result = action === 'decode' ? await options.codec.decode(payloads) : await options.codec.encode(payloads);
        } catch (error) {
          throw new HttpError(422, 'invalid_payload', `cannot ${action}: ${(error as Error).message}`, { field: 'payloads' });
        }
        return { payloads: result.map(toJson) };
      },
    );
  }

  // Signing a browser in: a page that posts the token (never in a URL), answered with the cookie.
  app.get('/codec/login', { config: { scope: 'none' }, schema: { hide: true } as object }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
      .send(LOGIN_PAGE),
  );
  app.post('/codec/login', { config: { scope: 'none' }, schema: { hide: true } as object }, async (request, reply) => {
    const token = authorize(request, 'read');
    const secure = request.protocol === 'https' ? '; Secure' : '';
    return reply
      .header('set-cookie', `${CODEC_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/codec; Max-Age=${COOKIE_MAX_AGE_S}${secure}`)
      .code(204)
      .send();
  });
  app.post('/codec/logout', { config: { scope: 'none' }, schema: { hide: true } as object }, async (_request, reply) =>
    reply.header('set-cookie', `${CODEC_COOKIE}=; HttpOnly; SameSite=Strict; Path=/codec; Max-Age=0`).code(204).send(),
  );
}

function cookieOf(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=') || undefined;
  }
  return undefined;
}

const LOGIN_PAGE = `<!doctype html><meta charset="utf-8"><title>andon codec server</title>
<style>body{font:15px system-ui;margin:3em auto;max-width:34em}input{width:100%;font:inherit}</style>
<h1>andon codec server</h1>
<p>Sign this browser in with an andon API token that has the <code>read</code> scope, so the Temporal UI can show decrypted payloads. The token is kept in an HttpOnly cookie for this server only, for 8 hours.</p>
<form id="f"><input id="t" type="password" autocomplete="off" placeholder="API token"><p><button>Sign in</button></p></form>
<p id="r"></p>
<script>
document.getElementById('f').onsubmit = async (e) => {
  e.preventDefault();
  const res = await fetch('login', { method: 'POST', headers: { authorization: 'Bearer ' + document.getElementById('t').value } });
  document.getElementById('r').textContent = res.status === 204 ? 'Signed in. In the Temporal UI, enable "include cross-origin credentials" for the codec server.' : 'Refused (' + res.status + ').';
};
</script>`;

async function preflight(request: FastifyRequest, reply: FastifyReply, origins: ReadonlySet<string>): Promise<void> {
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || !origins.has(origin)) throw forbidden(`origin ${String(origin)} may not call the codec server`);
  await reply
    .code(204)
    .header('access-control-allow-methods', 'POST, OPTIONS')
    .header('access-control-allow-headers', ALLOWED_HEADERS)
    .header('access-control-max-age', '600')
    .send();
}

function checkNamespace(request: FastifyRequest, namespace: string | undefined): void {
  const asked = request.headers['x-namespace'];
  // The `temporal` CLI sends an empty X-Namespace unless --namespace is given: that means "not said".
  if (namespace === undefined || asked === undefined || asked === '') return;
  if (asked !== namespace) throw badRequest(`X-Namespace: this codec server serves namespace "${namespace}"`, 'X-Namespace');
}

function fromJson(payload: z.infer<typeof JsonPayload>): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
    data: new Uint8Array(Buffer.from(payload.data ?? '', 'base64')),
  };
}

function toJson(payload: Payload): z.infer<typeof JsonPayload> {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}
