-- Baseline: the schema of upstream SlugBase 1.0.0 on SQLite (names kept so that an existing SlugBase
-- database is this schema already; upstream's DEFAULT CURRENT_DATETIME typo corrected). Our own changes follow.

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT UNIQUE NOT NULL,
  name TEXT NOT NULL,
  user_key TEXT UNIQUE NOT NULL,
  password_hash TEXT,
  is_admin BOOLEAN DEFAULT FALSE,
  oidc_sub TEXT,
  oidc_provider TEXT,
  language TEXT DEFAULT 'en',
  theme TEXT DEFAULT 'auto',
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
  mfa_enabled BOOLEAN DEFAULT FALSE,
  mfa_totp_secret_enc TEXT,
  mfa_enrolled_at DATETIME
, email_pending VARCHAR(255), email_verified INTEGER DEFAULT 1, ai_suggestions_enabled INTEGER DEFAULT 1);
CREATE TABLE folders (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  name TEXT NOT NULL,
  icon TEXT,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP, tenant_id TEXT NOT NULL DEFAULT 'default',
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
  UNIQUE(user_id, name)
);
CREATE TABLE tags (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP, tenant_id TEXT NOT NULL DEFAULT 'default',
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
  UNIQUE(user_id, name)
);
CREATE TABLE bookmark_folders (
  bookmark_id TEXT NOT NULL,
  folder_id TEXT NOT NULL, tenant_id TEXT NOT NULL DEFAULT 'default',
  PRIMARY KEY (bookmark_id, folder_id),
  FOREIGN KEY (bookmark_id) REFERENCES bookmarks(id) ON DELETE CASCADE,
  FOREIGN KEY (folder_id) REFERENCES folders(id) ON DELETE CASCADE
);
CREATE TABLE bookmark_tags (
  bookmark_id TEXT NOT NULL,
  tag_id TEXT NOT NULL, tenant_id TEXT NOT NULL DEFAULT 'default',
  PRIMARY KEY (bookmark_id, tag_id),
  FOREIGN KEY (bookmark_id) REFERENCES bookmarks(id) ON DELETE CASCADE,
  FOREIGN KEY (tag_id) REFERENCES tags(id) ON DELETE CASCADE
);
CREATE TABLE teams (
  id TEXT PRIMARY KEY,
  name TEXT UNIQUE NOT NULL,
  description TEXT,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP
, tenant_id TEXT NOT NULL DEFAULT 'default');
CREATE TABLE team_members (
  user_id TEXT NOT NULL,
  team_id TEXT NOT NULL, tenant_id TEXT NOT NULL DEFAULT 'default',
  PRIMARY KEY (user_id, team_id),
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
  FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE CASCADE
);
CREATE TABLE bookmark_team_shares (
  bookmark_id TEXT NOT NULL,
  team_id TEXT NOT NULL, tenant_id TEXT NOT NULL DEFAULT 'default',
  PRIMARY KEY (bookmark_id, team_id),
  FOREIGN KEY (bookmark_id) REFERENCES bookmarks(id) ON DELETE CASCADE,
  FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE CASCADE
);
CREATE TABLE folder_team_shares (
  folder_id TEXT NOT NULL,
  team_id TEXT NOT NULL, tenant_id TEXT NOT NULL DEFAULT 'default',
  PRIMARY KEY (folder_id, team_id),
  FOREIGN KEY (folder_id) REFERENCES folders(id) ON DELETE CASCADE,
  FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE CASCADE
);
CREATE TABLE bookmark_user_shares (
  bookmark_id TEXT NOT NULL,
  user_id TEXT NOT NULL, tenant_id TEXT NOT NULL DEFAULT 'default',
  PRIMARY KEY (bookmark_id, user_id),
  FOREIGN KEY (bookmark_id) REFERENCES bookmarks(id) ON DELETE CASCADE,
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
);
CREATE TABLE folder_user_shares (
  folder_id TEXT NOT NULL,
  user_id TEXT NOT NULL, tenant_id TEXT NOT NULL DEFAULT 'default',
  PRIMARY KEY (folder_id, user_id),
  FOREIGN KEY (folder_id) REFERENCES folders(id) ON DELETE CASCADE,
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
);
CREATE TABLE system_config (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
, tenant_id TEXT NOT NULL DEFAULT 'default');
CREATE TABLE mfa_backup_codes (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  used_at DATETIME,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
  UNIQUE(user_id, code_hash)
);
CREATE INDEX idx_mfa_backup_codes_user_id ON mfa_backup_codes(user_id);
CREATE TABLE password_reset_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  token TEXT UNIQUE NOT NULL,
  expires_at DATETIME NOT NULL,
  used BOOLEAN DEFAULT FALSE,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP, token_hash TEXT,
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX idx_password_reset_tokens_token ON password_reset_tokens(token);
CREATE INDEX idx_password_reset_tokens_user ON password_reset_tokens(user_id);
CREATE INDEX idx_password_reset_tokens_expires ON password_reset_tokens(expires_at);
CREATE INDEX idx_folders_user_id ON folders(user_id);
CREATE INDEX idx_tags_user_id ON tags(user_id);
CREATE INDEX idx_users_user_key ON users(user_key);
CREATE INDEX idx_users_oidc ON users(oidc_sub, oidc_provider);
CREATE INDEX idx_team_members_user ON team_members(user_id);
CREATE INDEX idx_team_members_team ON team_members(team_id);
CREATE INDEX idx_bookmark_team_shares_bookmark ON bookmark_team_shares(bookmark_id);
CREATE INDEX idx_bookmark_team_shares_team ON bookmark_team_shares(team_id);
CREATE INDEX idx_folder_team_shares_folder ON folder_team_shares(folder_id);
CREATE INDEX idx_folder_team_shares_team ON folder_team_shares(team_id);
CREATE INDEX idx_bookmark_folders_bookmark ON bookmark_folders(bookmark_id);
CREATE INDEX idx_bookmark_folders_folder ON bookmark_folders(folder_id);
CREATE INDEX idx_bookmark_user_shares_bookmark ON bookmark_user_shares(bookmark_id);
CREATE INDEX idx_bookmark_user_shares_user ON bookmark_user_shares(user_id);
CREATE INDEX idx_folder_user_shares_folder ON folder_user_shares(folder_id);
CREATE INDEX idx_folder_user_shares_user ON folder_user_shares(user_id);
CREATE TABLE schema_migrations (
        migration_id TEXT PRIMARY KEY,
        migration_name TEXT NOT NULL,
        applied_at DATETIME DEFAULT CURRENT_TIMESTAMP
      );
