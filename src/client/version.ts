/**
 * The version of the andon package, from its package.json (the CLI's `--version`, the service's
 * OpenAPI document). Read at run time rather than imported: package.json is three folders up from
 * the sources (src/client/) but four from the build (dist/src/client/), and importing it would make
 * the compiler copy it into dist/.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

export function andonVersion(): string {
  if (cached === undefined) cached = readVersion();
  return cached;
}

function readVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'andon' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // No package.json here (or not readable): look further up.
    }
    if (path.dirname(dir) === dir) return '0.0.0';
  }
}
