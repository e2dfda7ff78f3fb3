-- Leaner indexes on the busiest tables: the original created several that duplicate others
-- (or index columns no query filters on alone), and every one of them slows each write.
-- Only indexes are dropped; no data changes.
DROP INDEX IF EXISTS idx_bookmarks_user_id;
DROP INDEX IF EXISTS idx_bookmarks_slug;
DROP INDEX IF EXISTS idx_bookmarks_pinned;
DROP INDEX IF EXISTS idx_bookmarks_access_count;
DROP INDEX IF EXISTS idx_bookmarks_last_accessed;
DROP INDEX IF EXISTS idx_bookmarks_created_at;
DROP INDEX IF EXISTS idx_bookmarks_tenant_slug;
DROP INDEX IF EXISTS idx_bookmarks_user_slug;
DROP INDEX IF EXISTS idx_bookmarks_user_title;
DROP INDEX IF EXISTS idx_bookmark_tags_tenant_bookmark;
DROP INDEX IF EXISTS idx_bookmark_folders_bookmark;
DROP INDEX IF EXISTS idx_bookmark_folders_folder;
DROP INDEX IF EXISTS idx_bookmark_folders_tenant_bookmark;
DROP INDEX IF EXISTS idx_bookmarks_tenant_user;
-- Case-insensitive go-link lookups only ever look for bookmarks that have a slug.
DROP INDEX IF EXISTS idx_bookmarks_slug_lower;
CREATE INDEX idx_bookmarks_slug_lower ON bookmarks (LOWER(slug)) WHERE slug IS NOT NULL;
