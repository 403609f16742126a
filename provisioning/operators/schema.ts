/**
 * hub.db migration 6 (HUB_MIGRATIONS in provisioning/db.ts): the tables of operators and of the hub's
 * HTTP API. Secrets are never stored: passwords as argon2id hashes, session ids and API token secrets as
 * SHA-256 of 32 random bytes (a hash of a random 256-bit value needs no slow hash). A registration
 * keeps the identity document number masked (first 4 and last 4 characters), never whole: the real-name
 * check has seen it when the tenant submitted it, and nobody needs it again.
 */
export const OPERATORS_SCHEMA = `
CREATE TABLE operators (
  id TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('admin', 'security', 'manager', 'auditor')),
  buildings TEXT NOT NULL DEFAULT '[]',
  password_hash TEXT NOT NULL,
  must_change_password INTEGER NOT NULL DEFAULT 1,
  disabled_at INTEGER,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  password_changed_at INTEGER NOT NULL
);
CREATE TABLE operator_sessions (
  id_hash TEXT PRIMARY KEY,
  operator_id TEXT NOT NULL REFERENCES operators (id),
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  address TEXT NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  operator_id TEXT NOT NULL REFERENCES operators (id),
  secret_hash TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER
);
CREATE TABLE login_throttle (
  key TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start INTEGER NOT NULL,
  locked_until INTEGER
);
CREATE TABLE registrations (
  id TEXT PRIMARY KEY,
  person_id TEXT NOT NULL,
  name TEXT NOT NULL,
  id_number_masked TEXT NOT NULL,
  building_id TEXT NOT NULL,
  room TEXT NOT NULL,
  photos TEXT NOT NULL,
  real_name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  decided_by TEXT,
  decided_at INTEGER,
  reason TEXT,
  submitted_at INTEGER NOT NULL
);
CREATE INDEX registrations_queue ON registrations (status, building_id);
`;
