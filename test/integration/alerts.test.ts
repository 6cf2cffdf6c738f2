/**
 * Alerts reach sessions through signal-with-start: one session per incident, whatever the
 * monitoring system re-delivers, and a resolve that cancels what has not started executing.
 */
import { alertSessionId, legacyAlertSessionId } from '../../src/client/andon';
import type { AlertNotification } from '../../src/client';
import { quickScript, startHarness, twoStepPlan, type Harness } from '../support/harness';
import { first } from '../support/at';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    agent: quickScript({
      plans: [twoStepPlan(1500)],
    }),
  });
});
afterAll(() => h.close());

const T = { timeoutMs: 20_000 };
let n = 0;
function alert(status: 'firing' | 'resolved', fingerprint: string): AlertNotification {
  return {
    source: 'alertmanager',
    fingerprint,
    status,
    summary: 'checkout-api 5xx above 5%',
    labels: { service: 'checkout-api', severity: 'critical' },
    by: 'webhook:alertmanager',
  };
}
const session = { prompt: 'Investigate: checkout-api 5xx above 5%' };

it('concurrent duplicate deliveries make exactly one session, each folded in as an event', async () => {
  const fingerprint = `fp-dup-${Date.now()}-${n++}`;
  const clients = await Promise.all(Array.from({ length: 8 }, () => h.andon.alert(alert('firing', fingerprint), session)));
  expect(new Set(clients.map((c) => c.id))).toEqual(new Set([alertSessionId('alertmanager', fingerprint)]));
  const runs: string[] = [];
  for await (const execution of h.client.workflow.list({ query: `WorkflowId = '${first(clients).id}'` })) runs.push(execution.runId);
  expect(runs).toHaveLength(1);

  const view = await first(clients).waitFor('awaitingPlanApproval', T);
  const { events } = await first(clients).timeline();
  expect(events[0]?.type).toBe('sessionCreated');
  expect(events.filter((e) => e.type === 'alertReceived')).toHaveLength(8);
  expect(view.alert).toMatchObject({ source: 'alertmanager', fingerprint, status: 'firing', deliveries: 8 });
  await first(clients).cancel('done');
});

it('a resolve while the plan awaits approval ends the session as cancelled, with the reason', async () => {
  const fingerprint = `fp-resolve-${Date.now()}-${n++}`;
  const s = await h.andon.alert(alert('firing', fingerprint), session);
  await s.waitFor('awaitingPlanApproval', T);
  await h.andon.alert(alert('resolved', fingerprint), session);
  const view = await s.waitFor('cancelled', T);
  expect(view.reason).toMatch(/the alert resolved before the plan was carried out/);
  expect(view.alert).toMatchObject({ status: 'resolved', deliveries: 2 });
  const { events } = await s.timeline();
  expect(events.at(-1)).toMatchObject({ type: 'sessionCancelled', by: 'webhook:alertmanager' });
});

it('a resolve while the plan executes is recorded and the session goes on to complete', async () => {
  const fingerprint = `fp-exec-${Date.now()}-${n++}`;
  const s = await h.andon.alert(alert('firing', fingerprint), session);
  await s.waitFor('awaitingPlanApproval', T);
  await s.approve();
  await h.andon.alert(alert('resolved', fingerprint), session);
  const outcome = await s.result(T);
  expect(outcome.summary).toBe('done: Investigate: checkout-api 5xx above 5%');
  const { events } = await s.timeline();
  expect(events.filter((e) => e.type === 'alertReceived').map((e) => (e as { status: string }).status)).toEqual(['firing', 'resolved']);
});

it('makes safe, stable session ids from any fingerprint, distinct for distinct fingerprints', () => {
  expect(alertSessionId('alertmanager', 'abc123')).toMatch(/^alert-alertmanager-abc123-[0-9a-f]{16}$/);
  expect(alertSessionId('pagerduty', 'Q1/2 #x')).toMatch(/^alert-pagerduty-Q1_2__x-[0-9a-f]{16}$/);
  const long = alertSessionId('generic', 'x'.repeat(300));
  expect(long.length).toBeLessThanOrEqual(128);
  expect(alertSessionId('generic', 'x'.repeat(300))).toBe(long);
  expect(alertSessionId('generic', 'x'.repeat(301))).not.toBe(long);
  // The old scheme mapped these to one id.
  expect(legacyAlertSessionId('generic', 'db/7')).toBe(legacyAlertSessionId('generic', 'db 7'));
  const ids = ['db/7', 'db 7', 'db_7', 'db:7', 'DB/7'].map((fp) => alertSessionId('generic', fp));
  expect(new Set(ids).size).toBe(ids.length);
  expect(alertSessionId('generic', 'a-b')).not.toBe(alertSessionId('generic-a', 'b'));
  for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/);
});

it('an incident whose session was started under the old id scheme keeps reaching it while it runs', async () => {
  const fingerprint = `db/7-${Date.now()}-${n++}`;
  const legacy = legacyAlertSessionId('alertmanager', fingerprint);
  const old = await h.andon.alert(alert('firing', fingerprint), { ...session, id: legacy });
  await old.waitFor('awaitingPlanApproval', T);
  expect(await h.andon.alertSessionFor('alertmanager', fingerprint)).toBe(legacy);
  const again = await h.andon.alert(alert('firing', fingerprint), session);
  expect(again.id).toBe(legacy);
  // A different fingerprint the old scheme collided with gets its own session.
  const other = fingerprint.replace('/', ' ');
  expect(await h.andon.alertSessionFor('alertmanager', other)).toBe(alertSessionId('alertmanager', other));
  // Once the old session has ended, the incident's next session starts under the new id.
  await old.cancel('test');
  const deadline = Date.now() + T.timeoutMs;
  while ((await h.client.workflow.getHandle(legacy).describe()).status.name === 'RUNNING' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(await h.andon.alertSessionFor('alertmanager', fingerprint)).toBe(alertSessionId('alertmanager', fingerprint));
});
