/**
 * Payload encryption (docs/encryption.md): a Temporal `PayloadCodec` with AES-256-GCM. Every
 * payload andon writes to Temporal (workflow inputs, results, update and signal arguments,
 * activity inputs and outputs, memo, the UI summary and details) is replaced by one whose data is
 * `iv (12 bytes) | ciphertext | tag (16 bytes)` of the original payload's protobuf encoding, and
 * whose metadata names only the encoding and the key id. Keys have ids so they can rotate: one key
 * encrypts, every configured key decrypts. Keys come from configuration or the environment
 * (ANDON_ENCRYPTION_KEYS), never from Temporal.
 *
 * Runs outside the workflow sandbox (client, worker, codec server); loads only types and the
 * failure converter from @temporalio/common and the Payload message from @temporalio/proto.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const ProtoPayload = temporal.api.common.v1.Payload;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const KeyId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 characters: letters, digits, ".", "_" or "-"');

/** A 256-bit key, base64 (standard or URL-safe): `openssl rand -base64 32`. */
const KeyMaterial = z
  .string()
  .regex(/^[A-Za-z0-9+/_-]+={0,2}$/, 'expected base64')
  .transform((text, ctx) => {
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length !== 32) {
      ctx.addIssue({ code: 'custom', message: `expected 32 bytes (AES-256), base64; got ${bytes.length} bytes` });
      return z.NEVER;
    }
    return new Uint8Array(bytes);
  });

export const EncryptionKey = z.object({ id: KeyId, key: KeyMaterial });
export type EncryptionKey = z.output<typeof EncryptionKey>;
export type EncryptionKeyInput = z.input<typeof EncryptionKey>;

/**
 * `id:base64key,id:base64key` (ANDON_ENCRYPTION_KEYS), e.g. `k2:...=,k1:...=`. Anything else is
 * passed through for the array schema to refuse, naming the entry.
 */
export function parseCompactKeys(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const colon = entry.indexOf(':');
      return colon < 0 ? entry : { id: entry.slice(0, colon), key: entry.slice(colon + 1) };
    });
}

export const EncryptionKeys = z.preprocess(
  parseCompactKeys,
  z
    .array(EncryptionKey, { error: 'expected "id:base64key,id:base64key" or a list of { id, key }' })
    .max(32)
    .superRefine((keys, ctx) => {
      const ids = new Set<string>();
      keys.forEach((k, i) => {
        if (ids.has(k.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate key id "${k.id}"` });
        ids.add(k.id);
      });
    }),
);

export interface AesGcmCodecOptions {
  /** Every key that may decrypt (old ones after a rotation too). */
  keys: readonly EncryptionKey[];
  /** The key that encrypts. Default: the first of `keys`. */
  activeKeyId?: string;
}

export class EncryptionKeyError extends Error {
  override name = 'EncryptionKeyError';
}

export class AesGcmCodec implements PayloadCodec {
  readonly activeKeyId: string;
  private readonly keys: ReadonlyMap<string, Uint8Array>;

  constructor(options: AesGcmCodecOptions) {
    const first = options.keys[0];
    if (!first) throw new EncryptionKeyError('encryption.keys: at least one key is needed');
    this.keys = new Map(options.keys.map((k) => [k.id, k.key]));
    this.activeKeyId = options.activeKeyId ?? first.id;
    if (!this.keys.has(this.activeKeyId)) {
      throw new EncryptionKeyError(`encryption.activeKeyId: "${this.activeKeyId}" is not among the configured keys`);
    }
    for (const [id, key] of this.keys) {
      if (key.length !== 32) throw new EncryptionKeyError(`encryption.keys: key "${id}" must be 32 bytes (AES-256)`);
    }
  }

  /** From the compact form (`id:base64key,...`) or a list of `{ id, key }` (base64), as configuration gives them. */
  static from(keys: string | readonly EncryptionKeyInput[], activeKeyId?: string): AesGcmCodec {
    const parsed = EncryptionKeys.safeParse(keys);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new EncryptionKeyError(`encryption.keys${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message}`);
    }
    return new AesGcmCodec({ keys: parsed.data, activeKeyId });
  }

  /** Async so that a bad payload rejects rather than throws. */
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decrypt(payload));
  }

  private encrypt(payload: Payload): Payload {
    const key = this.keys.get(this.activeKeyId) as Uint8Array; // checked in the constructor
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    // The key id is authenticated too: a payload relabelled with another key id does not decrypt.
    cipher.setAAD(encoder.encode(this.activeKeyId));
    const plain = ProtoPayload.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: encoder.encode(ENCRYPTED_ENCODING),
        [CIPHER_METADATA]: encoder.encode(CIPHER),
        [KEY_ID_METADATA]: encoder.encode(this.activeKeyId),
      },
      data: new Uint8Array(data),
    };
  }

  /** Payloads that are not encrypted (written before encryption was turned on) pass through unchanged. */
  private decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.encoding;
    if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const idBytes = payload.metadata?.[KEY_ID_METADATA];
    if (!idBytes) throw new EncryptionKeyError(`encrypted payload without ${KEY_ID_METADATA} metadata`);
    const id = decoder.decode(idBytes);
    const key = this.keys.get(id);
    if (!key) throw new EncryptionKeyError(`payload encrypted with key "${id}", which is not configured (encryption.keys)`);
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) throw new EncryptionKeyError('encrypted payload is too short');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(encoder.encode(id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new EncryptionKeyError(`encrypted payload does not authenticate with key "${id}" (tampered, or the wrong key under that id)`);
    }
    const decoded = ProtoPayload.decode(plain);
    return { metadata: decoded.metadata, data: decoded.data };
  }
}

/**
 * Where the failure converter of encrypting clients and workers is (`DataConverter.failureConverterPath`):
 * failure messages and stack traces go into encrypted attributes too.
 */
export const ENCRYPTING_FAILURE_CONVERTER_PATH = require.resolve('../protocol/failure-converter');

/**
 * The data converter of a client or worker that encrypts: the codec on every payload, and failure
 * messages and stack traces moved into (encrypted) encoded attributes.
 */
export function encryptingDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: ENCRYPTING_FAILURE_CONVERTER_PATH };
}

/** A new random key in the form ANDON_ENCRYPTION_KEYS takes: `<id>:<base64>`. */
export function generateEncryptionKey(id: string): string {
  return `${KeyId.parse(id)}:${randomBytes(32).toString('base64')}`;
}
