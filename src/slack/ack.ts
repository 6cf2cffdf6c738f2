/**
 * Slack waits 3 seconds for an answer and then shows the person an error (or, for events,
 * delivers again). So every handler answers first and works after: `body` is the answer (none:
 * an empty 200), `after` the work done once it has been sent, whose outcome goes to the person
 * through a response URL or an ephemeral message.
 *
 * One handler waits before it answers, briefly: an edited tool call's submission (interactions.ts)
 * waits up to 2 s for the session's check of the arguments, so a refused field can be shown in the
 * modal itself; a verdict that takes longer is told to the person after.
 */
export interface Ack {
  body?: unknown;
  after?: () => Promise<void>;
}
