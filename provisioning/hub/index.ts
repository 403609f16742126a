export * from './roster';
export * from './ingest';
export * from './hub';
