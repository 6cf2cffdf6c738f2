/**
 * The andon HTTP service: a fastify app of small plugins, each with one job, registered in an
 * order that matters — errors first (so every failure has the one shape), auth next (its
 * onRoute check must see every route), OpenAPI before the routes it documents.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Andon } from '../client/andon';
import { authPlugin } from './auth';
import { codecRoutes, type CodecServerOptions } from './codec';
import type { ServiceConfig } from './config';
import { errorsPlugin } from './error-handler';
import { eventsPlugin } from './events';
import { openapiPlugin } from './openapi';
import { healthRoutes } from './routes/health';
import { sessionRoutes } from './routes/sessions';
import { julesRoutes } from './jules/routes';
import { googleBody } from './jules/errors';
import { HttpError } from '../protocol/http-errors';
import { webhooksPlugin } from './webhooks';
import { withDefaultSlackChannel } from './webhooks/slack-channel';
import { isSlackEnabled, slackPlugin } from '../slack';
import { andonVersion } from '../client/version';

export interface BuildServiceOptions {
  andon: Andon;
  config: ServiceConfig;
  /** A pino-style logger, fastify logger options, or false for none. Default: warnings and errors to stdout. */
  logger?: FastifyBaseLogger | FastifyServerOptions['logger'];
  /** With encryption on: the codec server the Temporal UI and CLI call (codec.ts, docs/encryption.md). */
  codec?: CodecServerOptions;
  /**
   * The worker's agent names, when the service runs beside it (`npm start`): a session naming
   * another agent is refused (422) instead of failing later. Unset: any name is passed on.
   */
  agents?: readonly string[];
}

export async function buildService({ andon, config, logger, codec, agents }: BuildServiceOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(isLoggerInstance(logger) ? { loggerInstance: logger } : { logger: logger ?? { level: 'warn' } }),
    bodyLimit: config.bodyLimit,
    // A URL that does not decode (`/v1/sessions/%`) fails before routing, so no route's error
    // handler sees it: answer it in the shape of the door it was aimed at.
    frameworkErrors: (error, request, reply: FastifyReply) => {
      const answer = new HttpError(400, 'invalid_argument', error.message, { field: '(url)' });
      void reply.code(400).send(request.url.startsWith('/v1alpha/') ? googleBody(answer) : answer.body());
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  acceptEmptyJsonBodies(app);

  await app.register(errorsPlugin, { retryAfterSeconds: config.retryAfterSeconds });
  await app.register(authPlugin, { tokens: config.tokens });
  await app.register(openapiPlugin, { version: andonVersion() });
  await app.register(healthRoutes);
  await app.register(sessionRoutes, {
    prefix: '/v1',
    andon,
    requestTimeoutMs: config.requestTimeout,
    askTimeoutMs: config.askTimeout,
    maxConcurrentWaits: config.maxConcurrentWaits,
    retryAfterSeconds: config.retryAfterSeconds,
    agents,
  });
  if (config.jules.enabled) {
    await app.register(julesRoutes, {
      prefix: '/v1alpha',
      andon,
      config: config.jules,
      requestTimeoutMs: config.requestTimeout,
      retryAfterSeconds: config.retryAfterSeconds,
    });
  }
  await app.register(eventsPlugin, { andon, readyTimeoutMs: config.requestTimeout });
  await app.register(webhooksPlugin, { andon, config: withDefaultSlackChannel(config.webhooks, config.slack) });
  if (isSlackEnabled(config.slack)) await app.register(slackPlugin, { andon, config: config.slack });
  if (codec) await app.register(codecRoutes, { ...codec, tokens: config.tokens });
  await app.ready();
  return app;
}

/**
 * `curl -X POST -H 'Content-Type: application/json' .../resume` sends no body; that means "no
 * fields", not a malformed request. Everything else goes to fastify's own (safe) JSON parser.
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    return parse(request, text, done);
  });
}

function isLoggerInstance(logger: BuildServiceOptions['logger']): logger is FastifyBaseLogger {
  return (
    typeof logger === 'object' &&
    logger !== null &&
    typeof (logger as { info?: unknown }).info === 'function' &&
    typeof (logger as { child?: unknown }).child === 'function'
  );
}