CREATE TABLE oidc_providers (
        id VARCHAR(255) PRIMARY KEY,
        provider_key VARCHAR(255) UNIQUE NOT NULL,
        client_id TEXT NOT NULL,
        client_secret TEXT NOT NULL,
        issuer_url TEXT NOT NULL,
        authorization_url TEXT,
        token_url TEXT,
        userinfo_url TEXT,
        scopes TEXT NOT NULL,
        auto_create_users BOOLEAN DEFAULT TRUE,
        default_role VARCHAR(50) DEFAULT 'user',
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
      , tenant_id TEXT NOT NULL DEFAULT 'default');
CREATE TABLE bookmarks (
        id VARCHAR(255) PRIMARY KEY,
        user_id VARCHAR(255) NOT NULL,
        title TEXT NOT NULL,
        url TEXT NOT NULL,
        slug VARCHAR(255),
        forwarding_enabled BOOLEAN DEFAULT FALSE,
        pinned BOOLEAN DEFAULT FALSE,
        access_count INTEGER DEFAULT 0,
        last_accessed_at TIMESTAMP,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, tenant_id TEXT NOT NULL DEFAULT 'default',
        FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
        UNIQUE(slug)
      );
CREATE INDEX idx_bookmarks_user_id ON bookmarks(user_id);
CREATE INDEX idx_bookmarks_slug ON bookmarks(slug);
CREATE INDEX idx_bookmarks_pinned ON bookmarks(pinned);
CREATE INDEX idx_bookmarks_access_count ON bookmarks(access_count);
CREATE INDEX idx_bookmarks_last_accessed ON bookmarks(last_accessed_at);
CREATE TABLE email_verification_tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        token TEXT UNIQUE NOT NULL,
        new_email TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used INTEGER DEFAULT 0,
        created_at TEXT DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
      );
