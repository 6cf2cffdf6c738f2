/**
 * andon's Slack app: the notifier the worker uses to post and update session messages
 * (notifier.ts), and the request URLs the service serves for buttons, the slash command and
 * thread replies (plugin.ts). Configured by `service.slack` (config.ts).
 */
export { SlackConfig, SLACK_ENV, isSlackEnabled, slackConfigSchema, type EnabledSlackConfig, type SlackConfigInput } from './config';
export { SlackNotifier, type SlackNotifierOptions } from './notifier';
export { slackPlugin, SLACK_ROUTES, type SlackPluginOptions } from './plugin';
export { timelineFacts } from './facts';
