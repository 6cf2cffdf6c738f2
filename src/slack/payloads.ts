/**
 * The parts of Slack's requests andon reads: interaction payloads (button clicks, modal
 * submissions), slash commands and Events API callbacks. Loose objects: Slack adds fields over
 * time, and only these matter here. Read only after the request's signature has been checked.
 */
import { z } from 'zod';

const User = z.looseObject({ id: z.string().min(1) });

export const BlockActions = z.looseObject({
  type: z.literal('block_actions'),
  user: User,
  trigger_id: z.string().optional(),
  response_url: z.string().optional(),
  channel: z.looseObject({ id: z.string() }).optional(),
  /** Where the clicked button is: its message's channel and timestamp (to update it). */
  container: z.looseObject({ channel_id: z.string().optional(), message_ts: z.string().optional() }).optional(),
  message: z.looseObject({ ts: z.string().optional() }).optional(),
  actions: z.array(z.looseObject({ action_id: z.string(), value: z.string().optional() })).default([]),
});
export type BlockActions = z.infer<typeof BlockActions>;

const InputValue = z.looseObject({
  value: z.string().nullish(),
  selected_options: z.array(z.looseObject({ value: z.string() })).nullish(),
});

export const ViewSubmission = z.looseObject({
  type: z.literal('view_submission'),
  user: User,
  view: z.looseObject({
    callback_id: z.string().default(''),
    private_metadata: z.string().default(''),
    state: z.looseObject({ values: z.record(z.string(), z.record(z.string(), InputValue)) }).prefault({ values: {} }),
  }),
});
export type ViewSubmission = z.infer<typeof ViewSubmission>;

/** Interactions andon acts on; any other type (shortcuts, view_closed, ...) is acknowledged and ignored. */
export const Interaction = z.discriminatedUnion('type', [BlockActions, ViewSubmission]);
export type Interaction = z.infer<typeof Interaction>;

export const SlashCommand = z.looseObject({
  command: z.string().default('/andon'),
  text: z.string().default(''),
  user_id: z.string().min(1),
  channel_id: z.string().optional(),
  response_url: z.string().optional(),
});
export type SlashCommand = z.infer<typeof SlashCommand>;

export const MessageEvent = z.looseObject({
  type: z.literal('message'),
  subtype: z.string().optional(),
  channel: z.string(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  app_id: z.string().optional(),
  text: z.string().default(''),
  ts: z.string(),
  thread_ts: z.string().optional(),
});
export type MessageEvent = z.infer<typeof MessageEvent>;

export const EventsRequest = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('url_verification'), challenge: z.string() }),
  z.looseObject({
    type: z.literal('event_callback'),
    event_id: z.string(),
    api_app_id: z.string().optional(),
    /** Who the app is in this workspace: its own messages come back as events too. */
    authorizations: z.array(z.looseObject({ user_id: z.string().optional(), is_bot: z.boolean().optional() })).default([]),
    event: z.looseObject({ type: z.string() }),
  }),
]);
export type EventsRequest = z.infer<typeof EventsRequest>;

/** Reads an `application/x-www-form-urlencoded` body. */
export function formFields(raw: Buffer): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
}
