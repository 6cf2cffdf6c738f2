/**
 * The workflow bundle shares zod and andon's schemas across cached sessions (workflows/shared.ts):
 * loaded once, before any workflow, into the SDK's reusable V8 context, and still usable after the
 * SDK freezes what was preloaded. Without this every cached session carried its own copy (~1.9 MiB
 * of heap each; docs/operations.md, "Worker memory").
 *
 * Drives the SDK's own reusable-context executor on the real bundle, as the worker does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { parseWorkflowCode } from '@temporalio/worker/lib/worker';
import { ReusableVMWorkflowCreator } from '@temporalio/worker/lib/workflow/reusable-vm';
import type { ZodType } from 'zod';
import { WORKFLOW_BUNDLE_OPTIONS } from '../../src/worker';
import { workflowBundle } from '../support/harness';

const ROOT = path.resolve(__dirname, '../..');
const noop = () => undefined;
type ModuleCache = Record<string, { exports: Record<string, unknown> } | undefined>;

let creator: ReusableVMWorkflowCreator;
let cache: ModuleCache;
let bundleIds: string[];

beforeAll(async () => {
  const bundle =
    workflowBundle() ??
    (await bundleWorkflowCode({
      ...WORKFLOW_BUNDLE_OPTIONS,
      logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error },
    }));
  // Webpack's development-mode module headers: `/***/ "<id>"` (the SDK bundles in that mode).
  bundleIds = [...bundle.code.matchAll(/^\/\*\*\*\/ "([^"]+)"$/gm)].map((m) => m[1]!);
  creator = await ReusableVMWorkflowCreator.create(parseWorkflowCode(bundle.code), 10_000, new Set());
  // Before any workflow exists, the context's module cache answers with the shared modules only.
  cache = (creator as unknown as { context: { __webpack_module_cache__: ModuleCache } }).context.__webpack_module_cache__;
});

afterAll(async () => {
  await creator?.destroy();
});

const idOf = (suffix: string) => {
  const id = bundleIds.find((x) => x.endsWith(suffix));
  if (!id) throw new Error(`no module ending ${suffix} in the bundle`);
  return id;
};

it('loads zod and every src module the workflows use once, before the first workflow', () => {
  const shared = cache[idOf('workflows/shared.ts')]?.exports.sharedModuleIds as string[] | undefined;
  expect(shared).toBeDefined();
  // Every zod and src module in the bundle is shared: a new import from workflow code that is not
  // listed in workflows/shared-modules.ts would be loaded again for each session.
  const wanted = bundleIds.filter((id) => /node_modules\/zod\//.test(id) || /^\.\/src\//.test(id.replace(/^(\.\.\/)+[^/]+\//, './')));
  expect(wanted.length).toBeGreaterThan(20);
  expect(wanted.filter((id) => !shared!.includes(id))).toEqual([]);
  for (const id of wanted) expect(cache[id]).toBeDefined();
  // The session's pure rules are shared; workflow code that calls the workflow API keeps one
  // instance per session.
  expect(cache[idOf('workflows/session/record.ts')]).toBeDefined();
  for (const perSession of ['workflow.ts', 'handlers.ts', 'context.ts', 'activity-options.ts', 'steps.ts', 'notify.ts']) {
    expect(cache[idOf(`workflows/session/${perSession}`)]).toBeUndefined();
  }
});

it('shares only workflow modules that never touch the workflow API', () => {
  // A shared module runs before any workflow exists and is the same for all of them: one that
  // imported @temporalio/workflow (patched(), condition(), activities) would act outside its session.
  const shared = cache[idOf('workflows/shared.ts')]!.exports.sharedModuleIds as string[];
  const sharedWorkflowModules = shared.filter((id) => id.includes('workflows/session/'));
  expect(sharedWorkflowModules.length).toBeGreaterThan(0);
  for (const id of sharedWorkflowModules) {
    const source = readFileSync(path.join(ROOT, id.replace(/^(\.\.\/)*(.*?)workflows\//, 'workflows/')), 'utf8');
    expect({ id, importsWorkflowApi: /from '@temporalio\/workflow'/.test(source) }).toEqual({ id, importsWorkflowApi: false });
    expect({ id, moduleState: /^(let|var) /m.test(source) }).toEqual({ id, moduleState: false });
  }
});

it('keeps the shared schemas usable after the SDK froze the preloaded modules', () => {
  const schema = cache[idOf('src/session/schema.ts')]!.exports;
  const Actor = schema.Actor as ZodType;
  // zod binds methods and compiles parsers on a schema at first use: on a frozen schema these throw.
  expect(Object.isFrozen(Actor)).toBe(false);
  expect(Actor.optional().safeParse(undefined).success).toBe(true);
  expect(Actor.safeParse('alice').success).toBe(true);
  expect(Actor.safeParse(42).success).toBe(false);
  // The module bindings themselves are fixed: one session cannot swap a schema for the next.
  expect(Object.isFrozen(schema)).toBe(true);
  expect(() => {
    'use strict';
    (schema as Record<string, unknown>).Actor = null;
  }).toThrow(TypeError);
});
