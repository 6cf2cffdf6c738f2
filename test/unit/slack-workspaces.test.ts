/**
 * Which workspaces the Slack app listens to: the ids each kind of request carries, and the rule
 * (the workspace, the person's own workspace for Slack Connect users and guests, the organisation
 * for an org-wide install), with the bot token's workspace as the default allow-list.
 */
import { SlackApiServer } from '../support/slack-api-server';
import { slackClient } from '../../src/slack/client';
import { Workspaces, commandTeams, eventTeams, interactionTeams, isAllowed } from '../../src/slack/workspaces';

const allowed = new Set(['T0OURS', 'T0SISTER', 'E0ORG']);

describe('isAllowed', () => {
  it('takes a request from an allowed workspace by one of its people', () => {
    expect(isAllowed({ team: 'T0OURS', userTeam: 'T0OURS' }, allowed)).toBe(true);
    expect(isAllowed({ team: 'T0OURS' }, allowed)).toBe(true);
    // A person of one allowed workspace acting in another allowed one.
    expect(isAllowed({ team: 'T0OURS', userTeam: 'T0SISTER' }, allowed)).toBe(true);
  });

  it('refuses another workspace, a Slack Connect user or guest from elsewhere, and a request naming no workspace', () => {
    expect(isAllowed({ team: 'T0OTHER', userTeam: 'T0OTHER' }, allowed)).toBe(false);
    expect(isAllowed({ team: 'T0OTHER', userTeam: 'T0OURS' }, allowed)).toBe(false);
    expect(isAllowed({ team: 'T0OURS', userTeam: 'T0PARTNER' }, allowed)).toBe(false);
    expect(isAllowed({}, allowed)).toBe(false);
    expect(isAllowed({ userTeam: 'T0OURS' }, allowed)).toBe(false);
    // Naming an allowed enterprise is not enough without an org-wide install.
    expect(isAllowed({ team: 'T0OTHER', enterprise: 'E0ORG' }, allowed)).toBe(false);
  });

  it('takes an org-wide install of an allowed organisation, not of another', () => {
    expect(isAllowed({ enterprise: 'E0ORG', enterpriseInstall: true }, allowed)).toBe(true);
    expect(isAllowed({ team: 'T0ANYORGTEAM', enterprise: 'E0ORG', enterpriseInstall: true }, allowed)).toBe(true);
    expect(isAllowed({ enterprise: 'E0ELSE', enterpriseInstall: true }, allowed)).toBe(false);
    // A Slack Connect user in an org-wide install: their workspace must be listed itself.
    expect(isAllowed({ team: 'T0ORGTEAM', userTeam: 'T0PARTNER', enterprise: 'E0ORG', enterpriseInstall: true }, allowed)).toBe(false);
    expect(isAllowed({ team: 'T0ORGTEAM', userTeam: 'T0SISTER', enterprise: 'E0ORG', enterpriseInstall: true }, allowed)).toBe(true);
    expect(isAllowed({ team: 'T0OURS', userTeam: 'T0PARTNER', enterprise: 'E0ELSE', enterpriseInstall: true }, allowed)).toBe(false);
  });
});

describe('the ids of a request', () => {
  it('are read from interactions, slash commands and events, whatever else they carry', () => {
    expect(
      interactionTeams({
        type: 'block_actions',
        team: { id: 'T1' },
        user: { id: 'U1', team_id: 'T2' },
        enterprise: null,
        is_enterprise_install: false,
      }),
    ).toEqual({ team: 'T1', userTeam: 'T2', enterprise: undefined, enterpriseInstall: false });
    expect(interactionTeams({ team: null, enterprise: { id: 'E1' }, is_enterprise_install: true })).toMatchObject({
      team: undefined,
      enterprise: 'E1',
      enterpriseInstall: true,
    });
    expect(interactionTeams('nonsense')).toEqual({});
    expect(interactionTeams({ team: { id: 42 }, user: 'x' })).toMatchObject({ team: undefined, userTeam: undefined });
    expect(commandTeams({ team_id: 'T1', enterprise_id: 'E1', is_enterprise_install: 'true' })).toEqual({
      team: 'T1',
      enterprise: 'E1',
      enterpriseInstall: true,
    });
    expect(eventTeams({ team_id: 'T1', event: { type: 'message', user_team: 'T9' } })).toMatchObject({ team: 'T1', userTeam: 'T9' });
  });
});

describe('Workspaces', () => {
  it("allows the bot token's own workspace when none is configured, and nothing while auth.test fails", async () => {
    const slack = await SlackApiServer.start({ token: 'xoxb-t' });
    try {
      const warnings: string[] = [];
      const web = slackClient({ botToken: 'xoxb-t', apiUrl: slack.apiUrl });
      slack.fail({ method: 'auth.test', status: 500, times: 1 });
      const workspaces = new Workspaces(web, undefined, (m) => warnings.push(m));
      expect(await workspaces.allows({ team: 'T0TEST' })).toBe(false);
      expect(warnings).toEqual([expect.stringContaining('auth.test')]);
      expect(warnings.join()).not.toContain('xoxb-t');
      expect(await workspaces.allows({ team: 'T0TEST' })).toBe(true);
      expect(await workspaces.allows({ team: 'T0OTHER' })).toBe(false);
      expect(slack.callsOf('auth.test')).toHaveLength(2);
      await workspaces.allows({ team: 'T0TEST' });
      expect(slack.callsOf('auth.test')).toHaveLength(2);
      // Configured: auth.test is not asked, and its workspace is not allowed unless listed.
      const configured = new Workspaces(web, ['T0OURS'], () => {});
      expect(await configured.allows({ team: 'T0TEST' })).toBe(false);
      expect(await configured.allows({ team: 'T0OURS' })).toBe(true);
      expect(slack.callsOf('auth.test')).toHaveLength(2);
    } finally {
      await slack.close();
    }
  });
});
