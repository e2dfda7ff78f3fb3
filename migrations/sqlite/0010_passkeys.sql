-- Passkeys (WebAuthn, src/passkeys/): each user's credentials, the ceremonies in flight (kept in
-- the database so that any instance can finish what another began), and when a session last
-- confirmed its owner (a passkey is added only within minutes of a sign-in or a re-entered
-- password). Additive.
CREATE TABLE passkeys (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  credential_id TEXT NOT NULL UNIQUE,  -- base64url, what the browser sends back
  name TEXT NOT NULL,
  credential TEXT NOT NULL,            -- webauthn-rs's Passkey as JSON: public key and counter
  created_at TEXT NOT NULL,
  last_used_at TEXT
);
CREATE INDEX idx_passkeys_user ON passkeys(user_id);
CREATE TABLE webauthn_challenges (
  id TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,               -- register, login, mfa
  user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
  binding TEXT,                        -- the session (register) or pending sign-in (mfa) it belongs to
  state TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX idx_webauthn_challenges_expires ON webauthn_challenges(expires_at);
ALTER TABLE auth_sessions ADD COLUMN confirmed_at TEXT;
