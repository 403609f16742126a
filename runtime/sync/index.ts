export * from './client';
export * from './db';
export * from './outbox';
export * from './roster-sink';
export * from './transport';
export * from './fake-transport';
export * from './certificate';
export * from './roster-sync';
