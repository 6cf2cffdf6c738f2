/**
 * A workflow history as the text it holds: every string, and every byte array (payload data,
 * metadata) read as UTF-8. `JSON.stringify` of a history shows payloads as arrays of numbers, so
 * a secret in a payload would never be found in it: search this instead.
 */
export function historyText(value: unknown): string {
  return strings(value).join('\n');
}

function strings(value: unknown, out: string[] = [], seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (typeof value === 'object' && value !== null && !seen.has(value)) {
    seen.add(value);
    for (const v of Object.values(value)) strings(v, out, seen);
  }
  return out;
}
