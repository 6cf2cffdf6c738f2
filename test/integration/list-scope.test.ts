/**
 * A client lists the sessions of its own deployment (its task queue), not every andon session in
 * the namespace: another deployment's sessions are not its business, and their encrypted memos
 * would not decode without that deployment's key.
 */
import { randomUUID } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { Andon } from '../../src/client/andon';
import { AesGcmCodec, generateEncryptionKey } from '../../src/client/codec';
import { quickScript, startHarness, testAddress, type Harness } from '../support/harness';

let h: Harness;
let connection: Connection;
let other: Andon;

beforeAll(async () => {
  h = await startHarness({ agent: quickScript() });
  connection = await Connection.connect({ address: testAddress() });
  // Another deployment in the same namespace, with its own key (no worker needed: its session exists).
  other = await Andon.connect({ connection, taskQueue: `other-${randomUUID()}`, codec: AesGcmCodec.from(generateEncryptionKey('k1')) });
});
afterAll(async () => {
  await other?.close();
  await h?.close();
});

it("lists only its own task queue's sessions, beside another deployment's encrypted ones", async () => {
  const theirs = await other.session({ prompt: 'theirs', title: 'theirs' });
  const mine = await h.andon.session({ prompt: 'mine', title: 'mine' });
  await mine.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
  let listed: string[] = [];
  // Visibility lags the workflow by up to a second.
  for (let i = 0; i < 40 && !listed.includes(mine.id); i++) {
    listed = (await h.andon.sessions.list({ limit: 1000 })).map((s) => s.id);
    if (!listed.includes(mine.id)) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(listed).toContain(mine.id);
  expect(listed).not.toContain(theirs.id);
  let theirList: string[] = [];
  for (let i = 0; i < 40 && !theirList.includes(theirs.id); i++) {
    theirList = (await other.sessions.list({ limit: 1000 })).map((s) => s.id);
    if (!theirList.includes(theirs.id)) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(theirList).toEqual([theirs.id]);
});
