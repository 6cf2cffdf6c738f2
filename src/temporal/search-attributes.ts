/**
 * Makes sure andon's search attributes exist on the namespace. The dev server registers them at
 * start; on another cluster the worker adds missing ones when it may, and otherwise says exactly
 * which command creates them (Temporal Cloud manages them outside the operator API).
 */
import type { NativeConnection } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../session/search-attributes';

const TYPES = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Text: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
} as const;

export async function ensureSearchAttributes(connection: NativeConnection, namespace: string, log: (line: string) => void): Promise<void> {
  const operator = connection.operatorService;
  let existing: Record<string, unknown>;
  try {
    existing = (await operator.listSearchAttributes({ namespace })).customAttributes ?? {};
  } catch (error) {
    log(`could not list search attributes (${(error as Error).message}); make sure these exist: ${describe()}`);
    return;
  }
  const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in existing));
  if (missing.length === 0) return;
  try {
    await operator.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, TYPES[type]])),
    });
    log(`registered search attributes: ${missing.map(([name]) => name).join(', ')}`);
  } catch (error) {
    log(
      `could not register search attributes (${(error as Error).message}). Create them once with:\n` +
        missing
          .map(([name, type]) => `  temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`)
          .join('\n'),
    );
  }
}

function describe(): string {
  return Object.entries(SEARCH_ATTRIBUTES)
    .map(([name, type]) => `${name} (${type})`)
    .join(', ');
}
