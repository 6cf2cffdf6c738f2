/**
 * Alert sessions and their Slack channel: a webhook route names one (`slackChannel`), and
 * `service.slack.defaultChannel` covers the routes that do not. Applied to the webhooks
 * configuration once, at start, so the receivers need not know Slack exists.
 */
import { isSlackEnabled, type SlackConfig } from '../../slack/config';
import type { WebhooksConfig } from './config';

export function withDefaultSlackChannel(webhooks: WebhooksConfig, slack: SlackConfig): WebhooksConfig {
  const channel = isSlackEnabled(slack) ? slack.defaultChannel : undefined;
  if (channel === undefined) return webhooks;
  return {
    ...webhooks,
    routes: webhooks.routes.map((route) => ({ ...route, slackChannel: route.slackChannel ?? channel })),
    defaultRoute: { ...webhooks.defaultRoute, slackChannel: webhooks.defaultRoute.slackChannel ?? channel },
  };
}
