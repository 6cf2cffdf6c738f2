/**
 * The source of a code session is checked where it enters (SDK, API, CLI, routes): a caller can
 * neither smuggle credentials into workflow history nor have git run a command or read an option.
 */
import { SessionSource, describeSource, publishMode, PublishPolicy } from '../../src/session/schema';

const refused = (raw: unknown) => {
  const parsed = SessionSource.safeParse(raw);
  expect(parsed.success).toBe(false);
  return parsed.success ? '' : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
};

describe('SessionSource', () => {
  it("takes Jules' { github, branch } and its baseBranch spelling", () => {
    expect(SessionSource.parse({ github: 'acme/checkout', branch: 'main' })).toEqual({ github: 'acme/checkout', branch: 'main' });
    expect(SessionSource.parse({ github: 'acme/checkout', baseBranch: 'release/1.2' })).toEqual({
      github: 'acme/checkout',
      branch: 'release/1.2',
    });
    expect(SessionSource.parse({ github: 'acme/checkout' })).toEqual({ github: 'acme/checkout' });
  });

  it('takes a git clone URL or a local path', () => {
    for (const git of ['git@github.com:acme/checkout.git', 'ssh://git@example.com/acme/x.git', '/srv/repos/x.git', 'file:///srv/x']) {
      expect(SessionSource.parse({ git })).toEqual({ git });
    }
  });

  it.each([
    [{ github: 'acme' }, /owner\/repo/],
    [{ github: 'acme/checkout.git' }, /without "\.git"/],
    [{ github: 'acme/checkout', branch: '-f' }, /branch/],
    [{ github: 'acme/checkout', branch: 'a..b' }, /branch/],
    [{ github: 'acme/checkout', branch: 'has space' }, /branch/],
    [{ git: 'https://ghp_secret@github.com/acme/x.git' }, /credentials/],
    [{ git: 'https://user:pass@example.com/x.git' }, /credentials/],
    [{ git: 'ext::sh -c touch% /tmp/pwned' }, /remote helper/],
    [{ git: '--upload-pack=touch /tmp/pwned' }, /must not start with "-"/],
    [{ git: '/srv/x\n' }, /control characters/],
    [{ git: '/srv/x', github: 'a/b' }, /./],
    [{ repo: 'acme/checkout' }, /./],
  ])('refuses %j, saying why', (raw, why) => {
    expect(refused(raw)).toMatch(why);
  });

  it('is described on one line without credentials', () => {
    expect(describeSource({ github: 'acme/checkout', branch: 'main' })).toBe('github:acme/checkout@main');
    expect(describeSource({ git: 'ssh://git@example.com/x.git' })).toBe('git:ssh://***@example.com/x.git');
  });

  it('publishes a pull request for GitHub and a branch for other git sources unless told otherwise', () => {
    expect(publishMode(undefined, undefined)).toBe('none');
    expect(publishMode({ github: 'a/b' }, undefined)).toBe('pullRequest');
    expect(publishMode({ git: '/srv/x' }, undefined)).toBe('branch');
    expect(publishMode({ github: 'a/b' }, PublishPolicy.parse({ mode: 'none' }))).toBe('none');
  });
});
