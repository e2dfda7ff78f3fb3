-- Baseline: the schema of upstream SlugBase 1.0.0 on PostgreSQL (table and column names kept so
-- that an existing SlugBase database is this schema already). Our own changes follow in later files.

CREATE TABLE ai_suggestion_usage (
    id character varying(255) NOT NULL,
    user_id character varying(255) NOT NULL,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    title_used boolean DEFAULT false NOT NULL,
    slug_used boolean DEFAULT false NOT NULL,
    tags_used boolean DEFAULT false NOT NULL,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE ai_suggestions_cache (
    user_id character varying(255) NOT NULL,
    canonical_url text NOT NULL,
    title text NOT NULL,
    slug character varying(255),
    tags text NOT NULL,
    language character varying(10),
    confidence numeric(3,2),
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    output_language character varying(10) DEFAULT 'en'::character varying NOT NULL,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE api_tokens (
    id character varying(255) NOT NULL,
    user_id character varying(255) NOT NULL,
    name character varying(255) NOT NULL,
    token_hash character varying(255) NOT NULL,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    last_used_at timestamp without time zone,
    revoked_at timestamp without time zone,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE audit_events (
    id character varying(255) NOT NULL,
    tenant_id character varying(255) NOT NULL,
    actor_user_id character varying(255),
    action character varying(128) NOT NULL,
    entity_type character varying(64) NOT NULL,
    entity_id character varying(255),
    metadata jsonb,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE bookmark_folders (
    bookmark_id character varying(255) NOT NULL,
    folder_id character varying(255) NOT NULL,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE bookmark_tags (
    bookmark_id character varying(255) NOT NULL,
    tag_id character varying(255) NOT NULL,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE bookmark_team_shares (
    bookmark_id character varying(255) NOT NULL,
    team_id character varying(255) NOT NULL,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE bookmark_user_shares (
    bookmark_id character varying(255) NOT NULL,
    user_id character varying(255) NOT NULL,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE bookmarks (
    id character varying(255) NOT NULL,
    user_id character varying(255) NOT NULL,
    title text NOT NULL,
    url text NOT NULL,
    slug character varying(255),
    forwarding_enabled boolean DEFAULT false,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    pinned boolean DEFAULT false,
    access_count integer DEFAULT 0,
    last_accessed_at timestamp without time zone,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE email_verification_tokens (
    id character varying(255) NOT NULL,
    user_id character varying(255) NOT NULL,
    token character varying(255) NOT NULL,
    new_email character varying(255) NOT NULL,
    expires_at timestamp without time zone NOT NULL,
    used boolean DEFAULT false,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE folder_team_shares (
    folder_id character varying(255) NOT NULL,
    team_id character varying(255) NOT NULL,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE folder_user_shares (
    folder_id character varying(255) NOT NULL,
    user_id character varying(255) NOT NULL,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE folders (
    id character varying(255) NOT NULL,
    user_id character varying(255) NOT NULL,
    name character varying(255) NOT NULL,
    icon character varying(50),
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE mfa_backup_codes (
    id character varying(255) NOT NULL,
    user_id character varying(255) NOT NULL,
    code_hash character varying(255) NOT NULL,
    used_at timestamp without time zone,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE oidc_providers (
    id character varying(255) NOT NULL,
    provider_key character varying(255) NOT NULL,
    client_id text NOT NULL,
    client_secret text NOT NULL,
    issuer_url text NOT NULL,
    scopes text NOT NULL,
    auto_create_users boolean DEFAULT true,
    default_role character varying(50) DEFAULT 'user'::character varying,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    authorization_url text,
    token_url text,
    userinfo_url text,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE password_reset_tokens (
    id character varying(255) NOT NULL,
    user_id character varying(255) NOT NULL,
    token character varying(255) NOT NULL,
    expires_at timestamp without time zone NOT NULL,
    used boolean DEFAULT false,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    token_hash character varying(255)
);

CREATE TABLE refresh_tokens (
    id character varying(255) NOT NULL,
    user_id character varying(255) NOT NULL,
    token_hash character varying(255) NOT NULL,
    expires_at timestamp without time zone NOT NULL,
    revoked boolean DEFAULT false,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE schema_migrations (
    migration_id character varying(255) NOT NULL,
    migration_name character varying(255) NOT NULL,
    applied_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE sessions (
    sid character varying(255) NOT NULL,
    sess text NOT NULL,
    expire timestamp without time zone NOT NULL
);

CREATE TABLE signup_verification_tokens (
    id character varying(255) NOT NULL,
    user_id character varying(255) NOT NULL,
    token character varying(255) NOT NULL,
    expires_at timestamp without time zone NOT NULL,
    used boolean DEFAULT false,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    token_hash character varying(255)
);

CREATE TABLE slug_preferences (
    user_id character varying(255) NOT NULL,
    slug character varying(255) NOT NULL,
    bookmark_id character varying(255) NOT NULL,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE system_config (
    key character varying(255) NOT NULL,
    value text NOT NULL,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE tags (
    id character varying(255) NOT NULL,
    user_id character varying(255) NOT NULL,
    name character varying(255) NOT NULL,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE team_members (
    user_id character varying(255) NOT NULL,
    team_id character varying(255) NOT NULL,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE teams (
    id character varying(255) NOT NULL,
    name character varying(255) NOT NULL,
    description text,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    tenant_id text DEFAULT 'default'::text NOT NULL
);

CREATE TABLE users (
    id character varying(255) NOT NULL,
    email character varying(255) NOT NULL,
    name character varying(255) NOT NULL,
    user_key character varying(255) NOT NULL,
    password_hash character varying(255),
    is_admin boolean DEFAULT false,
    oidc_sub character varying(255),
    oidc_provider character varying(255),
    language character varying(10) DEFAULT 'en'::character varying,
    theme character varying(10) DEFAULT 'auto'::character varying,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    mfa_enabled boolean DEFAULT false,
    mfa_totp_secret_enc text,
    mfa_enrolled_at timestamp without time zone,
    email_pending character varying(255),
    email_verified boolean DEFAULT true,
    ai_suggestions_enabled boolean DEFAULT true
);

ALTER TABLE ai_suggestion_usage ADD CONSTRAINT ai_suggestion_usage_pkey PRIMARY KEY (id);

ALTER TABLE ai_suggestions_cache ADD CONSTRAINT ai_suggestions_cache_pkey PRIMARY KEY (tenant_id, user_id, canonical_url, output_language);

ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);

ALTER TABLE audit_events ADD CONSTRAINT audit_events_pkey PRIMARY KEY (id);

ALTER TABLE bookmark_folders ADD CONSTRAINT bookmark_folders_pkey PRIMARY KEY (bookmark_id, folder_id);

ALTER TABLE bookmark_tags ADD CONSTRAINT bookmark_tags_pkey PRIMARY KEY (bookmark_id, tag_id);

ALTER TABLE bookmark_team_shares ADD CONSTRAINT bookmark_team_shares_pkey PRIMARY KEY (bookmark_id, team_id);

ALTER TABLE bookmark_user_shares ADD CONSTRAINT bookmark_user_shares_pkey PRIMARY KEY (bookmark_id, user_id);

ALTER TABLE bookmarks ADD CONSTRAINT bookmarks_pkey PRIMARY KEY (id);

ALTER TABLE bookmarks ADD CONSTRAINT bookmarks_slug_key UNIQUE (slug);

ALTER TABLE email_verification_tokens ADD CONSTRAINT email_verification_tokens_pkey PRIMARY KEY (id);

ALTER TABLE email_verification_tokens ADD CONSTRAINT email_verification_tokens_token_key UNIQUE (token);

ALTER TABLE folder_team_shares ADD CONSTRAINT folder_team_shares_pkey PRIMARY KEY (folder_id, team_id);

ALTER TABLE folder_user_shares ADD CONSTRAINT folder_user_shares_pkey PRIMARY KEY (folder_id, user_id);

ALTER TABLE folders ADD CONSTRAINT folders_pkey PRIMARY KEY (id);

ALTER TABLE folders ADD CONSTRAINT folders_user_id_name_key UNIQUE (user_id, name);

ALTER TABLE mfa_backup_codes ADD CONSTRAINT mfa_backup_codes_pkey PRIMARY KEY (id);

ALTER TABLE mfa_backup_codes ADD CONSTRAINT mfa_backup_codes_user_id_code_hash_key UNIQUE (user_id, code_hash);

ALTER TABLE oidc_providers ADD CONSTRAINT oidc_providers_pkey PRIMARY KEY (id);

ALTER TABLE oidc_providers ADD CONSTRAINT oidc_providers_provider_key_key UNIQUE (provider_key);

ALTER TABLE password_reset_tokens ADD CONSTRAINT password_reset_tokens_pkey PRIMARY KEY (id);

ALTER TABLE password_reset_tokens ADD CONSTRAINT password_reset_tokens_token_key UNIQUE (token);

ALTER TABLE refresh_tokens ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id);

ALTER TABLE schema_migrations ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (migration_id);

ALTER TABLE sessions ADD CONSTRAINT sessions_pkey PRIMARY KEY (sid);

ALTER TABLE signup_verification_tokens ADD CONSTRAINT signup_verification_tokens_pkey PRIMARY KEY (id);

ALTER TABLE signup_verification_tokens ADD CONSTRAINT signup_verification_tokens_token_key UNIQUE (token);

ALTER TABLE slug_preferences ADD CONSTRAINT slug_preferences_pkey PRIMARY KEY (user_id, slug);

ALTER TABLE system_config ADD CONSTRAINT system_config_pkey PRIMARY KEY (key);

ALTER TABLE tags ADD CONSTRAINT tags_pkey PRIMARY KEY (id);

ALTER TABLE tags ADD CONSTRAINT tags_user_id_name_key UNIQUE (user_id, name);

ALTER TABLE team_members ADD CONSTRAINT team_members_pkey PRIMARY KEY (user_id, team_id);

ALTER TABLE teams ADD CONSTRAINT teams_name_key UNIQUE (name);

ALTER TABLE teams ADD CONSTRAINT teams_pkey PRIMARY KEY (id);

ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);

ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id);

ALTER TABLE users ADD CONSTRAINT users_user_key_key UNIQUE (user_key);

CREATE INDEX idx_ai_suggestion_usage_created_at ON ai_suggestion_usage (created_at);

CREATE INDEX idx_ai_suggestion_usage_tenant_user ON ai_suggestion_usage (tenant_id, user_id);

CREATE INDEX idx_ai_suggestion_usage_user_id ON ai_suggestion_usage (user_id);

CREATE INDEX idx_ai_suggestions_cache_tenant_user ON ai_suggestions_cache (tenant_id, user_id);

CREATE INDEX idx_ai_suggestions_cache_user ON ai_suggestions_cache (user_id);

CREATE INDEX idx_api_tokens_tenant_user ON api_tokens (tenant_id, user_id);

CREATE INDEX idx_api_tokens_token_hash ON api_tokens (token_hash);

CREATE INDEX idx_api_tokens_user_id ON api_tokens (user_id);

CREATE INDEX idx_audit_events_tenant_created ON audit_events (tenant_id, created_at DESC);

CREATE INDEX idx_bookmark_folders_bookmark ON bookmark_folders (bookmark_id);

CREATE INDEX idx_bookmark_folders_folder ON bookmark_folders (folder_id);

CREATE INDEX idx_bookmark_folders_tenant_bookmark ON bookmark_folders (tenant_id, bookmark_id);

CREATE INDEX idx_bookmark_tags_tenant_bookmark ON bookmark_tags (tenant_id, bookmark_id);

CREATE INDEX idx_bookmark_team_shares_bookmark ON bookmark_team_shares (bookmark_id);

CREATE INDEX idx_bookmark_team_shares_team ON bookmark_team_shares (team_id);

CREATE INDEX idx_bookmark_team_shares_tenant_bookmark ON bookmark_team_shares (tenant_id, bookmark_id);

CREATE INDEX idx_bookmark_user_shares_bookmark ON bookmark_user_shares (bookmark_id);

CREATE INDEX idx_bookmark_user_shares_tenant_bookmark ON bookmark_user_shares (tenant_id, bookmark_id);

CREATE INDEX idx_bookmark_user_shares_user ON bookmark_user_shares (user_id);

CREATE INDEX idx_bookmarks_created_at ON bookmarks (created_at);

CREATE INDEX idx_bookmarks_slug ON bookmarks (slug);

CREATE UNIQUE INDEX idx_bookmarks_slug_unique ON bookmarks (slug) WHERE (slug IS NOT NULL);

CREATE INDEX idx_bookmarks_tenant_slug ON bookmarks (tenant_id, slug);

CREATE INDEX idx_bookmarks_tenant_user ON bookmarks (tenant_id, user_id);

CREATE INDEX idx_bookmarks_user_id ON bookmarks (user_id);

CREATE INDEX idx_bookmarks_user_slug ON bookmarks (user_id, slug);

CREATE INDEX idx_email_verification_tokens_expires ON email_verification_tokens (expires_at);

CREATE INDEX idx_email_verification_tokens_token ON email_verification_tokens (token);

CREATE INDEX idx_email_verification_tokens_user ON email_verification_tokens (user_id);

CREATE INDEX idx_folder_team_shares_folder ON folder_team_shares (folder_id);

CREATE INDEX idx_folder_team_shares_team ON folder_team_shares (team_id);

CREATE INDEX idx_folder_team_shares_tenant_folder ON folder_team_shares (tenant_id, folder_id);

CREATE INDEX idx_folder_user_shares_folder ON folder_user_shares (folder_id);

CREATE INDEX idx_folder_user_shares_tenant_folder ON folder_user_shares (tenant_id, folder_id);

CREATE INDEX idx_folder_user_shares_user ON folder_user_shares (user_id);

CREATE INDEX idx_folders_created_at ON folders (created_at);

CREATE INDEX idx_folders_tenant_user ON folders (tenant_id, user_id);

CREATE INDEX idx_folders_user_id ON folders (user_id);

CREATE INDEX idx_mfa_backup_codes_user_id ON mfa_backup_codes (user_id);

CREATE INDEX idx_oidc_providers_tenant_key ON oidc_providers (tenant_id, provider_key);

CREATE INDEX idx_password_reset_tokens_expires ON password_reset_tokens (expires_at);

CREATE INDEX idx_password_reset_tokens_token ON password_reset_tokens (token);

CREATE INDEX idx_password_reset_tokens_token_hash ON password_reset_tokens (token_hash);

CREATE INDEX idx_password_reset_tokens_user ON password_reset_tokens (user_id);

CREATE INDEX idx_refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE INDEX idx_refresh_tokens_token_hash ON refresh_tokens (token_hash);

CREATE INDEX idx_refresh_tokens_user_id ON refresh_tokens (user_id);

CREATE INDEX idx_sessions_expire ON sessions (expire);

CREATE INDEX idx_signup_verification_tokens_expires ON signup_verification_tokens (expires_at);

CREATE INDEX idx_signup_verification_tokens_token ON signup_verification_tokens (token);

CREATE INDEX idx_signup_verification_tokens_token_hash ON signup_verification_tokens (token_hash);

CREATE INDEX idx_slug_preferences_tenant_user_slug ON slug_preferences (tenant_id, user_id, slug);

CREATE INDEX idx_slug_preferences_user_slug ON slug_preferences (user_id, slug);

CREATE INDEX idx_system_config_tenant_key ON system_config (tenant_id, key);

CREATE INDEX idx_tags_created_at ON tags (created_at);

CREATE INDEX idx_tags_tenant_user ON tags (tenant_id, user_id);

CREATE INDEX idx_tags_user_id ON tags (user_id);

CREATE INDEX idx_team_members_team ON team_members (team_id);

CREATE INDEX idx_team_members_tenant_user ON team_members (tenant_id, user_id);

CREATE INDEX idx_team_members_user ON team_members (user_id);

CREATE INDEX idx_teams_tenant ON teams (tenant_id);

CREATE INDEX idx_users_created_at ON users (created_at);

CREATE INDEX idx_users_oidc ON users (oidc_sub, oidc_provider);

CREATE INDEX idx_users_user_key ON users (user_key);

CREATE UNIQUE INDEX ux_bookmarks_tenant_slug ON bookmarks (tenant_id, slug) WHERE (slug IS NOT NULL);

CREATE UNIQUE INDEX ux_folders_tenant_user_name ON folders (tenant_id, user_id, name);

CREATE UNIQUE INDEX ux_oidc_providers_tenant_key ON oidc_providers (tenant_id, provider_key);

CREATE UNIQUE INDEX ux_slug_preferences_tenant_user_slug ON slug_preferences (tenant_id, user_id, slug);

CREATE UNIQUE INDEX ux_tags_tenant_user_name ON tags (tenant_id, user_id, name);

ALTER TABLE ai_suggestion_usage ADD CONSTRAINT ai_suggestion_usage_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE ai_suggestions_cache ADD CONSTRAINT ai_suggestions_cache_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE bookmark_folders ADD CONSTRAINT bookmark_folders_bookmark_id_fkey FOREIGN KEY (bookmark_id) REFERENCES bookmarks(id) ON DELETE CASCADE;

ALTER TABLE bookmark_folders ADD CONSTRAINT bookmark_folders_folder_id_fkey FOREIGN KEY (folder_id) REFERENCES folders(id) ON DELETE CASCADE;

ALTER TABLE bookmark_tags ADD CONSTRAINT bookmark_tags_bookmark_id_fkey FOREIGN KEY (bookmark_id) REFERENCES bookmarks(id) ON DELETE CASCADE;

ALTER TABLE bookmark_tags ADD CONSTRAINT bookmark_tags_tag_id_fkey FOREIGN KEY (tag_id) REFERENCES tags(id) ON DELETE CASCADE;

ALTER TABLE bookmark_team_shares ADD CONSTRAINT bookmark_team_shares_bookmark_id_fkey FOREIGN KEY (bookmark_id) REFERENCES bookmarks(id) ON DELETE CASCADE;

ALTER TABLE bookmark_team_shares ADD CONSTRAINT bookmark_team_shares_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE CASCADE;

ALTER TABLE bookmark_user_shares ADD CONSTRAINT bookmark_user_shares_bookmark_id_fkey FOREIGN KEY (bookmark_id) REFERENCES bookmarks(id) ON DELETE CASCADE;

ALTER TABLE bookmark_user_shares ADD CONSTRAINT bookmark_user_shares_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE bookmarks ADD CONSTRAINT bookmarks_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE email_verification_tokens ADD CONSTRAINT email_verification_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE folder_team_shares ADD CONSTRAINT folder_team_shares_folder_id_fkey FOREIGN KEY (folder_id) REFERENCES folders(id) ON DELETE CASCADE;

ALTER TABLE folder_team_shares ADD CONSTRAINT folder_team_shares_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE CASCADE;

ALTER TABLE folder_user_shares ADD CONSTRAINT folder_user_shares_folder_id_fkey FOREIGN KEY (folder_id) REFERENCES folders(id) ON DELETE CASCADE;

ALTER TABLE folder_user_shares ADD CONSTRAINT folder_user_shares_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE folders ADD CONSTRAINT folders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE mfa_backup_codes ADD CONSTRAINT mfa_backup_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE password_reset_tokens ADD CONSTRAINT password_reset_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE refresh_tokens ADD CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE signup_verification_tokens ADD CONSTRAINT signup_verification_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE slug_preferences ADD CONSTRAINT slug_preferences_bookmark_id_fkey FOREIGN KEY (bookmark_id) REFERENCES bookmarks(id) ON DELETE CASCADE;

ALTER TABLE slug_preferences ADD CONSTRAINT slug_preferences_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE tags ADD CONSTRAINT tags_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;

ALTER TABLE team_members ADD CONSTRAINT team_members_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE CASCADE;

ALTER TABLE team_members ADD CONSTRAINT team_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
