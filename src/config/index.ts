// andon's project configuration: the schema of temporal.config.ts and its loader.
export * from './schema';
export * from './load';
