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
 */
import { condition, defineQuery, defineSignal, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';

export interface BareActivities {
  reply(message: string): Promise<string>;
}

export const bareApproveUpdate = defineUpdate<{ approved: true }, [{ by?: string; comment?: string }]>('approve');
export const bareAskUpdate = defineUpdate<{ messageId?: string; reply: string }, [{ message: string; messageId?: string; by?: string }]>(
  'ask',
);
export const bareSendSignal = defineSignal<[{ message: string; messageId?: string; by?: string }]>('send');
export const bareCloseSignal = defineSignal('close');
export const bareViewQuery = defineQuery<{ approved: boolean; messages: number }>('view');

const { reply } = proxyActivities<BareActivities>({ startToCloseTimeout: '2m', heartbeatTimeout: '30s' });

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
