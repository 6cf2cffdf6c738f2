// The andon client SDK.
export { Andon, ListFilter, type AndonConnectOptions, type AndonOptions, type SessionDefaults, type SessionSummary } from './andon';
export { SessionClient, DEFAULT_TIMEOUTS, type SessionOutcome } from './session-client';
export * from './errors';
export {
  ChangeSet,
  ChangeSetError,
  GeneratedFiles,
  changeSet,
  type GeneratedFile,
  type ParsedChangeSet,
  type ParsedFile,
  type SavedChangeSet,
} from './change-set';
export { translateError } from './temporal-errors';
export * from '../session/schema';
export type { AskResult } from '../protocol/inputs';
export {
  AesGcmCodec,
  EncryptionKeyError,
  EncryptionKeys,
  encryptingDataConverter,
  generateEncryptionKey,
  type AesGcmCodecOptions,
  type EncryptionKey,
} from './codec';
