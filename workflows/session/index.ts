// The session workflow; its type name `andonSession` is what running sessions and clients use.
export { andonSession } from './workflow';
