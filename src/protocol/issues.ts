import type { z } from 'zod';

/** The problem a boundary reports for a value its schema refused: zod's first issue (a failed parse has at least one). */
export function firstIssue(error: z.ZodError): z.core.$ZodIssue {
  const issue = error.issues[0];
  if (issue === undefined) throw new Error(`zod refused a value without saying why: ${error.message}`);
  return issue;
}
