/**
 * A code-editing agent for worker processes a test kills (test/support/worker-process.ts loads it
 * as a module agent): one step that fixes app.js, then waits `stepMs` (long enough to SIGKILL the
 * worker mid-step), then writes NOTES.md. Each attempt drops a marker file `<sessionId>.<attempt>`
 * in `markerDir`, so the test knows the step is under way.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Agent, CallOptions, PlanRequest, ReplyRequest, StepRequest, SummarizeRequest } from '../../src/agents/agent';

export interface CodeAgentOptions {
  markerDir: string;
  stepMs: number;
}

export function createCodeAgent(options: CodeAgentOptions): Agent {
  return {
    name: 'code-agent',
    async plan(_request: PlanRequest) {
      return { kind: 'plan' as const, title: 'Fix the bug', steps: [{ title: 'Fix', description: 'fix app.js and write notes' }] };
    },
    async executeStep(request: StepRequest, call: CallOptions) {
      const dir = request.workspace!.path;
      const app = path.join(dir, 'app.js');
      writeFileSync(app, readFileSync(app, 'utf8').replace('bug', 'fix'));
      writeFileSync(path.join(options.markerDir, `${request.sessionId}.${call.attempt}`), dir);
      await sleep(options.stepMs, undefined, { signal: call.signal });
      writeFileSync(path.join(dir, 'NOTES.md'), 'fixed the bug\n');
      return { description: 'fixed app.js, wrote notes' };
    },
    async reply(request: ReplyRequest) {
      return { message: `ok: ${request.message}` };
    },
    async summarize(request: SummarizeRequest) {
      return { summary: `fixed: ${request.prompt}` };
    },
  };
}
