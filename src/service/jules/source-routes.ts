/**
 * The source routes of the Jules door: the GitHub repositories the service offers
 * (`service.jules.sources`), listed and one by one; 404 for any other.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { auth, errors, tags, type JulesRoutesOptions } from './common';
import { julesNotFound } from './errors';
import { parseSourceFilter, readSourceToken, sourceToken } from './paging';
import { sourceName, toSource } from './resources';
import { ListSourcesQuery, SourceParams } from './schemas';
import { Source, SourcePage } from './wire';

const DEFAULT_SOURCE_PAGE = 100;

export const sourceRoutes: FastifyPluginAsyncZod<JulesRoutesOptions> = async (app, { config }) => {
  const sources = new Map(config.sources.map((source) => [source.github.toLowerCase(), source]));

  app.get(
    '/sources',
    {
      config: auth('read'),
      schema: {
        operationId: 'julesListSources',
        summary: 'The GitHub repositories sessions may work on (Jules)',
        description:
          'From the service configuration (`service.jules.sources`, ANDON_JULES_SOURCES). `filter`: `name = "sources/github/owner/repo"` clauses joined by OR.',
        tags,
        querystring: ListSourcesQuery,
        response: { 200: SourcePage, ...errors },
      },
    },
    async (request) => {
      const { pageSize = DEFAULT_SOURCE_PAGE, pageToken, filter } = request.query;
      const names = parseSourceFilter(filter);
      const listed = names ? config.sources.filter((source) => names.has(sourceName(source.github).toLowerCase())) : config.sources;
      const offset = pageToken ? readSourceToken(pageToken) : 0;
      const page = listed.slice(offset, offset + pageSize).map(toSource);
      const next = offset + pageSize;
      return next < listed.length ? { sources: page, nextPageToken: sourceToken(next) } : { sources: page };
    },
  );

  app.get(
    '/sources/github/:owner/:repo',
    {
      config: auth('read'),
      schema: {
        operationId: 'julesGetSource',
        summary: 'One GitHub source (Jules); 404 when it is not offered',
        tags,
        params: SourceParams,
        response: { 200: Source, ...errors },
      },
    },
    async (request) => {
      const { owner, repo } = request.params;
      const source = sources.get(`${owner}/${repo}`.toLowerCase());
      if (!source) throw julesNotFound(`source sources/github/${owner}/${repo} is not offered by this service`);
      return toSource(source);
    },
  );
};
