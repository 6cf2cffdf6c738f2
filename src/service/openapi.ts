/**
 * The OpenAPI 3.1 document, generated from the routes' zod schemas and served at
 * GET /openapi.json. Registered before the routes so it sees every one of them.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { OpenAPIV3_1 } from 'openapi-types';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { API_KEY_SCHEME, SECURITY_SCHEME } from './auth';

export const openapiPlugin = fp(
  async (app: FastifyInstance, options: { version: string }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'andon',
          version: options.version,
          description:
            'Durable, human-in-the-loop agent sessions on Temporal. Errors have one shape: `{ "error": { code, message, field?, state?, currentPlanId? } }`.',
        },
        components: {
          securitySchemes: {
            [SECURITY_SCHEME]: {
              type: 'http',
              scheme: 'bearer',
              description: 'An API token from the service configuration (scopes: read, write, approve).',
            },
            [API_KEY_SCHEME]: {
              type: 'apiKey',
              in: 'header',
              name: 'X-Goog-Api-Key',
              description: 'The same API tokens, as Jules clients send them (the /v1alpha routes).',
            },
          },
        },
      },
      transform: jsonSchemaTransform,
      transformObject: (document) => optionalBodies('openapiObject' in document ? document.openapiObject : document.swaggerObject),
    });

    app.get('/openapi.json', { config: { scope: 'none' }, schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'andon-openapi' },
);

/**
 * @fastify/swagger marks every request body required; a body that may be `null` (approve,
 * pause, resume: every field optional) may also be left out, and the document should say so.
 */
function optionalBodies<T>(document: T): T {
  const paths = (document as OpenAPIV3_1.Document).paths ?? {};
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item ?? {})) {
      const body = (operation as OpenAPIV3_1.OperationObject | undefined)?.requestBody as OpenAPIV3_1.RequestBodyObject | undefined;
      const schema = body?.content?.['application/json']?.schema as OpenAPIV3_1.SchemaObject | undefined;
      if (body && schema?.anyOf?.some((branch) => (branch as OpenAPIV3_1.SchemaObject).type === 'null')) body.required = false;
    }
  }
  return document;
}
