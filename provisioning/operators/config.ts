/**
 * Durations and limits of operator authentication, all in one strict schema with defaults (the reason
 * for each beside it). `provision hub --http ... --auth-config FILE` reads a JSON file of overrides.
 */
import { z } from 'zod';

const MIN = 60_000;

export const AuthConfigSchema = z.strictObject({
  /** A session unused this long ends (an unattended console in the security office). */
  sessionIdleMs: z.number().int().min(1000).default(30 * MIN),
  /** A session ends this long after login however busy it is (one working shift). */
  sessionAbsoluteMs: z.number().int().min(1000).default(12 * 60 * MIN),
  /** Failed logins on one account within `failureWindowMs` that lock it... */
  accountMaxFailures: z.number().int().min(1).default(5),
  /** ...for this long (long enough to make guessing hopeless, short enough not to lock a manager out for the day). */
  accountLockMs: z.number().int().min(1000).default(15 * MIN),
  /** Failed logins from one address (any accounts) within the window that lock the address (spraying one password over many accounts)... */
  addressMaxFailures: z.number().int().min(1).default(20),
  /** ...for this long. */
  addressLockMs: z.number().int().min(1000).default(15 * MIN),
  /** Failures older than this are forgotten. */
  failureWindowMs: z.number().int().min(1000).default(15 * MIN),
  /** Tenant registrations accepted from one address per window (the one anonymous write). */
  registrationsPerAddress: z.number().int().min(1).default(10),
  /** A root request token (signed with the passphrase's key) is good for this long at most. */
  rootTokenMaxAgeMs: z.number().int().min(1000).max(10 * MIN).default(MIN),
});
export type AuthConfig = z.infer<typeof AuthConfigSchema>;

export const DEFAULT_AUTH_CONFIG: AuthConfig = AuthConfigSchema.parse({});
