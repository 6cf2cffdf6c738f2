/**
 * The payload codec (src/client/codec.ts): AES-256-GCM with key ids, so keys can rotate; and
 * where its keys come from (configuration, environment, a key file).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmCodec, EncryptionKeyError, KEY_ID_METADATA, generateEncryptionKey } from '../../src/client/codec';
import { ConfigError, connectOptions, encryptionCodec, loadConfig } from '../../src/config';

const K1 = generateEncryptionKey('k1');
const K2 = generateEncryptionKey('k2');
const text = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);

describe('AesGcmCodec', () => {
  it('encrypts with the active key: no plaintext in the data or metadata, the key id in metadata', async () => {
    const codec = AesGcmCodec.from(K1);
    const [encoded] = await codec.encode([payloadOf({ prompt: 'SECRET-PROMPT-123' })]);
    expect(text(encoded!.data)).not.toContain('SECRET-PROMPT-123');
    expect(text(encoded!.metadata!.encoding)).toBe('binary/encrypted');
    expect(text(encoded!.metadata![KEY_ID_METADATA])).toBe('k1');
    expect(Object.values(encoded!.metadata!).map(text).join(' ')).not.toContain('json');
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({ prompt: 'SECRET-PROMPT-123' });
  });

  it('uses a fresh IV each time: the same value encrypts differently', async () => {
    const codec = AesGcmCodec.from(K1);
    const [a, b] = await codec.encode([payloadOf('same'), payloadOf('same')]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('rotates: data encrypted with the old key still decodes after a new active key', async () => {
    const old = AesGcmCodec.from(K1);
    const [before] = await old.encode([payloadOf('written under k1')]);
    const rotated = AesGcmCodec.from(`${K2},${K1}`);
    expect(rotated.activeKeyId).toBe('k2');
    const [after] = await rotated.encode([payloadOf('written under k2')]);
    expect(text(after!.metadata![KEY_ID_METADATA])).toBe('k2');
    const decoded = await rotated.decode([before!, after!]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['written under k1', 'written under k2']);
    // The explicit active id wins over the order.
    expect(AesGcmCodec.from(`${K2},${K1}`, 'k1').activeKeyId).toBe('k1');
    // A key that was dropped is named when its data is read.
    await expect(AesGcmCodec.from(K2).decode([before!])).rejects.toThrow('payload encrypted with key "k1", which is not configured');
  });

  it('refuses tampered data, and a payload relabelled with another key id', async () => {
    const codec = AesGcmCodec.from(`${K1},${K2}`);
    const [encoded] = await codec.encode([payloadOf('value')]);
    const flipped = new Uint8Array(encoded!.data!);
    flipped[20]! ^= 1;
    await expect(codec.decode([{ ...encoded!, data: flipped }])).rejects.toThrow(EncryptionKeyError);
    const relabelled = { ...encoded!, metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: new TextEncoder().encode('k2') } };
    await expect(codec.decode([relabelled])).rejects.toThrow('does not authenticate with key "k2"');
  });

  it('passes payloads written before encryption through unchanged', async () => {
    const plain = payloadOf({ old: true });
    await expect(AesGcmCodec.from(K1).decode([plain])).resolves.toEqual([plain]);
  });

  it('refuses bad keys with the field named and never the key material', () => {
    expect(() => AesGcmCodec.from('k1:c2hvcnQ=')).toThrow('encryption.keys.0.key: expected 32 bytes (AES-256), base64; got 5 bytes');
    expect(() => AesGcmCodec.from('no-colon-here')).toThrow('encryption.keys.0');
    expect(() => AesGcmCodec.from(`${K1},${K1}`)).toThrow('duplicate key id "k1"');
    expect(() => AesGcmCodec.from(K1, 'k9')).toThrow('encryption.activeKeyId: "k9" is not among the configured keys');
    expect(() => AesGcmCodec.from([])).toThrow('at least one key');
  });
});

describe('encryption configuration', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'andon-codec-'));

  it('is off without keys, on with ANDON_ENCRYPTION_KEYS, for connectOptions too', () => {
    expect(encryptionCodec(loadConfig({ base: {}, env: {}, root }))).toBeUndefined();
    const env = { ANDON_ENCRYPTION_KEYS: `${K2},${K1}`, ANDON_ENCRYPTION_KEY_ID: 'k1', TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const config = loadConfig({ base: {}, env, root });
    expect(encryptionCodec(config)?.activeKeyId).toBe('k1');
    expect(connectOptions(config, env).codec).toBeInstanceOf(AesGcmCodec);
  });

  it('reads keys from a key file, and names the file and entry when it is wrong', () => {
    const file = path.join(root, 'keys');
    writeFileSync(file, `${K1}\n`, { mode: 0o600 });
    expect(encryptionCodec(loadConfig({ base: {}, env: { ANDON_ENCRYPTION_KEY_FILE: file }, root }))?.activeKeyId).toBe('k1');
    writeFileSync(file, 'k1:not-32-bytes');
    expect(() => loadConfig({ base: {}, env: { ANDON_ENCRYPTION_KEY_FILE: file }, root })).toThrow(ConfigError);
    expect(() => loadConfig({ base: {}, env: { ANDON_ENCRYPTION_KEY_FILE: path.join(root, 'missing') }, root })).toThrow(
      'encryption.keyFile: cannot read',
    );
  });

  it('refuses an active key id that names no key, at load', () => {
    expect(() => loadConfig({ base: {}, env: { ANDON_ENCRYPTION_KEYS: K1, ANDON_ENCRYPTION_KEY_ID: 'k2' }, root })).toThrow(
      'invalid configuration: encryption.activeKeyId: "k2" is not among the configured keys',
    );
    expect(() => loadConfig({ base: {}, env: { ANDON_ENCRYPTION_KEYS: 'k1:abc' }, root })).toThrow(
      /encryption\.keys\.0\.key: .* \(from ANDON_ENCRYPTION_KEYS\)/,
    );
  });
});
