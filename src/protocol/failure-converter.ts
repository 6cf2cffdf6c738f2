/**
 * The failure converter of encrypting clients and workers (docs/encryption.md), loaded by path
 * (`DataConverter.failureConverterPath`): by the client, by the worker for activity failures, and
 * bundled into the workflow. It moves a failure's message and stack trace into its encoded
 * attributes, a payload the codec encrypts, so an error that quotes a prompt, a label or a
 * command's output is not plaintext in history. Decoding needs nothing: every failure converter
 * reads encoded attributes back. Deterministic, so workflow code may load it.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
