export * from './ids';
export * from './schemas';
export * from './topics';
export * from './signing';
export * from './codec';
export * from './limits';
export * from './sealed';
export * from './templates';
