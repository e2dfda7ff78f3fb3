-- AI suggestions (version 7). The cache itself is the original's `ai_suggestions_cache`
-- (baseline); cached answers older than seven days are purged, by age.
CREATE INDEX IF NOT EXISTS idx_ai_suggestions_cache_created ON ai_suggestions_cache(created_at);
