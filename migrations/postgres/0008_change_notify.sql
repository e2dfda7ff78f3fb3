-- Instances on one database tell each other when something they may hold in memory changed
-- (sessions, users, tokens, bookmarks, shares, go links, settings): a statement-level trigger
-- sends a notification on `slugbase_changes`, delivered at commit, so a rolled-back write says
-- nothing. Every instance listens (src/db/changes.rs) and drops its caches. Visit counting
-- (`access_count`, `last_accessed_at`) and a token's `last_used_at` are left out: they change
-- on every forward and every API call, and no cache holds them as something to be exact about.
CREATE OR REPLACE FUNCTION slugbase_notify_change() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('slugbase_changes', TG_TABLE_NAME);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'auth_sessions', 'folders', 'tags', 'bookmark_folders',
      'bookmark_tags', 'bookmark_user_shares', 'bookmark_team_shares', 'folder_user_shares',
      'folder_team_shares', 'teams', 'team_members', 'slug_preferences', 'system_config'] LOOP
    EXECUTE format('CREATE TRIGGER slugbase_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
                   'ON %I FOR EACH STATEMENT EXECUTE FUNCTION slugbase_notify_change()', t);
  END LOOP;
END $$;

CREATE TRIGGER slugbase_changed AFTER INSERT OR DELETE OR TRUNCATE ON bookmarks
  FOR EACH STATEMENT EXECUTE FUNCTION slugbase_notify_change();
CREATE TRIGGER slugbase_changed_columns
  AFTER UPDATE OF id, user_id, title, url, slug, forwarding_enabled, pinned, description, tag_names, tenant_id
  ON bookmarks FOR EACH STATEMENT EXECUTE FUNCTION slugbase_notify_change();

CREATE TRIGGER slugbase_changed AFTER INSERT OR DELETE OR TRUNCATE ON api_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION slugbase_notify_change();
CREATE TRIGGER slugbase_changed_columns AFTER UPDATE OF id, user_id, token_hash, revoked_at, expires_at
  ON api_tokens FOR EACH STATEMENT EXECUTE FUNCTION slugbase_notify_change();
