/**
 * andon's project configuration. Every value here can be overridden from the environment
 * (see src/config/schema.ts, ENV_OVERRIDES, and the README). Where Temporal runs is not set here: with no
 * TEMPORAL_ADDRESS / TEMPORAL_PROFILE, `npm start` runs an embedded dev server with the settings
 * below; point those variables at any cluster or Temporal Cloud and it runs only the worker.
 */
import { defineConfig } from './src/config/schema';

export default defineConfig({
  taskQueue: 'andon',
  dataDir: 'data',
  devServer: {
    ip: '127.0.0.1',
    port: 7233,
    uiPort: 8233,
    ui: true,
    namespace: 'default',
  },
  // The runbook agent (runbooks/, with the local demo scenario under demo/). The scripted demo agent: { kind: 'scripted', script: 'scripts/demo.json' }.
  backend: { kind: 'runbook' },
  // More agents by name, chosen per session (`agent: 'mine'`) or per webhook route (docs/agents.md).
  // `scripted` plays scripts/demo.json, whose code scenario fixes the demo repository (`npm start` prints how):
  agents: { scripted: { kind: 'scripted' } },
  // agents: { mine: { module: './agents/mine.js', options: {} } },
  // defaultAgent: 'runbook',
  sessions: { followUpWindow: '1h', requirePlanApproval: true },
  // Code sessions (docs/code-sessions.md): which repositories this worker may work on. The GitHub
  // token is read from the environment variable `github.tokenEnv` names (GITHUB_TOKEN), never from here.
  // workspace: {
  //   allowedGitHub: ['my-org'],                  // empty: any owner
  //   allowedGitSources: ['/srv/git/', 'https://git.example.com/'],  // empty: git sources refused
  //   github: { tokenEnv: 'GITHUB_TOKEN' },
  //   limits: { maxChangeBytes: 262144 },
  // },
});
