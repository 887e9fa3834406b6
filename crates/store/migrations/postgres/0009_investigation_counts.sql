-- Investigation counters and deadline index (流调计数): the overview never counts cases or contacts.
-- investigation_counts moves in the same transaction as every case and contact write, per region
-- (the case's region code: a grid, or the reporting region) and per thing counted:
-- 'case:<kind>:<status>' and 'contact:<category>:<status>'. Append-only.
CREATE TABLE investigation_counts (
    region_code TEXT COLLATE "C" NOT NULL,
    what        TEXT COLLATE "C" NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (region_code, what)
);

INSERT INTO investigation_counts (region_code, what, n)
SELECT region_code, 'case:' || kind || ':' || status, COUNT(*) FROM cases GROUP BY region_code, kind, status;
INSERT INTO investigation_counts (region_code, what, n)
SELECT case_region_code, 'contact:' || category || ':' || status, COUNT(*) FROM contacts
GROUP BY case_region_code, category, status;

-- Open deadlines are few: the overdue list and counts read only them.
CREATE INDEX cases_open_deadlines ON cases (found_at)
    WHERE status = 'active' AND (reported_at IS NULL OR investigated_at IS NULL);
-- A large jurisdiction's directory walks the newest first by id.
CREATE INDEX contacts_by_category ON contacts (category, id);
