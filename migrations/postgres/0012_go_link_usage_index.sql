-- The dashboard's most-used go links: a user's forwarding links in the order the dashboard shows
-- them, so it reads the first 16 instead of sorting every one of them (all 100,000 go links of a
-- 1,000,000-bookmark collection).
CREATE INDEX idx_bookmarks_go_usage ON bookmarks
  (user_id, COALESCE(access_count, 0) DESC, (last_accessed_at IS NULL), last_accessed_at DESC, created_at DESC)
  WHERE slug IS NOT NULL AND slug <> '' AND forwarding_enabled = TRUE;
