export * from './frame';
export * from './reader';
export * from './pin-entry';
