/**
 * Liveness for load balancers and process managers: the service answers. It does not call
 * Temporal, so a Temporal outage shows as 503s on the API, not as a restart loop.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/healthz',
    {
      config: { scope: 'none' },
      schema: { operationId: 'health', summary: 'Liveness', tags: ['service'], response: { 200: z.object({ status: z.literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );
};
