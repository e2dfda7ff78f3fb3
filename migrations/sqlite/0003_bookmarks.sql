-- Bookmarks: notes, full-text search, the indexes the listing and go-link queries need.

-- Free-text notes (the original has none).
ALTER TABLE bookmarks ADD COLUMN description TEXT;
-- The bookmark's tag names, space-separated, kept by the application in the same transaction as
-- the tag links, so full-text search covers tags without a join.
ALTER TABLE bookmarks ADD COLUMN tag_names TEXT NOT NULL DEFAULT '';

UPDATE bookmarks SET tag_names = COALESCE((
  SELECT group_concat(t.name, ' ') FROM bookmark_tags bt JOIN tags t ON t.id = bt.tag_id
  WHERE bt.bookmark_id = bookmarks.id), '');

-- Full-text index over title, URL, slug, notes and tags, kept in step by triggers.
CREATE VIRTUAL TABLE bookmarks_fts USING fts5(
  title, url, slug, description, tag_names,
  content = 'bookmarks', content_rowid = 'rowid',
  tokenize = 'unicode61 remove_diacritics 2'
);
-- Ranking: title and slug weigh most, then tags and URL, then notes.
INSERT INTO bookmarks_fts (bookmarks_fts, rank) VALUES ('rank', 'bm25(10.0, 3.0, 10.0, 1.0, 5.0)');
INSERT INTO bookmarks_fts (rowid, title, url, slug, description, tag_names)
  SELECT rowid, title, url, COALESCE(slug, ''), COALESCE(description, ''), tag_names FROM bookmarks;

CREATE TRIGGER bookmarks_fts_ai AFTER INSERT ON bookmarks BEGIN
  INSERT INTO bookmarks_fts (rowid, title, url, slug, description, tag_names)
  VALUES (new.rowid, new.title, new.url, COALESCE(new.slug, ''), COALESCE(new.description, ''), new.tag_names);
END;
CREATE TRIGGER bookmarks_fts_ad AFTER DELETE ON bookmarks BEGIN
  INSERT INTO bookmarks_fts (bookmarks_fts, rowid, title, url, slug, description, tag_names)
  VALUES ('delete', old.rowid, old.title, old.url, COALESCE(old.slug, ''), COALESCE(old.description, ''), old.tag_names);
END;
CREATE TRIGGER bookmarks_fts_au AFTER UPDATE OF title, url, slug, description, tag_names ON bookmarks BEGIN
  INSERT INTO bookmarks_fts (bookmarks_fts, rowid, title, url, slug, description, tag_names)
  VALUES ('delete', old.rowid, old.title, old.url, COALESCE(old.slug, ''), COALESCE(old.description, ''), old.tag_names);
  INSERT INTO bookmarks_fts (rowid, title, url, slug, description, tag_names)
  VALUES (new.rowid, new.title, new.url, COALESCE(new.slug, ''), COALESCE(new.description, ''), new.tag_names);
END;

-- Listing: a user's bookmarks by creation (the default sort), pinned, most used; go links by
-- slug regardless of case.
CREATE INDEX idx_bookmarks_user_created ON bookmarks (user_id, created_at, id);
CREATE INDEX idx_bookmarks_user_title ON bookmarks (user_id, title);
CREATE INDEX idx_bookmarks_user_access ON bookmarks (user_id, access_count);
CREATE INDEX idx_bookmarks_slug_lower ON bookmarks (LOWER(slug));
CREATE INDEX idx_bookmark_tags_tag ON bookmark_tags (tag_id, bookmark_id);
CREATE INDEX idx_bookmark_folders_folder_bm ON bookmark_folders (folder_id, bookmark_id);
