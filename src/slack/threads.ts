/**
 * Which session a Slack thread belongs to: the session's message is the thread's parent, and the
 * session records it in the AndonSlackThread search attribute (`<channel>:<ts>`) once posted.
 * Found through Temporal visibility, then remembered: a thread never changes session.
 */
import type { Andon } from '../client/andon';
import { SESSION_WORKFLOW_TYPE, SLACK_THREAD_ATTRIBUTE } from '../session/search-attributes';
import { threadKey } from './ids';

const REMEMBERED = 1_000;
const LOOKUP_TIMEOUT_MS = 5_000;

export class ThreadSessions {
  private readonly known = new Map<string, string>();

  constructor(private readonly andon: Andon) {}

  async find(channel: string, threadTs: string): Promise<string | undefined> {
    // Both go into a visibility query: anything but Slack's id and timestamp shapes is not ours.
    if (!/^[A-Z0-9]{1,40}$/i.test(channel) || !/^\d{1,12}\.\d{1,8}$/.test(threadTs)) return undefined;
    const key = threadKey(channel, threadTs);
    const known = this.known.get(key);
    if (known) return known;
    const query = `WorkflowType = '${SESSION_WORKFLOW_TYPE}' AND ${SLACK_THREAD_ATTRIBUTE.name} = '${key}'`;
    const sessionId = await this.andon.client.withAbortSignal(AbortSignal.timeout(LOOKUP_TIMEOUT_MS), async () => {
      for await (const execution of this.andon.client.workflow.list({ query, pageSize: 1 })) return execution.workflowId;
      return undefined;
    });
    if (sessionId) this.remember(key, sessionId);
    return sessionId;
  }

  private remember(key: string, sessionId: string): void {
    if (this.known.size >= REMEMBERED) this.known.delete(this.known.keys().next().value!);
    this.known.set(key, sessionId);
  }
}
