-- SlugBase in Rust: additions to the original schema. Additive only, so an upgraded database keeps
-- everything the original wrote.

-- Server-side session revocation: every session JWT carries the user's token_version; bumping it
-- (logout everywhere, password change, MFA change, admin action) ends all of that user's sessions.
ALTER TABLE users ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0;
-- Admin can disable an account without deleting it.
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
-- TOTP replay protection: the last time step accepted for this user.
ALTER TABLE users ADD COLUMN mfa_last_used_step BIGINT;

-- Personal API tokens may expire.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;

-- Fixed-window counters for rate limits, shared by every instance that uses this database.
CREATE TABLE rate_limits (
  bucket TEXT PRIMARY KEY,
  window_start BIGINT NOT NULL,
  hits BIGINT NOT NULL
);

CREATE INDEX idx_audit_events_tenant_action ON audit_events(tenant_id, action, created_at);
CREATE INDEX idx_audit_events_tenant_actor ON audit_events(tenant_id, actor_user_id, created_at);
