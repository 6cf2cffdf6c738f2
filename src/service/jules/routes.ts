/**
 * The Jules REST v1alpha front door, mounted at /v1alpha: @google/jules-sdk pointed at
 * `http://host:port/v1alpha` drives andon's sessions unchanged (docs/jules.md). This plugin
 * gives the door its own error answers (Google's body, errors.ts) and optional rate limit, and
 * registers its routes: sessions, activities, sources.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { activityRoutes } from './activity-routes';
import type { JulesRoutesOptions } from './common';
import { julesErrorHandler } from './errors';
import { TokenRateLimiter } from './rate-limit';
import { sessionRoutes } from './session-routes';
import { sourceRoutes } from './source-routes';

export type { JulesRoutesOptions } from './common';

export const julesRoutes: FastifyPluginAsyncZod<JulesRoutesOptions> = async (app, options) => {
  app.setErrorHandler(julesErrorHandler(options));
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 404, message: `no route ${request.method} ${request.url.split('?')[0]}`, status: 'NOT_FOUND' } }),
  );
  const { rateLimit } = options.config;
  if (rateLimit) {
    const limiter = new TokenRateLimiter({ requests: rateLimit.requests, windowMs: rateLimit.window });
    // After the service's auth hook (a parent's hooks run first): the caller is known.
    app.addHook('onRequest', async (request) => {
      if (request.principal) limiter.take(request.principal.name);
    });
  }
  // Not `options` itself: it carries this plugin's prefix, which the children would add again.
  const { andon, config, requestTimeoutMs, retryAfterSeconds } = options;
  const shared: JulesRoutesOptions = { andon, config, requestTimeoutMs, retryAfterSeconds };
  await app.register(sessionRoutes, shared);
  await app.register(activityRoutes, shared);
  await app.register(sourceRoutes, shared);
};
