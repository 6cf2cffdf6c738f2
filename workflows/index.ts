// The worker's workflow bundle entry point: every workflow type andon registers.
export { andonSession } from './session/workflow';
