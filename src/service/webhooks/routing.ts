/**
 * Which session an alert gets: the first configured route whose conditions all hold, else the
 * default route. A route sets the prompt, title, agent, approval and follow-up window, the
 * repository (source) and publish policy of a code session, and adds context; the alert's labels
 * are always the session's context, so the agent sees them.
 */
import { MAX_MESSAGE_CHARS, type SessionConfig } from '../../session/schema';
import { DEFAULT_ALERT_PROMPT, type DefaultRoute, type ReceiverName, type WebhookRoute } from './config';
import { clip, type IncomingAlert } from './receiver';
import { renderTemplate, type TemplateValues } from './template';

const MAX_TITLE_CHARS = 200;
const MAX_CONTEXT_CHARS = 4_000;

export interface RoutingConfig {
  routes: readonly WebhookRoute[];
  defaultRoute: DefaultRoute;
}

export interface RoutedAlert {
  /** The route's name, `routes[<index>]` when it has none, or `default`. */
  route: string;
  session: Omit<SessionConfig, 'id'>;
}

/** The first route that takes this alert, with its position. */
export function matchRoute(
  routes: readonly WebhookRoute[],
  source: ReceiverName,
  labels: Record<string, string>,
): { route: WebhookRoute; index: number } | undefined {
  for (const [index, route] of routes.entries()) if (matches(route.match, source, labels)) return { route, index };
  return undefined;
}

function matches(match: WebhookRoute['match'], source: ReceiverName, labels: Record<string, string>): boolean {
  if (match.source !== undefined && !(Array.isArray(match.source) ? match.source : [match.source]).includes(source)) return false;
  return Object.entries(match.labels).every(([name, wanted]) => {
    const value = labels[name];
    if (value === undefined) return false;
    return Array.isArray(wanted) ? wanted.includes(value) : wanted === value;
  });
}

export function routeAlert(alert: IncomingAlert, source: ReceiverName, config: RoutingConfig): RoutedAlert {
  const matched = matchRoute(config.routes, source, alert.labels);
  const route = matched?.route ?? config.defaultRoute;
  const values: TemplateValues = { ...alert, source };
  const render = (template: string) => renderTemplate(template, values).trim();

  // A template that renders to nothing (every placeholder empty) must still give the agent a task.
  const prompt = render(route.prompt) || render(DEFAULT_ALERT_PROMPT);
  const title = render(route.title ?? '{summary}');
  const context: Record<string, string> = {};
  for (const [name, value] of Object.entries(alert.labels)) context[name] = clip(value, MAX_CONTEXT_CHARS);
  for (const [name, template] of Object.entries(route.context)) context[name] = clip(render(template), MAX_CONTEXT_CHARS);

  return {
    route: matched ? (matched.route.name ?? `routes[${matched.index}]`) : 'default',
    session: {
      prompt: clip(prompt, MAX_MESSAGE_CHARS),
      title: title ? clip(title, MAX_TITLE_CHARS) : undefined,
      context,
      agent: route.agent,
      source: route.source,
      publish: route.publish,
      requirePlanApproval: route.requirePlanApproval,
      followUpWindow: route.followUpWindow,
      requestedBy: `webhook:${source}`,
      approval: route.approval,
      notify: route.slackChannel ? { slack: { channel: route.slackChannel } } : undefined,
    },
  };
}
