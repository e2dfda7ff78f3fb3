-- SQLite only (prefix indexes for its full-text table). PostgreSQL's GIN index answers prefix
-- queries from its sorted keys already.
SELECT 1;
