/**
 * src/workspace: the git side of code sessions (no Temporal). A per-repository mirror cache, a
 * per-session working tree rebuilt from base commit + recorded patch, change capture, and a
 * deterministic commit pushed idempotently to `andon/<session>`.
 */
export { WorkspaceConfig, type WorkspaceConfigInput } from './config';
export { WorkspaceError, type WorkspaceErrorCode } from './errors';
export { resolveInTree } from './paths';
export { githubRepo } from './sources';
export { Workspaces, sessionBranch } from './workspaces';
