-- Runs cut short by a crash (L4). Every committed chunk moves progress_at (the heartbeat) together
-- with the run's counters; a run unfinished whose last progress (progress_at, else started_at) is
-- older than a few minutes is marked interrupted_at = finished_at = the time it was noticed, at
-- server start and by the periodic pass. A live run moves every chunk, so several servers on one
-- database never mark each other's live runs. Append-only.
ALTER TABLE imports ADD COLUMN progress_at BIGINT;
ALTER TABLE imports ADD COLUMN interrupted_at BIGINT;
ALTER TABLE result_uploads ADD COLUMN progress_at BIGINT;
ALTER TABLE result_uploads ADD COLUMN interrupted_at BIGINT;
ALTER TABLE lead_imports ADD COLUMN progress_at BIGINT;
ALTER TABLE lead_imports ADD COLUMN interrupted_at BIGINT;
CREATE INDEX imports_unfinished ON imports (id) WHERE finished_at IS NULL;
CREATE INDEX result_uploads_unfinished ON result_uploads (id) WHERE finished_at IS NULL;
CREATE INDEX lead_imports_unfinished ON lead_imports (id) WHERE finished_at IS NULL;
