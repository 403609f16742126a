export * from './roster';
export * from './event-store';
export * from './context';
export * from './hub';
export * from './main';
