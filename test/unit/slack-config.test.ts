/**
 * The `service.slack` section: off until a bot token is configured, secrets from the
 * environment, both credentials required once on, and the default channel applied to alert
 * routes that name none.
 */
import { ServiceConfig } from '../../src/service/config';
import { WebhooksConfig } from '../../src/service/webhooks/config';
import { isSlackEnabled, slackConfigSchema } from '../../src/slack/config';
import { withDefaultSlackChannel } from '../../src/service/webhooks/slack-channel';

const ENV = { ANDON_SLACK_BOT_TOKEN: 'xoxb-123\n', ANDON_SLACK_SIGNING_SECRET: 'secret-abc' };

describe('service.slack', () => {
  it('is off by default, with Slack as the API', () => {
    const slack = ServiceConfig.parse({}).slack;
    expect(slack).toMatchObject({ enabled: false, apiUrl: 'https://slack.com/api/' });
    expect(isSlackEnabled(slack)).toBe(false);
  });

  it('turns on with credentials from the environment, which win over the file', () => {
    const slack = slackConfigSchema(ENV).parse({
      botToken: 'xoxb-from-file',
      temporalUiUrl: 'https://cloud.temporal.io',
      apiUrl: 'http://127.0.0.1:9999/api',
    });
    expect(slack).toEqual({
      enabled: true,
      botToken: 'xoxb-123',
      signingSecret: 'secret-abc',
      apiUrl: 'http://127.0.0.1:9999/api/',
      temporalUiUrl: 'https://cloud.temporal.io/',
    });
    expect(isSlackEnabled(slack)).toBe(true);
    expect(slackConfigSchema({ ...ENV, ANDON_SLACK_ENABLED: 'false' }).parse({}).enabled).toBe(false);
  });

  it('takes the allowed workspaces as a list or a comma-separated variable, refusing what is no team id', () => {
    expect(slackConfigSchema({}).parse({ teamIds: ['T0OURS', 'E0ORG'] }).teamIds).toEqual(['T0OURS', 'E0ORG']);
    expect(slackConfigSchema({ ANDON_SLACK_TEAM_IDS: ' T0A, T0B ,' }).parse({ teamIds: ['T0FILE'] }).teamIds).toEqual(['T0A', 'T0B']);
    expect(slackConfigSchema({}).parse({}).teamIds).toBeUndefined();
    const bad = slackConfigSchema({}).safeParse({ teamIds: ['T0OK', "x' OR 1=1"] });
    expect(bad.error?.issues[0]).toMatchObject({ path: ['teamIds', 1], message: expect.stringContaining('team id') });
    expect(slackConfigSchema({}).safeParse({ teamIds: [] }).error?.issues[0]?.path).toEqual(['teamIds']);
  });

  it('refuses to run half-configured, naming the variable', () => {
    const parsed = slackConfigSchema({ ANDON_SLACK_BOT_TOKEN: 'xoxb-123' }).safeParse({});
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['signingSecret'],
      message: expect.stringContaining('ANDON_SLACK_SIGNING_SECRET'),
    });
    expect(slackConfigSchema({}).safeParse({ enabled: true, signingSecret: 's' }).error?.issues[0]?.path).toEqual(['botToken']);
    expect(slackConfigSchema({}).safeParse({ apiUrl: 'ftp://x' }).success).toBe(false);
    expect(slackConfigSchema({}).safeParse({ botToken: 'x', signingSecret: 's', chanel: '#ops' }).success).toBe(false);
  });

  it('takes a shared replay store as a postgres:// URL, from the file or ANDON_SLACK_REPLAY_URL, and refuses anything else', () => {
    expect(slackConfigSchema({}).parse({}).replayUrl).toBeUndefined();
    expect(slackConfigSchema({}).parse({ replayUrl: 'postgresql://db/andon' }).replayUrl).toBe('postgresql://db/andon');
    expect(slackConfigSchema({ ANDON_SLACK_REPLAY_URL: ' postgres://u:p@db/andon ' }).parse({}).replayUrl).toBe('postgres://u:p@db/andon');
    for (const bad of ['redis://cache', '/var/lib/replays.db', 'x'.repeat(5_000)]) {
      expect(slackConfigSchema({}).safeParse({ replayUrl: bad }).error?.issues[0]?.path).toEqual(['replayUrl']);
    }
  });

  it('sends alert sessions to the default channel unless their route names one', () => {
    const webhooks = WebhooksConfig.parse({
      routes: [{ match: { labels: { team: 'db' } }, prompt: 'p', slackChannel: '#db' }, { prompt: 'q' }],
    });
    const slack = slackConfigSchema(ENV).parse({ defaultChannel: '#ops' });
    const routed = withDefaultSlackChannel(webhooks, slack);
    expect(routed.routes.map((r) => r.slackChannel)).toEqual(['#db', '#ops']);
    expect(routed.defaultRoute.slackChannel).toBe('#ops');
    expect(withDefaultSlackChannel(webhooks, slackConfigSchema({}).parse({ defaultChannel: '#ops' }))).toBe(webhooks);
  });
});
