-- PostgreSQL only (instances telling each other about changes). SQLite serves one machine; the
-- server notices other processes' writes through `PRAGMA data_version`.
SELECT 1;
