-- The dashboard's pinned list reads a user's pinned bookmarks only (a handful), not all of theirs.
CREATE INDEX idx_bookmarks_user_pinned ON bookmarks (user_id) WHERE pinned = TRUE;
