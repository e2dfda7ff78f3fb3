-- Outgoing mail. Additive only: an upgraded database keeps everything the original wrote.

-- The outbox: a message is written here in the same transaction as the change that causes it, and
-- a background sender delivers it (retries, restarts, several instances: see src/mail/outbox.rs).
-- Times are Unix milliseconds: the sender compares them on every poll, and integers compare the
-- same on both databases.
CREATE TABLE mail_outbox (
  id TEXT PRIMARY KEY,                 -- also the left part of the stable Message-ID
  kind TEXT NOT NULL,                  -- password_reset, invite, signup_verify, ...
  user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
  recipient TEXT NOT NULL,
  language TEXT NOT NULL DEFAULT 'en',
  subject TEXT NOT NULL,
  body TEXT,                           -- encrypted {subject, text, html}; NULL once sent or given up
  status TEXT NOT NULL DEFAULT 'pending',  -- pending, sending, sent, failed
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  claimed_by TEXT,                     -- the sending instance
  claimed_until BIGINT,                -- its lease; a crashed sender's claim lapses
  sent_at BIGINT,
  last_error TEXT
);
CREATE INDEX idx_mail_outbox_pending ON mail_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX idx_mail_outbox_sending ON mail_outbox (claimed_until) WHERE status = 'sending';
CREATE INDEX idx_mail_outbox_user ON mail_outbox (user_id);
-- The per-address limits count recent messages of a kind to an address.
CREATE INDEX idx_mail_outbox_recipient ON mail_outbox (recipient, kind, created_at);

-- E-mail change tokens are stored hashed like the other two kinds (the original kept them in
-- plain text; such rows are still read).
ALTER TABLE email_verification_tokens ADD COLUMN token_hash TEXT;
CREATE INDEX idx_email_verification_tokens_token_hash ON email_verification_tokens(token_hash);

-- Reset and invite tokens share a table: 'reset' (1 hour) or 'invite' (7 days); NULL for rows the
-- original wrote.
ALTER TABLE password_reset_tokens ADD COLUMN purpose TEXT;
