/**
 * Sealing text kept on disk (docs/encryption.md): AES-256-GCM under the same keys, key ids and
 * active key as the payload codec (`encryption.keys`, ANDON_ENCRYPTION_KEYS), so one rotation
 * covers both. A sealed value is `iv (12 bytes) | ciphertext | tag (16 bytes)`, base64; the store
 * keeps the key id beside it. The associated data binds the key id and the caller's `context` (which
 * store, which row): a value moved to another row, or relabelled with another key id, does not open.
 *
 * Takes keys already parsed (32 bytes each): parsing and validating them is the configuration's job.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const encoder = new TextEncoder();

export interface CipherKey {
  id: string;
  key: Uint8Array;
}

export interface TextCipherOptions {
  /** Every key that may open (old ones after a rotation too). */
  keys: readonly CipherKey[];
  /** The key that seals; default: the first of `keys`. */
  activeKeyId?: string;
}

/** A value that cannot be opened: no key of that id, the wrong key under it, or tampered. */
export class SealedTextError extends Error {
  override name = 'SealedTextError';
}

export interface Sealed {
  keyId: string;
  /** base64 of iv | ciphertext | tag. */
  data: string;
}

export class TextCipher {
  readonly activeKeyId: string;
  private readonly keys: ReadonlyMap<string, Uint8Array>;

  constructor(options: TextCipherOptions) {
    const first = options.keys[0];
    if (!first) throw new SealedTextError('encryption.keys: at least one key is needed');
    this.keys = new Map(options.keys.map((k) => [k.id, k.key]));
    this.activeKeyId = options.activeKeyId ?? first.id;
    if (!this.keys.has(this.activeKeyId)) throw new SealedTextError(`encryption.activeKeyId: "${this.activeKeyId}" is not among the keys`);
    for (const [id, key] of this.keys) {
      if (key.length !== 32) throw new SealedTextError(`encryption.keys: key "${id}" must be 32 bytes (AES-256)`);
    }
  }

  seal(plain: string, context: string): Sealed {
    const keyId = this.activeKeyId;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(keyId) as Uint8Array, iv);
    cipher.setAAD(aad(keyId, context));
    const data = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return { keyId, data: data.toString('base64') };
  }

  open(sealed: Sealed, context: string): string {
    const key = this.keys.get(sealed.keyId);
    if (!key) throw new SealedTextError(`sealed with key "${sealed.keyId}", which is not configured (encryption.keys)`);
    const data = Buffer.from(sealed.data, 'base64');
    if (data.length < IV_BYTES + TAG_BYTES) throw new SealedTextError('sealed value is too short');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(aad(sealed.keyId, context));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedTextError(`sealed value does not open with key "${sealed.keyId}" (the wrong key under that id, or tampered)`);
    }
  }
}

/** Domain-separated from the payload codec's associated data (the bare key id). */
function aad(keyId: string, context: string): Uint8Array {
  return encoder.encode(`andon-sealed-text\u0000${keyId}\u0000${context}`);
}
