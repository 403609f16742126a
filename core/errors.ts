/**
 * Root of every error this project throws on purpose. Each area declares its own subclasses at the
 * top of the file that throws them (RosterIntegrityError in runtime/roster, LockRelayError in
 * drivers/lock, ...), so `catch (e) { if (e instanceof TerminalError) ... }` separates known failures
 * from bugs. `code` is a stable, machine-readable name for counting and events; messages never carry
 * face data, names, keys or tokens.
 */
export abstract class TerminalError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input from outside (config file, MQTT payload, CLI argument, model file) failed its zod schema. */
export class InvalidInputError extends TerminalError {
  readonly code = 'invalid-input';

  constructor(
    readonly what: string,
    readonly issues: readonly string[],
  ) {
    super(`${what} is invalid: ${issues.join('; ')}`);
  }
}
