-- A tombstone also remembers the content key of what was deleted: the hash of the report
-- without its per-run fields (report_id, generated_on), so the same content sent again under
-- another report_id is refused too. Tombstones from before this migration have none and keep
-- refusing their content id.
ALTER TABLE deleted_reports ADD COLUMN content_key TEXT;
CREATE INDEX deleted_reports_content_key ON deleted_reports (content_key);
