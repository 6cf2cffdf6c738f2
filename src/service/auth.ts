/**
 * Bearer tokens with scopes. Every route must declare `config.scope`: a route without one stops
 * the service from starting, so nothing becomes public by accident. `none` is for routes that
 * are public (the OpenAPI document, health) or authenticate themselves (webhook receivers).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError, unauthorized } from '../protocol/http-errors';
import type { ApiToken, Scope } from './config';

export type RouteScope = Scope | 'none';
export const ROUTE_SCOPES: readonly RouteScope[] = ['read', 'write', 'approve', 'none'];

export interface Principal {
  /** The token's name. */
  name: string;
  scopes: readonly Scope[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a caller's token needs for this route; required on every route (see auth.ts). */
    scope?: RouteScope;
    /**
     * How the caller presents its token: `Authorization: Bearer` (default), or for the Jules REST
     * door (jules/routes.ts) `X-Goog-Api-Key`, as Jules clients send it (a Bearer token is taken too).
     */
    credential?: 'bearer' | 'apiKey';
  }
  interface FastifyRequest {
    /** Who called: set on every route whose scope is not `none`. */
    principal?: Principal;
  }
}

/** The OpenAPI security scheme name routes reference. */
export const SECURITY_SCHEME = 'bearerAuth';
/** The scheme of the Jules REST routes: the same tokens in X-Goog-Api-Key. */
export const API_KEY_SCHEME = 'googApiKey';
const REALM = 'Bearer realm="andon"';

/** Who is recorded as `by` on the session for what this request does. */
export function actorOf(request: FastifyRequest): string {
  if (!request.principal) throw new Error(`${request.method} ${request.url}: no authenticated caller (route scope "none"?)`);
  return `api:${request.principal.name}`;
}

/**
 * A field that needs more than the route's scope: e.g. waiving plan approval on create needs
 * `approve`, though creating needs only `write`. 403 naming the field and the scope; checked
 * before anything is started or sent.
 */
export function requireScopeFor(request: FastifyRequest, scope: Scope, field: string, what: string): void {
  const principal = request.principal;
  if (!principal) throw new Error(`${request.method} ${request.url}: no authenticated caller (route scope "none"?)`);
  if (principal.scopes.includes(scope)) return;
  throw new HttpError(
    403,
    'forbidden',
    `token "${principal.name}" lacks the "${scope}" scope, which ${what} needs (field ${field})`,
    { field },
    { 'www-authenticate': `${REALM}, error="insufficient_scope", scope="${scope}"` },
  );
}

export const authPlugin = fp(
  async (app: FastifyInstance, options: { tokens: readonly ApiToken[] }) => {
    const authenticate = tokenMatcher(options.tokens);
    app.decorateRequest('principal', undefined);

    app.addHook('onRoute', (route) => {
      const scope = route.config?.scope;
      if (scope === undefined || !ROUTE_SCOPES.includes(scope)) {
        throw new Error(
          `route ${String(route.method)} ${route.url} must declare config.scope (one of ${ROUTE_SCOPES.join(', ')}); "none" makes it public`,
        );
      }
      // The scope is documented on the operation, so clients (and tests) see what each route needs.
      const schema = { ...route.schema, 'x-andon-scope': scope } as NonNullable<typeof route.schema> & { description?: string };
      if (scope !== 'none') {
        schema.security =
          route.config?.credential === 'apiKey' ? [{ [API_KEY_SCHEME]: [] }, { [SECURITY_SCHEME]: [] }] : [{ [SECURITY_SCHEME]: [] }];
        schema.description = [schema.description, `Requires a token with the \`${scope}\` scope.`].filter(Boolean).join('\n\n');
      }
      route.schema = schema;
    });

    app.addHook('onRequest', async (request) => {
      const scope = request.routeOptions.config?.scope;
      // No scope: the not-found handler, which answers 404 whoever asks.
      if (scope === undefined || scope === 'none') return;
      const header = request.headers.authorization;
      const match = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
      const apiKey = request.routeOptions.config?.credential === 'apiKey' ? request.headers['x-goog-api-key'] : undefined;
      if (apiKey !== undefined) {
        const principal = typeof apiKey === 'string' && apiKey !== '' ? authenticate(apiKey) : undefined;
        if (!principal) throw unauthorized('API key not valid: pass an andon API token in X-Goog-Api-Key', REALM);
        return admit(request, principal, scope);
      }
      if (!match?.[1]) {
        throw unauthorized(
          request.routeOptions.config?.credential === 'apiKey'
            ? 'missing API key: send "X-Goog-Api-Key: <andon API token>"'
            : 'missing bearer token: send "Authorization: Bearer <token>"',
          REALM,
        );
      }
      const principal = authenticate(match[1]);
      if (!principal) throw unauthorized('invalid bearer token', `${REALM}, error="invalid_token"`);
      admit(request, principal, scope);
    });
  },
  { name: 'andon-auth' },
);

/** A known caller: allowed on if its token has the route's scope, else 403. */
function admit(request: FastifyRequest, principal: Principal, scope: Scope): void {
  if (!principal.scopes.includes(scope)) {
    throw new HttpError(
      403,
      'forbidden',
      `token "${principal.name}" lacks the "${scope}" scope`,
      {},
      {
        'www-authenticate': `${REALM}, error="insufficient_scope", scope="${scope}"`,
      },
    );
  }
  request.principal = principal;
}

/**
 * Finds the token a caller presented. Compares SHA-256 digests with timingSafeEqual and checks
 * every token, so neither a token's length nor which one matched shows in the timing.
 */
export function tokenMatcher(tokens: readonly ApiToken[]): (presented: string) => Principal | undefined {
  const known = tokens.map((t) => ({ principal: { name: t.name, scopes: t.scopes }, digest: sha256(t.token) }));
  return (presented) => {
    const digest = sha256(presented);
    let found: Principal | undefined;
    for (const token of known) {
      if (timingSafeEqual(digest, token.digest) && found === undefined) found = token.principal;
    }
    return found;
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
