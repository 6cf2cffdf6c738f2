/**
 * The part of the workflow bundle that every session shares: zod, andon's schemas and the session's
 * pure rules, loaded once per workflow thread instead of once per cached session.
 *
 * Why: with `reuseV8Context` (the SDK default) every module a workflow loads goes into that
 * workflow's own module cache, except the modules loaded before the first workflow exists. Each
 * cached session therefore built its own copy of zod (about 180 classes) and of andon's ~1,000
 * schemas: about 1.9 MiB of heap per cached session against 72 KiB for a bare Temporal workflow
 * (docs/operations.md, "Worker memory"). The worker lists this module in
 * `bundlerOptions.preloadModules` (src/worker.ts), so it runs once, at bootstrap.
 *
 * The SDK deep-freezes what preloaded modules export, to catch per-workflow state leaking between
 * workflows. zod cannot run frozen: a schema memoizes derived values and bound methods on itself
 * at first use (`schema.optional` binds on first read; an object schema compiles its parser on
 * first parse), which throws on a frozen object. So this module freezes the export objects of the
 * modules it loads itself, shallowly: the SDK's freeze stops at an already frozen object, the
 * bindings stay fixed, and the schemas stay free to memoize.
 *
 * What may be shared, and why it is safe: a module here must hold no per-workflow state: no
 * module-level `let`, no mutable collections, no calls into the workflow API at load time. zod's
 * own mutable state is memoization derived from the schema alone (the same for every workflow), a
 * registry keyed weakly by schema, and its global configuration, which andon never changes after
 * load. Of the workflow code, only the session's pure rules are shared (the record's schemas and
 * the functions over it, workflows/shared-modules.ts); whatever calls the workflow API (handlers,
 * conditions, activities, `patched()`) stays per session.
 */
// The SDK's modules are loaded first (static imports run before this body), so the list of
// modules this file shares below never includes them: theirs keep the SDK's deep freeze.
import '@temporalio/workflow';
import '@temporalio/common';

/** Webpack's module factories by id (the bundle's `__webpack_require__.m`). */
declare const __webpack_modules__: Record<string, unknown> | undefined;

/** Ids of the modules this file loaded and froze, for the test that checks they are shared. */
export const sharedModuleIds: readonly string[] = share();

function share(): string[] {
  // Outside a webpack bundle (plain Node, e.g. a unit test importing this file) there is no module
  // cache of the bundle's to manage: nothing to share.
  if (typeof __webpack_modules__ !== 'object' || __webpack_modules__ === null) return [];
  const cache = require.cache as Record<string, { exports: unknown } | undefined>;
  const ids = Object.keys(__webpack_modules__);
  const before = new Set(ids.filter((id) => cache[id] !== undefined));
  // A require, not an import: imports run before this body, and `before` must not see these.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('./shared-modules');
  const loaded = ids.filter((id) => !before.has(id) && cache[id] !== undefined);
  for (const id of loaded) {
    const exports = cache[id]!.exports;
    if (exports !== null && (typeof exports === 'object' || typeof exports === 'function')) Object.freeze(exports);
  }
  return loaded;
}
