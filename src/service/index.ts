// The andon HTTP service.
export { buildService, type BuildServiceOptions } from './app';
export { ServiceConfig, ApiToken, Scope, SCOPES, parseCompactTokens, type ServiceConfigInput } from './config';
export { actorOf, type Principal, type RouteScope } from './auth';
export { HttpError, type ErrorBody } from '../protocol/http-errors';
export { devToken, DEV_TOKEN_NAME } from './dev-token';
export { serve, type RunningService } from './serve';
// The Slack app the service can serve (its request URLs) and the worker's Slack notifier.
export { SlackConfig, SlackNotifier, slackPlugin, isSlackEnabled, type SlackNotifierOptions, type SlackPluginOptions } from '../slack';
