/**
 * Which Slack workspaces andon listens to. A signed request proves it came from Slack, not that
 * its sender belongs here: any workspace the app is installed in, and through Slack Connect or
 * as a guest any person of another organisation, can click a button or type `/andon`. So every
 * request names the workspace it came from (and, where Slack says so, the person's own
 * workspace), and each of those must be allowed: `teamIds` when configured, otherwise the
 * workspace (or Enterprise Grid organisation, for an org-wide install) of the bot token, as
 * auth.test tells it. Anything that names no workspace is refused.
 */
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';

/** Where a request says it comes from. Ids Slack left out are undefined. */
export interface RequestTeams {
  /** The workspace the request was made in (`team.id`, `team_id`). */
  team?: string;
  /** The person's own workspace (`user.team_id`, `user_team`), which differs in Slack Connect channels. */
  userTeam?: string;
  /** The Enterprise Grid organisation (`enterprise.id`, `enterprise_id`). */
  enterprise?: string;
  /** An org-wide install: `team` may be absent, the organisation is what is allowed. */
  enterpriseInstall?: boolean;
}

const Id = z.string().min(1).max(40).optional().catch(undefined);
const Flag = z.boolean().optional().catch(undefined);

/** The team fields of an interaction payload (block_actions, view_submission). */
const InteractionTeams = z.looseObject({
  team: z.looseObject({ id: Id }).nullish().catch(undefined),
  user: z.looseObject({ team_id: Id }).nullish().catch(undefined),
  enterprise: z.looseObject({ id: Id }).nullish().catch(undefined),
  is_enterprise_install: Flag,
});

/** The team fields of a slash command's form. */
const CommandTeams = z.looseObject({
  team_id: Id,
  enterprise_id: Id,
  is_enterprise_install: z.enum(['true', 'false']).optional().catch(undefined),
});

/** The team fields of an Events API callback and of its message event. */
const EventTeams = z.looseObject({
  team_id: Id,
  enterprise_id: Id,
  is_enterprise_install: Flag,
  event: z.looseObject({ team: Id, user_team: Id }).nullish().catch(undefined),
});

export function interactionTeams(payload: unknown): RequestTeams {
  const parsed = InteractionTeams.safeParse(payload);
  if (!parsed.success) return {};
  const { team, user, enterprise, is_enterprise_install } = parsed.data;
  return { team: team?.id, userTeam: user?.team_id, enterprise: enterprise?.id, enterpriseInstall: is_enterprise_install };
}

export function commandTeams(fields: Record<string, string>): RequestTeams {
  const parsed = CommandTeams.safeParse(fields);
  if (!parsed.success) return {};
  const { team_id, enterprise_id, is_enterprise_install } = parsed.data;
  return { team: team_id, enterprise: enterprise_id, enterpriseInstall: is_enterprise_install === 'true' };
}

export function eventTeams(body: unknown): RequestTeams {
  const parsed = EventTeams.safeParse(body);
  if (!parsed.success) return {};
  const { team_id, enterprise_id, is_enterprise_install, event } = parsed.data;
  // In a shared channel the message's author may belong to another workspace (`user_team`).
  return { team: team_id, userTeam: event?.user_team ?? event?.team, enterprise: enterprise_id, enterpriseInstall: is_enterprise_install };
}

/** The allowed ids: team ids (`T…`) and enterprise ids (`E…`). */
export type AllowedTeams = ReadonlySet<string>;

/** Whether a request from `teams` is one andon acts on. */
export function isAllowed(teams: RequestTeams, allowed: AllowedTeams): boolean {
  // An org-wide install answers for every workspace of the organisation: the organisation must be allowed.
  const orgWide = teams.enterpriseInstall === true && teams.enterprise !== undefined && allowed.has(teams.enterprise);
  const where = teams.team ?? (teams.enterpriseInstall ? teams.enterprise : undefined);
  if (where === undefined) return false;
  if (!allowed.has(where) && !orgWide) return false;
  // A guest or Slack Connect user from elsewhere acts in an allowed workspace: their own must be allowed too. The
  // organisation does not vouch for them: a team id does not say which organisation it belongs to.
  if (teams.userTeam !== undefined && teams.userTeam !== where && !allowed.has(teams.userTeam)) return false;
  return true;
}

const AuthTest = z.looseObject({
  team_id: z.string().min(1).optional(),
  enterprise_id: z.string().min(1).optional(),
  is_enterprise_install: z.boolean().optional(),
});

/**
 * The allow-list: the configured one, or the bot token's own workspace, read once with auth.test
 * (and read again on the next request while that fails: until then nothing is allowed).
 */
export class Workspaces {
  private known: AllowedTeams | undefined;

  constructor(
    private readonly web: WebClient,
    configured: readonly string[] | undefined,
    private readonly warn: (message: string) => void,
  ) {
    if (configured) this.known = new Set(configured);
  }

  async allows(teams: RequestTeams): Promise<boolean> {
    const allowed = await this.allowed();
    return allowed !== undefined && isAllowed(teams, allowed);
  }

  private async allowed(): Promise<AllowedTeams | undefined> {
    if (this.known) return this.known;
    try {
      const me = AuthTest.parse(await this.web.auth.test());
      const ids = me.is_enterprise_install && me.enterprise_id ? [me.enterprise_id] : me.team_id ? [me.team_id] : [];
      if (ids.length === 0) throw new Error('auth.test named no team');
      this.known = new Set(ids);
      return this.known;
    } catch (error) {
      this.warn(
        `slack: could not learn the bot token's workspace (auth.test): ${(error as Error).message}; refusing Slack requests until it answers`,
      );
      return undefined;
    }
  }
}
