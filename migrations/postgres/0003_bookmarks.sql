-- Bookmarks: notes, full-text search, the indexes the listing and go-link queries need.

-- Free-text notes (the original has none).
ALTER TABLE bookmarks ADD COLUMN description TEXT;
-- The bookmark's tag names, space-separated, kept by the application in the same transaction as
-- the tag links, so full-text search covers tags without a join.
ALTER TABLE bookmarks ADD COLUMN tag_names TEXT NOT NULL DEFAULT '';

UPDATE bookmarks SET tag_names = COALESCE((
  SELECT string_agg(t.name, ' ') FROM bookmark_tags bt JOIN tags t ON t.id = bt.tag_id
  WHERE bt.bookmark_id = bookmarks.id), '');

-- Full-text search: a generated tsvector ('simple' configuration: no stemming, any language),
-- common Latin accents folded (unaccent is an extension we cannot count on; the application folds
-- queries with the same table, bookmarks::fold_accents), URL punctuation split into words,
-- weighted title/slug > tags/URL > notes.
ALTER TABLE bookmarks ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('simple', translate(lower(COALESCE(title, '')), 'àáâãäåāăąçćčďđèéêëēėęěìíîïīįıñńňòóôõöøōőùúûüūůűųýÿžźżšśßłğřť', 'aaaaaaaaacccddeeeeeeeeiiiiiiinnnoooooooouuuuuuuuyyzzzssslgrt')), 'A') ||
  setweight(to_tsvector('simple', translate(lower(COALESCE(slug, '')), 'àáâãäåāăąçćčďđèéêëēėęěìíîïīįıñńňòóôõöøōőùúûüūůűųýÿžźżšśßłğřť', 'aaaaaaaaacccddeeeeeeeeiiiiiiinnnoooooooouuuuuuuuyyzzzssslgrt')), 'A') ||
  setweight(to_tsvector('simple', translate(lower(tag_names), 'àáâãäåāăąçćčďđèéêëēėęěìíîïīįıñńňòóôõöøōőùúûüūůűųýÿžźżšśßłğřť', 'aaaaaaaaacccddeeeeeeeeiiiiiiinnnoooooooouuuuuuuuyyzzzssslgrt')), 'B') ||
  setweight(to_tsvector('simple', regexp_replace(translate(lower(COALESCE(url, '')), 'àáâãäåāăąçćčďđèéêëēėęěìíîïīįıñńňòóôõöøōőùúûüūůűųýÿžźżšśßłğřť', 'aaaaaaaaacccddeeeeeeeeiiiiiiinnnoooooooouuuuuuuuyyzzzssslgrt'), '[/.:?=&#%+~-]+', ' ', 'g')), 'B') ||
  setweight(to_tsvector('simple', translate(lower(COALESCE(description, '')), 'àáâãäåāăąçćčďđèéêëēėęěìíîïīįıñńňòóôõöøōőùúûüūůűųýÿžźżšśßłğřť', 'aaaaaaaaacccddeeeeeeeeiiiiiiinnnoooooooouuuuuuuuyyzzzssslgrt')), 'C')
) STORED;
CREATE INDEX idx_bookmarks_search ON bookmarks USING GIN (search_tsv);

CREATE INDEX idx_bookmarks_user_created ON bookmarks (user_id, created_at, id);
CREATE INDEX idx_bookmarks_user_title ON bookmarks (user_id, title);
CREATE INDEX idx_bookmarks_user_access ON bookmarks (user_id, access_count);
CREATE INDEX idx_bookmarks_slug_lower ON bookmarks (LOWER(slug));
CREATE INDEX idx_bookmark_tags_tag ON bookmark_tags (tag_id, bookmark_id);
CREATE INDEX idx_bookmark_folders_folder_bm ON bookmark_folders (folder_id, bookmark_id);
