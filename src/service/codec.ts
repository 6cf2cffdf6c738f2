/**
 * The codec server (docs/encryption.md): Temporal's remote codec protocol, so the Temporal UI
 * (`--ui-codec-endpoint`, or the UI's "Data Encoder" setting) and the `temporal` CLI
 * (`--codec-endpoint`, `--codec-auth`) can show decrypted payloads to callers andon trusts.
 *
 *   POST /codec/decode   {"payloads":[{"metadata":{"encoding":"<base64>"},"data":"<base64>"}]}   scope read
 *   POST /codec/encode   the same shape                                                        scope write
 *
 * Decoding needs the `read` scope: it shows what `GET /v1/sessions/:id` shows anyway. A browser
 * may call it only from a configured origin (CORS); other origins get no CORS headers, so the
 * browser withholds the answer. `X-Namespace`, when sent, must be the namespace andon serves.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { HttpError, badRequest, errorResponses, forbidden } from '../protocol/http-errors';

/** At most this many payloads per request (the body limit bounds their size). */
export const MAX_CODEC_PAYLOADS = 1_000;

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Browser origins allowed to call (the Temporal UI's, e.g. http://localhost:8233). */
  corsOrigins: readonly string[];
  /** The namespace andon's sessions run in; a request naming another one (X-Namespace) is refused. */
  namespace?: string;
}

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

export async function codecRoutes(app: FastifyInstance, options: CodecServerOptions): Promise<void> {
  const origins = new Set(options.corsOrigins);

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
        config: { scope: action === 'decode' ? 'read' : 'write' },
        schema: {
          tags: ['codec'],
          summary:
            action === 'decode' ? 'Decrypt payloads (Temporal codec server protocol)' : 'Encrypt payloads (Temporal codec server protocol)',
          body: CodecBody,
          response: { 200: CodecBody, ...errorResponses },
        },
      },
      async (request) => {
        checkNamespace(request, options.namespace);
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
}

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
  if (namespace === undefined || asked === undefined) return;
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