CREATE INDEX idx_email_verification_tokens_token 
      ON email_verification_tokens(token)
    ;
CREATE INDEX idx_email_verification_tokens_user 
      ON email_verification_tokens(user_id)
    ;
CREATE INDEX idx_email_verification_tokens_expires 
      ON email_verification_tokens(expires_at)
    ;
CREATE TABLE refresh_tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked INTEGER DEFAULT 0,
        created_at TEXT DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
      );
CREATE INDEX idx_refresh_tokens_token_hash ON refresh_tokens(token_hash)
    ;
CREATE INDEX idx_refresh_tokens_user_id ON refresh_tokens(user_id)
    ;
CREATE INDEX idx_refresh_tokens_expires_at ON refresh_tokens(expires_at)
    ;
CREATE INDEX idx_password_reset_tokens_token_hash
      ON password_reset_tokens(token_hash)
    ;
CREATE TABLE slug_preferences (
      user_id VARCHAR(255) NOT NULL,
      slug VARCHAR(255) NOT NULL,
      bookmark_id VARCHAR(255) NOT NULL,
      created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
      updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, tenant_id TEXT NOT NULL DEFAULT 'default',
      PRIMARY KEY (user_id, slug),
      FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
      FOREIGN KEY (bookmark_id) REFERENCES bookmarks(id) ON DELETE CASCADE
    );
CREATE INDEX idx_slug_preferences_user_slug ON slug_preferences(user_id, slug);
CREATE TABLE signup_verification_tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        token TEXT UNIQUE NOT NULL,
        expires_at TEXT NOT NULL,
        used INTEGER DEFAULT 0,
        created_at TEXT DEFAULT CURRENT_TIMESTAMP, token_hash TEXT,
        FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
      );
CREATE INDEX idx_signup_verification_tokens_token
      ON signup_verification_tokens(token)
    ;
CREATE INDEX idx_signup_verification_tokens_expires
      ON signup_verification_tokens(expires_at)
    ;
CREATE INDEX idx_signup_verification_tokens_token_hash
      ON signup_verification_tokens(token_hash)
    ;
CREATE INDEX idx_bookmarks_created_at ON bookmarks(created_at);
CREATE INDEX idx_users_created_at ON users(created_at);
CREATE INDEX idx_folders_created_at ON folders(created_at);
CREATE INDEX idx_tags_created_at ON tags(created_at);
CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        created_at TEXT DEFAULT CURRENT_TIMESTAMP,
        last_used_at TEXT,
        revoked_at TEXT, tenant_id TEXT NOT NULL DEFAULT 'default',
        FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
      );
CREATE INDEX idx_api_tokens_token_hash ON api_tokens(token_hash);
CREATE INDEX idx_api_tokens_user_id ON api_tokens(user_id);
CREATE TABLE ai_suggestion_usage (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        created_at TEXT DEFAULT CURRENT_TIMESTAMP,
        title_used INTEGER NOT NULL DEFAULT 0,
        slug_used INTEGER NOT NULL DEFAULT 0,
        tags_used INTEGER NOT NULL DEFAULT 0, tenant_id TEXT NOT NULL DEFAULT 'default',
        FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
      );
