-- SlugBase in Rust: additions to the original schema. Additive only, so an upgraded database keeps
-- everything the original wrote.

-- Server-side sessions: every session JWT names a row here, checked on each request, so logout,
-- password and MFA changes, and an admin disabling or deleting a user end sessions at once.
CREATE TABLE auth_sessions (
  id VARCHAR(255) PRIMARY KEY,
  user_id VARCHAR(255) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL,
  ip TEXT,
  user_agent TEXT
);
CREATE INDEX idx_auth_sessions_user ON auth_sessions(user_id);
-- Admin can disable an account without deleting it.
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
-- TOTP replay protection: the last time step accepted for this user.
ALTER TABLE users ADD COLUMN mfa_last_used_step BIGINT;

-- Personal API tokens may expire.
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP;

-- Fixed-window counters for rate limits, shared by every instance that uses this database.
CREATE TABLE rate_limits (
  bucket TEXT PRIMARY KEY,
  window_start BIGINT NOT NULL,
  hits BIGINT NOT NULL
);

-- Who did it from where.
ALTER TABLE audit_events ADD COLUMN ip TEXT;
ALTER TABLE audit_events ADD COLUMN user_agent TEXT;

CREATE INDEX idx_audit_events_tenant_action ON audit_events(tenant_id, action, created_at);
CREATE INDEX idx_audit_events_tenant_actor ON audit_events(tenant_id, actor_user_id, created_at);
