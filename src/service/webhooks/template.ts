/**
 * Route templates. Placeholders: `{summary}`, `{source}`, `{status}`, `{fingerprint}`, `{url}`,
 * `{startsAt}`, `{labels}` (every label as `name=value, ...`, or `(none)`), `{labels.NAME}`, `{annotations}`,
 * `{annotations.NAME}`. A value the alert lacks renders empty; an unknown placeholder is refused
 * when the configuration loads, so a typo never reaches a prompt.
 */

export interface TemplateValues {
  source: string;
  fingerprint: string;
  status: string;
  summary: string;
  url?: string;
  startsAt?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const PLACEHOLDER = /\{([A-Za-z]+)(?:\.([^{}\s]+))?\}/g;
const SCALARS = new Set(['summary', 'source', 'status', 'fingerprint', 'url', 'startsAt']);
const MAPS = new Set(['labels', 'annotations']);

/** What is wrong with a template (empty when nothing is). */
export function checkTemplate(template: string): string[] {
  const problems: string[] = [];
  for (const [text, name = '', key] of template.matchAll(PLACEHOLDER)) {
    if (MAPS.has(name)) continue;
    if (SCALARS.has(name) && key === undefined) continue;
    problems.push(
      `unknown placeholder ${text}: use {summary}, {source}, {status}, {fingerprint}, {url}, {startsAt}, {labels}, {labels.NAME}, {annotations} or {annotations.NAME}`,
    );
  }
  return problems;
}

export function renderTemplate(template: string, values: TemplateValues): string {
  return template.replace(PLACEHOLDER, (text, name: string, key: string | undefined) => {
    if (MAPS.has(name)) {
      const map = values[name as 'labels' | 'annotations'];
      return key === undefined ? formatMap(map) : (map[key] ?? '');
    }
    if (SCALARS.has(name) && key === undefined) return values[name as 'summary'] ?? '';
    return text;
  });
}

/** `name=value, ...` in name order, so the same labels always read the same. */
export function formatMap(map: Record<string, string>): string {
  if (Object.keys(map).length === 0) return '(none)';
  return Object.keys(map)
    .sort()
    .map((name) => `${name}=${map[name]}`)
    .join(', ');
}
