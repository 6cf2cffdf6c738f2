/**
 * Slack waits 3 seconds for an answer and then shows the person an error (or, for events,
 * delivers again). So every handler answers first and works after: `body` is the answer (none:
 * an empty 200), `after` the work done once it has been sent, whose outcome goes to the person
 * through a response URL or an ephemeral message.
 */
export interface Ack {
  body?: unknown;
  after?: () => Promise<void>;
}
