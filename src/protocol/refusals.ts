/**
 * How a session refuses a command: the ApplicationFailure type of a refused update, and the
 * details it carries. Temporal-free, so any client (and docs/protocol.md) can map them.
 */

/** Failure types a refused update carries (ApplicationFailure.type), mapped to typed errors by the client. */
export const REFUSAL = {
  invalidArgument: 'InvalidArgument',
  invalidState: 'InvalidState',
  stalePlan: 'StalePlan',
  replyFailed: 'AgentReplyFailed',
  sessionEnded: 'SessionEnded',
  /** The approval policy does not let this person decide (not an approver, or the requester). */
  notAllowed: 'NotAllowed',
  /** This person already approved this plan: an approval counts once. */
  duplicateApproval: 'DuplicateApproval',
} as const;
export type RefusalType = (typeof REFUSAL)[keyof typeof REFUSAL];

/** Details attached to every refusal, so a caller can show the current state. */
export interface RefusalDetails {
  state: string;
  field?: string;
  planId?: string;
}
