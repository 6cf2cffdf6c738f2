/**
 * The baseline: the most trivial Temporal workflow that does what a session does for one message,
 * so `bench ops` can put each andon operation next to Temporal's own round trip for it. Bundled
 * on its own and run by its own worker (bench/worker.ts --kind bare) on its own task queue.
 *
 * - start: a workflow that waits on a condition;
 * - approve: an update with a validator that sets a flag;
 * - ask: an update whose handler calls an activity returning a string (andon's replies are activities);
 * - send: a signal whose handler counts it;
 * - view: a query returning two fields.
 *
 * And `bareParkSession`, the shape `bench park` puts beside a standard session (below).
 */
import {
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { STATE_ATTRIBUTE } from '../src/session/search-attributes';

export interface BareActivities {
  reply(message: string): Promise<string>;
  /** One unit of work (the plan, a step): returns at once, like the benchmarks' scripted agent with delays 0. */
  work(name: string): Promise<string>;
}

export const bareApproveUpdate = defineUpdate<{ approved: true }, [{ by?: string; comment?: string }]>('approve');
export const bareAskUpdate = defineUpdate<{ messageId?: string; reply: string }, [{ message: string; messageId?: string; by?: string }]>(
  'ask',
);
export const bareSendSignal = defineSignal<[{ message: string; messageId?: string; by?: string }]>('send');
export const bareCloseSignal = defineSignal('close');
export const bareViewQuery = defineQuery<{ approved: boolean; messages: number }>('view');

const { reply, work } = proxyActivities<BareActivities>({ startToCloseTimeout: '2m', heartbeatTimeout: '30s' });

export async function bareSession(): Promise<void> {
  let approved = false;
  let closed = false;
  let messages = 0;
  setHandler(
    bareApproveUpdate,
    (_input) => {
      approved = true;
      return { approved: true } as const;
    },
    {
      validator: (_input) => {
        if (approved) throw new Error('nothing awaits approval');
      },
    },
  );
  setHandler(bareAskUpdate, async ({ message, messageId }) => ({ messageId, reply: await reply(message) }));
  setHandler(bareSendSignal, () => void messages++);
  setHandler(bareCloseSignal, () => void (closed = true));
  setHandler(bareViewQuery, () => ({ approved, messages }));
  await condition(() => closed);
}

/**
 * The park baseline: a standard session's shape with nothing of andon's: an activity (the plan), a
 * wait for approval (the same update as above, as andon approves with an update), five activities
 * one after another (the steps), done. It sets the state search attribute when it parks and when
 * it finishes, as a session does, so `bench park` counts both sides with the same queries.
 */
export async function bareParkSession(steps = 5): Promise<void> {
  let approved = false;
  setHandler(
    bareApproveUpdate,
    (_input) => {
      approved = true;
      return { approved: true } as const;
    },
    {
      validator: (_input) => {
        if (approved) throw new Error('nothing awaits approval');
      },
    },
  );
  await work('plan');
  upsertSearchAttributes([{ key: STATE_ATTRIBUTE, value: 'awaitingPlanApproval' }]);
  await condition(() => approved);
  upsertSearchAttributes([{ key: STATE_ATTRIBUTE, value: 'inProgress' }]);
  for (let i = 1; i <= steps; i++) await work(`step ${i}`);
  upsertSearchAttributes([{ key: STATE_ATTRIBUTE, value: 'completed' }]);
}
