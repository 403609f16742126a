export * from './controller';
export { installLockExitGuards, type ExitGuardOptions } from './process';
