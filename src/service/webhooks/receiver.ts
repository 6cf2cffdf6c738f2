/**
 * What every vendor receiver provides, and the helpers they share. A receiver only reads its
 * vendor's payload; authentication, routing and delivery are the same for all of them.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { badRequest } from '../../protocol/http-errors';
import type { ReceiverName } from './config';
import { firstIssue } from '../../protocol/issues';
import type { DeliveryMeta } from './replay';

/** An alert as read from a vendor's payload, before routing. */
export interface IncomingAlert {
  /** The incident's identity in the vendor: every notification with it belongs to one session. */
  fingerprint: string;
  status: 'firing' | 'resolved';
  summary: string;
  labels: Record<string, string>;
  /** Descriptions, runbook links, ...: for route templates; the session gets the labels. */
  annotations: Record<string, string>;
  startsAt?: string;
  url?: string;
}

export interface Receiver {
  name: ReceiverName;
  /** One line for the OpenAPI document. */
  summary: string;
  /** Reads the vendor's payload (a grouped one gives several alerts); a 400 names the first bad field. */
  normalise(body: unknown): IncomingAlert[];
  /** The delivery's own id and time, where the vendor's payload carries them (replay.ts). */
  delivery?(body: unknown): DeliveryMeta;
  /** Checks the vendor's request signature, for receivers whose vendor signs requests. */
  verifySignature?(secret: string, rawBody: Buffer, headers: IncomingHttpHeaders): boolean;
}

export const StringMap = z.record(z.string(), z.string());

/** Parses `input`, or throws a 400 naming the first bad field as a dotted path. */
export function parsePayload<S extends z.ZodType>(schema: S, input: unknown, at: PropertyKey[] = []): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = firstIssue(parsed.error);
  const field = [...at, ...issue.path].map(String).join('.') || '(body)';
  throw badRequest(`invalid ${field}: ${issue.message}`, field);
}

/** An identity for an alert that has no fingerprint: the same labels always give the same one. */
export function labelsFingerprint(labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((name) => [name, labels[name]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

/** The first value that has text in it. */
export function firstText(...values: (string | undefined | null)[]): string | undefined {
  for (const value of values) if (typeof value === 'string' && value.trim() !== '') return value.trim();
  return undefined;
}

/** `text` cut to `max` characters, marked as cut, so a long vendor value never fails a whole delivery. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
