/** The runbook agent: the offline backend that follows runbook files (see ./runbook.ts for the format). */
export { RunbookAgent, findingsOf, type Finding, type RunbookAgentOptions } from './agent';
export { RunbookBackendConfig, DEMO_COMMANDS, DEMO_READ_ONLY_COMMANDS, type RunbookBackendConfigInput } from './config';
export { Runbook, matchRunbook, parseRunbook, type RunbookInput } from './runbook';
export { RUNBOOK_EXTENSIONS, loadRunbooks, parseRunbookFile, splitFrontMatter, type FrontMatter } from './files';
export { CommandEntry, CommandRule, checkCommand, describeEntry } from './command-policy';
export {
  NotAllowedError,
  PatternError,
  compilePattern,
  commandAllowed,
  idempotencyEnv,
  confinePath,
  runCommand,
  scanLog,
  urlAllowed,
} from './sandbox';
export { argvMatchesTemplate, renderArg, renderArgv, renderText, TemplateError } from './template';
