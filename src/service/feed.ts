/**
 * Fan-out of sessions' live timelines: one reader per watched session (SessionFeed), at most one
 * feed per session (SessionFeeds), and per-connection SSE writers with their own backpressure
 * (SseConnection). Nothing here needs Temporal: the timeline source is injected.
 */
export { SessionFeed, type FeedItem, type SessionFeedOptions, type Subscriber, type TimelineSource } from './feed/session-feed';
export { DEFAULT_LINGER_MS, SessionFeeds, type SessionFeedsOptions, type Subscription } from './feed/registry';
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_BUFFERED_BYTES,
  SseConnection,
  describeStreamError,
  type SseConnectionOptions,
} from './feed/sse-connection';
export { HEARTBEAT, endFrame, errorFrame, eventFrame } from './feed/sse';
