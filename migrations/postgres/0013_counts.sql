-- How many bookmarks each user has and how many bookmarks carry each tag, kept by triggers in
-- the writing transaction. The list's total, the dashboard's totals and its top tags read a row
-- or a user's tags instead of counting every bookmark and every tag link (1,000,000 bookmarks
-- and 1,500,000 links took seconds per dashboard). The triggers run once per statement over
-- its transition table, so an import of 100,000 rows updates each count once; they lock the
-- count rows in key order first, so two writers touching the same tags cannot deadlock.
CREATE TABLE bookmark_counts (
  user_id character varying(255) PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  n BIGINT NOT NULL
);
INSERT INTO bookmark_counts (user_id, n)
  SELECT b.user_id, COUNT(*) FROM bookmarks b JOIN users u ON u.id = b.user_id GROUP BY b.user_id;

CREATE FUNCTION slugbase_bookmark_counts_add() RETURNS trigger AS $$
BEGIN
  INSERT INTO bookmark_counts (user_id, n)
    SELECT user_id, COUNT(*) FROM new_rows GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET n = bookmark_counts.n + EXCLUDED.n;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION slugbase_bookmark_counts_remove() RETURNS trigger AS $$
BEGIN
  PERFORM 1 FROM bookmark_counts WHERE user_id IN (SELECT user_id FROM old_rows)
    ORDER BY user_id FOR UPDATE;
  UPDATE bookmark_counts c SET n = c.n - d.k
    FROM (SELECT user_id, COUNT(*) AS k FROM old_rows GROUP BY user_id) d WHERE c.user_id = d.user_id;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- A bookmark changing owner (nothing does this today; a row trigger whose WHEN costs nothing
-- on the visit-counting updates).
CREATE FUNCTION slugbase_bookmark_counts_move() RETURNS trigger AS $$
BEGIN
  UPDATE bookmark_counts SET n = n - 1 WHERE user_id = OLD.user_id;
  INSERT INTO bookmark_counts (user_id, n) VALUES (NEW.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET n = bookmark_counts.n + 1;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER bookmark_counts_ai AFTER INSERT ON bookmarks REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION slugbase_bookmark_counts_add();
CREATE TRIGGER bookmark_counts_ad AFTER DELETE ON bookmarks REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION slugbase_bookmark_counts_remove();
CREATE TRIGGER bookmark_counts_au AFTER UPDATE OF user_id ON bookmarks
  FOR EACH ROW WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)
  EXECUTE FUNCTION slugbase_bookmark_counts_move();

CREATE TABLE tag_counts (
  tag_id character varying(255) PRIMARY KEY REFERENCES tags(id) ON DELETE CASCADE,
  user_id character varying(255) NOT NULL,
  n BIGINT NOT NULL
);
CREATE INDEX idx_tag_counts_user ON tag_counts (user_id);
INSERT INTO tag_counts (tag_id, user_id, n)
  SELECT t.id, t.user_id, (SELECT COUNT(*) FROM bookmark_tags bt WHERE bt.tag_id = t.id) FROM tags t;

CREATE FUNCTION slugbase_tag_counts_create() RETURNS trigger AS $$
BEGIN
  INSERT INTO tag_counts (tag_id, user_id, n) SELECT id, user_id, 0 FROM new_rows
    ON CONFLICT (tag_id) DO NOTHING;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Adds one per new link and takes one per old link (TG_OP says which table exists).
CREATE FUNCTION slugbase_tag_counts_links() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM 1 FROM tag_counts WHERE tag_id IN (SELECT tag_id FROM new_rows) ORDER BY tag_id FOR UPDATE;
    UPDATE tag_counts c SET n = c.n + d.k
      FROM (SELECT tag_id, COUNT(*) AS k FROM new_rows GROUP BY tag_id) d WHERE c.tag_id = d.tag_id;
  ELSE
    PERFORM 1 FROM tag_counts WHERE tag_id IN (SELECT tag_id FROM old_rows) ORDER BY tag_id FOR UPDATE;
    UPDATE tag_counts c SET n = c.n - d.k
      FROM (SELECT tag_id, COUNT(*) AS k FROM old_rows GROUP BY tag_id) d WHERE c.tag_id = d.tag_id;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- A link moved to another tag (nothing does this today).
CREATE FUNCTION slugbase_tag_counts_move() RETURNS trigger AS $$
BEGIN
  UPDATE tag_counts SET n = n - 1 WHERE tag_id = OLD.tag_id;
  UPDATE tag_counts SET n = n + 1 WHERE tag_id = NEW.tag_id;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tag_counts_tag_ai AFTER INSERT ON tags REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION slugbase_tag_counts_create();
CREATE TRIGGER tag_counts_ai AFTER INSERT ON bookmark_tags REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION slugbase_tag_counts_links();
CREATE TRIGGER tag_counts_ad AFTER DELETE ON bookmark_tags REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION slugbase_tag_counts_links();
CREATE TRIGGER tag_counts_au AFTER UPDATE OF tag_id ON bookmark_tags
  FOR EACH ROW WHEN (OLD.tag_id IS DISTINCT FROM NEW.tag_id)
  EXECUTE FUNCTION slugbase_tag_counts_move();