CREATE INDEX idx_ai_suggestion_usage_user_id ON ai_suggestion_usage(user_id);
CREATE INDEX idx_ai_suggestion_usage_created_at ON ai_suggestion_usage(created_at);
CREATE UNIQUE INDEX ux_bookmarks_tenant_slug ON bookmarks(tenant_id, slug) WHERE slug IS NOT NULL;
CREATE UNIQUE INDEX ux_folders_tenant_user_name ON folders(tenant_id, user_id, name);
CREATE UNIQUE INDEX ux_tags_tenant_user_name ON tags(tenant_id, user_id, name);
CREATE UNIQUE INDEX ux_slug_preferences_tenant_user_slug ON slug_preferences(tenant_id, user_id, slug);
CREATE UNIQUE INDEX ux_oidc_providers_tenant_key ON oidc_providers(tenant_id, provider_key);
CREATE INDEX idx_bookmarks_tenant_user ON bookmarks(tenant_id, user_id);
CREATE INDEX idx_bookmarks_tenant_slug ON bookmarks(tenant_id, slug);
CREATE INDEX idx_folders_tenant_user ON folders(tenant_id, user_id);
CREATE INDEX idx_tags_tenant_user ON tags(tenant_id, user_id);
CREATE INDEX idx_teams_tenant ON teams(tenant_id);
CREATE INDEX idx_team_members_tenant_user ON team_members(tenant_id, user_id);
CREATE INDEX idx_bookmark_folders_tenant_bookmark ON bookmark_folders(tenant_id, bookmark_id);
CREATE INDEX idx_bookmark_tags_tenant_bookmark ON bookmark_tags(tenant_id, bookmark_id);
CREATE INDEX idx_bookmark_team_shares_tenant_bookmark ON bookmark_team_shares(tenant_id, bookmark_id);
CREATE INDEX idx_folder_team_shares_tenant_folder ON folder_team_shares(tenant_id, folder_id);
CREATE INDEX idx_bookmark_user_shares_tenant_bookmark ON bookmark_user_shares(tenant_id, bookmark_id);
CREATE INDEX idx_folder_user_shares_tenant_folder ON folder_user_shares(tenant_id, folder_id);
CREATE INDEX idx_slug_preferences_tenant_user_slug ON slug_preferences(tenant_id, user_id, slug);
CREATE INDEX idx_api_tokens_tenant_user ON api_tokens(tenant_id, user_id);
CREATE INDEX idx_ai_suggestion_usage_tenant_user ON ai_suggestion_usage(tenant_id, user_id);
CREATE INDEX idx_oidc_providers_tenant_key ON oidc_providers(tenant_id, provider_key);
CREATE INDEX idx_system_config_tenant_key ON system_config(tenant_id, key);
CREATE TABLE audit_events (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        actor_user_id TEXT,
        action TEXT NOT NULL,
        entity_type TEXT NOT NULL,
        entity_id TEXT,
        metadata TEXT,
        created_at TEXT DEFAULT CURRENT_TIMESTAMP
      );
CREATE INDEX idx_audit_events_tenant_created ON audit_events(tenant_id, created_at DESC);
CREATE TABLE ai_suggestions_cache (
        tenant_id TEXT NOT NULL DEFAULT 'default',
        user_id TEXT NOT NULL,
        canonical_url TEXT NOT NULL,
        output_language TEXT NOT NULL DEFAULT 'en',
        title TEXT NOT NULL,
        slug TEXT,
        tags TEXT NOT NULL,
        language TEXT,
        confidence REAL,
        created_at TEXT DEFAULT CURRENT_TIMESTAMP,
        PRIMARY KEY (tenant_id, user_id, canonical_url, output_language),
        FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
      );
CREATE INDEX idx_ai_suggestions_cache_user ON ai_suggestions_cache(user_id);
CREATE INDEX idx_ai_suggestions_cache_tenant_user ON ai_suggestions_cache(tenant_id, user_id);
CREATE TABLE sessions (
            sid TEXT PRIMARY KEY,
            sess TEXT NOT NULL,
            expire DATETIME NOT NULL
          );
CREATE INDEX idx_sessions_expire ON sessions(expire)
        ;
