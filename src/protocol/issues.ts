import type { z } from 'zod';

/**
 * The problem a boundary reports for a value its schema refused: zod's first issue (a failed parse
 * has at least one). A union's issue is explained by the alternative the value was meant to be, so
 * `{ github: 'acme', branch: 'main' }` reads "source.github: expected owner/repo", not "Invalid input".
 */
export function firstIssue(error: z.ZodError): z.core.$ZodIssue {
  const issue = error.issues[0];
  if (issue === undefined) throw new Error(`zod refused a value without saying why: ${error.message}`);
  return explainUnion(issue);
}

/** A key the alternative requires is missing (zod 4 says "received undefined"). */
const isMissingKey = (issue: z.core.$ZodIssue) =>
  issue.code === 'invalid_type' && issue.path.length === 1 && /received undefined$/.test(issue.message);

/**
 * For a union issue: the first issue of the one alternative the value fits in shape (no unknown
 * keys, no missing required key), with the union's path in front; when none or several fit, the
 * union's own issue, saying which keys would make the value one of the alternatives.
 */
export function explainUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  const fitting = issue.errors.filter(
    (branch) => branch.length > 0 && !branch.some((i) => (i.code === 'unrecognized_keys' && i.path.length === 0) || isMissingKey(i)),
  );
  const only = fitting.length === 1 ? fitting[0]?.[0] : undefined;
  if (only) return explainUnion({ ...only, path: [...issue.path, ...only.path] });
  // Objects that fit no alternative: name the keys each alternative needs.
  const needs = issue.errors.map((branch) => branch.filter(isMissingKey).map((i) => `"${String(i.path[0])}"`));
  if (needs.every((keys) => keys.length > 0))
    return { ...issue, message: `expected an object with ${needs.map((keys) => keys.join(' and ')).join(' or ')}` };
  // Values of the wrong kind altogether (every alternative refuses it at its root, the same way).
  const roots = issue.errors.map((branch) => branch.find((i) => i.path.length === 0)?.message);
  if (roots[0] !== undefined && roots.every((message) => message === roots[0])) return { ...issue, message: roots[0] };
  if (roots.every((message) => message !== undefined))
    return { ...issue, message: `fits none of the accepted forms (${[...new Set(roots)].join('; ')})` };
  return issue;
}
