/**
 * The OpenAPI document the service serves: every session route with its method, operation id,
 * scope and security; request schemas present and usable (valid JSON Schema 2020-12 that accepts
 * a good body and refuses a bad one, as the service does).
 */
// Ajv ships with fastify; its 2020-12 build checks the document's schemas compile as JSON Schema.
import Ajv2020 from 'ajv/dist/2020';
import { startHarness, type Harness } from '../support/harness';
import { startService, type TestService } from '../support/service-harness';

let h: Harness;
let api: TestService;
/** The OpenAPI document and its parts: JSON the assertions walk by path, so untyped on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above; typing OpenAPI 3.1 here would only restate it
type Json = any;

let doc: Json;
beforeAll(async () => {
  h = await startHarness({ worker: false });
  api = await startService(h.andon);
  const response = await api.call('GET', '/openapi.json', { as: null });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('application/json');
  doc = response.body;
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

const ROUTES: Array<[method: string, path: string, operationId: string, scope: string]> = [
  ['post', '/v1/sessions', 'createSession', 'write'],
  ['get', '/v1/sessions', 'listSessions', 'read'],
  ['get', '/v1/sessions/{id}', 'getSession', 'read'],
  ['get', '/v1/sessions/{id}/timeline', 'getTimeline', 'read'],
  ['get', '/v1/sessions/{id}/wait', 'waitForSession', 'read'],
  ['post', '/v1/sessions/{id}/approve', 'approvePlan', 'approve'],
  ['post', '/v1/sessions/{id}/reject', 'rejectPlan', 'approve'],
  ['post', '/v1/sessions/{id}/messages', 'sendMessage', 'write'],
  ['post', '/v1/sessions/{id}/memories', 'writeMemory', 'write'],
  ['post', '/v1/sessions/{id}/ask', 'ask', 'write'],
  ['post', '/v1/sessions/{id}/pause', 'pauseSession', 'write'],
  ['post', '/v1/sessions/{id}/resume', 'resumeSession', 'write'],
  ['post', '/v1/sessions/{id}/cancel', 'cancelSession', 'write'],
  ['get', '/v1/reviews', 'listReviews', 'read'],
  ['get', '/v1/sessions/{id}/reviews', 'getSessionReviews', 'read'],
  ['post', '/v1/sessions/{id}/reviews/{reviewId}', 'decideReview', 'approve'],
  ['get', '/healthz', 'health', 'none'],
];

const operations = () =>
  Object.entries<Record<string, Json>>(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op })),
  );

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with a bearer security scheme', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'andon', version: expect.any(String) });
    expect(doc.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
  });

  it.each(ROUTES)('documents %s %s as %s, scope %s', (method, path, operationId, scope) => {
    const op = doc.paths[path]?.[method];
    expect(op).toBeDefined();
    expect(op.operationId).toBe(operationId);
    expect(op['x-andon-scope']).toBe(scope);
    if (scope === 'none') expect(op.security).toBeUndefined();
    else expect(op.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(op.responses).some((status) => /^2/.test(status))).toBe(true);
    if (path.includes('{id}'))
      expect(op.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'path', name: 'id', required: true })]));
    if (path.startsWith('/v1/')) {
      for (const range of ['4XX', '5XX']) {
        expect(op.responses[range].content['application/json'].schema.properties.error.required).toEqual(['code', 'message']);
      }
    }
  });

  it('declares a scope on every operation and unique operation ids', () => {
    const all = operations();
    expect(all.filter(({ op }) => op['x-andon-scope'] === undefined).map(({ method, path }) => `${method} ${path}`)).toEqual([]);
    const ids = all.map(({ op }) => op.operationId).filter(Boolean);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.paths['/openapi.json']).toBeUndefined();
  });

  it('has request schemas: bodies, queries and which bodies may be left out', () => {
    const body = (path: string) => doc.paths[path].post.requestBody;
    for (const [method, path] of ROUTES) if (method === 'post') expect(body(path).content['application/json'].schema).toBeDefined();
    expect(body('/v1/sessions')).toMatchObject({
      required: true,
      content: { 'application/json': { schema: { required: ['prompt'], additionalProperties: false } } },
    });
    // A caller chooses the session's agent by name.
    expect(body('/v1/sessions').content['application/json'].schema.properties.agent).toMatchObject({
      type: 'string',
      description: expect.stringContaining('agents'),
    });
    expect(body('/v1/sessions/{id}/reject').content['application/json'].schema.required).toEqual(['reason']);
    expect(body('/v1/sessions/{id}/cancel').content['application/json'].schema.required).toEqual(['reason']);
    expect(body('/v1/sessions/{id}/messages').content['application/json'].schema.required).toEqual(['message']);
    expect(body('/v1/sessions/{id}/reviews/{reviewId}')).toMatchObject({
      required: true,
      content: {
        'application/json': {
          schema: { required: ['decision'], additionalProperties: false, properties: { decision: { enum: ['approve', 'deny', 'edit'] } } },
        },
      },
    });
    expect(doc.paths['/v1/sessions/{id}/reviews/{reviewId}'].post.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'path', name: 'reviewId', required: true })]),
    );
    expect(body('/v1/sessions/{id}/resume').content['application/json'].schema.anyOf[0].properties.budget).toBeDefined();
    for (const path of ['/v1/sessions/{id}/approve', '/v1/sessions/{id}/pause', '/v1/sessions/{id}/resume'])
      expect(body(path).required).toBe(false);

    const query = (path: string) => doc.paths[path].get.parameters.filter((p: Json) => p.in === 'query').map((p: Json) => p.name);
    expect(query('/v1/sessions')).toEqual(['state', 'text', 'service', 'since', 'limit']);
    expect(query('/v1/sessions/{id}/timeline')).toEqual(['after', 'limit']);
    expect(query('/v1/sessions/{id}/wait')).toEqual(['state', 'timeout']);
    expect(query('/v1/reviews')).toEqual(['limit']);
  });

  it('has schemas that compile as JSON Schema 2020-12 and agree with the service', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    for (const { method, path, op } of operations()) {
      const schemas = [
        ...Object.values<Json>(op.requestBody?.content ?? {}).map((c) => c.schema),
        ...(op.parameters ?? []).map((p: Json) => p.schema),
        ...Object.values<Json>(op.responses).flatMap((r) => Object.values<Json>(r.content ?? {}).map((c) => c.schema)),
      ];
      for (const schema of schemas) expect(() => ajv.compile(schema)).not.toThrow(`${method} ${path}`);
    }
    const create = ajv.compile(doc.paths['/v1/sessions'].post.requestBody.content['application/json'].schema);
    expect(create({ prompt: 'disk full', context: { service: 'db' }, followUpWindow: '10m' })).toBe(true);
    expect(create({ prompt: '' })).toBe(false);
    expect(create({ prompt: 'x', requestedBy: 'someone else' })).toBe(false);
    expect(create({ prompt: 'x', budget: { tokens: 1000 } })).toBe(false);
    expect(create({ prompt: 'x', review: { expireAfter: '1m' } })).toBe(false);
    const view = ajv.compile(doc.paths['/v1/sessions/{id}'].get.responses['200'].content['application/json'].schema);
    expect(view({ id: 'x', state: 'queued' })).toBe(false);
  });
});
