-- Dead-link checks (src/linkcheck.rs): what the last check of a bookmark's URL found. Additive.
ALTER TABLE bookmarks ADD COLUMN link_status TEXT;            -- ok, broken, unknown; NULL: never checked
ALTER TABLE bookmarks ADD COLUMN link_status_code INTEGER;    -- the HTTP status, when one came
ALTER TABLE bookmarks ADD COLUMN link_checked_at TIMESTAMP;
ALTER TABLE bookmarks ADD COLUMN link_check_requested BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX idx_bookmarks_link_checked ON bookmarks (link_checked_at);
CREATE INDEX idx_bookmarks_link_requested ON bookmarks (link_check_requested) WHERE link_check_requested;
CREATE INDEX idx_bookmarks_link_status ON bookmarks (user_id, link_status);
