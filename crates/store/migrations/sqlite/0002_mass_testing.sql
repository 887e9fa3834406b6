-- Mass testing (全员/区域核酸检测): rounds, sites, tube batches, tubes and their members (samples),
-- transport boxes, lab result uploads, recheck tasks, exemptions, antigen self-tests, and the person
-- events other modules (health code, tracing) consume. Append-only, like every migration.

CREATE TABLE test_rounds (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL,
    kind                TEXT NOT NULL,          -- whole | area | routine (domain::mass_testing::RoundKind)
    region_code         TEXT NOT NULL,          -- the round covers this region's subtree
    opened_at           INTEGER NOT NULL,
    deadline_at         INTEGER,                -- NULL for routine testing
    closed_at           INTEGER,
    default_pool_size   INTEGER NOT NULL,       -- 1, 5, 10 or 20
    infant_months       INTEGER NOT NULL,       -- children younger than this are not in the target (0 = none)
    target_population   INTEGER NOT NULL,       -- the register's count at opening, less infants
    opened_by           TEXT NOT NULL
);

-- Designated areas inside a round with their own risk tier and pool size (most specific code wins).
CREATE TABLE round_areas (
    round_id    INTEGER NOT NULL REFERENCES test_rounds (id),
    region_code TEXT NOT NULL,
    tier        TEXT NOT NULL,                  -- low | medium | high
    pool_size   INTEGER NOT NULL,
    PRIMARY KEY (round_id, region_code)
);

-- Printed barcode ranges issued to a round: a barcode outside every range is unknown, one in another
-- round's range belongs to that round.
CREATE TABLE tube_batches (
    round_id     INTEGER NOT NULL REFERENCES test_rounds (id),
    first_serial INTEGER NOT NULL,
    last_serial  INTEGER NOT NULL,
    issued_at    INTEGER NOT NULL,
    issued_by    TEXT NOT NULL,
    PRIMARY KEY (first_serial)
);

CREATE TABLE sampling_sites (
    id                   INTEGER PRIMARY KEY,
    round_id             INTEGER NOT NULL REFERENCES test_rounds (id),
    region_code          TEXT NOT NULL,         -- the village/community or grid it serves
    name                 TEXT NOT NULL,
    address              TEXT NOT NULL,
    tables_count         INTEGER NOT NULL,
    staff_count          INTEGER NOT NULL,
    swabs_per_table_hour INTEGER NOT NULL,
    created_at           INTEGER NOT NULL
);
CREATE INDEX sampling_sites_by_round ON sampling_sites (round_id, region_code);

CREATE TABLE tubes (
    barcode      TEXT PRIMARY KEY,
    round_id     INTEGER NOT NULL,
    site_id      INTEGER NOT NULL,
    table_no     INTEGER NOT NULL,
    region_code  TEXT NOT NULL,                 -- the site's region
    purpose      TEXT NOT NULL,                 -- screen | recheck
    capacity     INTEGER NOT NULL,              -- pool size: the tube closes itself when full
    members      INTEGER NOT NULL,
    opened_at    INTEGER NOT NULL,
    closed_at    INTEGER,
    box_barcode  TEXT,
    received_at  INTEGER,                       -- lab receipt (scan of the box, or the result's arrival)
    result       TEXT,                          -- negative | positive | invalid
    tested_at    INTEGER,
    result_at    INTEGER,                       -- when the result reached fangkong
    lab_name     TEXT
);
CREATE INDEX tubes_by_round ON tubes (round_id, closed_at);
CREATE INDEX tubes_by_box ON tubes (box_barcode) WHERE box_barcode IS NOT NULL;
CREATE INDEX tubes_awaiting_result ON tubes (round_id, closed_at) WHERE result IS NULL;

-- One person swabbed into one tube. `occasion` makes "once per round" a unique key: 0 for the round's
-- screening swab, the recheck task's id for a recheck, the day number for routine testing.
CREATE TABLE samples (
    id           INTEGER PRIMARY KEY,
    scan_id      TEXT NOT NULL,                 -- the sampling client's idempotency key
    round_id     INTEGER NOT NULL,
    occasion     INTEGER NOT NULL,
    tube_barcode TEXT NOT NULL,
    id_type      TEXT NOT NULL,
    id_number    TEXT NOT NULL,
    name         TEXT NOT NULL,
    resident_id  INTEGER,                       -- NULL: not in the register (walk-in)
    grid_code    TEXT NOT NULL,                 -- the resident's grid; the site's region for walk-ins
    outside_area INTEGER NOT NULL,              -- 1: lives outside the round's region (allowed, flagged)
    site_id      INTEGER NOT NULL,
    table_no     INTEGER NOT NULL,
    sampled_at   INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL,
    recorder     TEXT NOT NULL
);
CREATE UNIQUE INDEX samples_by_scan ON samples (scan_id);
CREATE UNIQUE INDEX samples_by_person ON samples (id_number, id_type, round_id, occasion);
CREATE INDEX samples_by_tube ON samples (tube_barcode);

-- Per round and grid: the target (register at opening less infants), exemptions and swabs so far,
-- moved in the same transaction as every binding so coverage never counts samples.
CREATE TABLE round_grid_progress (
    round_id    INTEGER NOT NULL,
    grid_code   TEXT NOT NULL,
    target      INTEGER NOT NULL DEFAULT 0,
    infants     INTEGER NOT NULL DEFAULT 0,
    exempt      INTEGER NOT NULL DEFAULT 0,
    sampled     INTEGER NOT NULL DEFAULT 0,     -- register residents of this grid swabbed once in the round
    outside     INTEGER NOT NULL DEFAULT 0,     -- of them, living outside the round's region
    walk_ins    INTEGER NOT NULL DEFAULT 0,     -- people not in the register swabbed at sites of this region
    PRIMARY KEY (round_id, grid_code)
);

CREATE TABLE round_hourly (
    round_id  INTEGER NOT NULL,
    grid_code TEXT NOT NULL,
    hour      INTEGER NOT NULL,                 -- unix time of the hour's start
    sampled   INTEGER NOT NULL,
    PRIMARY KEY (round_id, grid_code, hour)
);

CREATE TABLE sampling_exemptions (
    round_id    INTEGER NOT NULL,
    resident_id INTEGER NOT NULL,
    grid_code   TEXT NOT NULL,
    kind        TEXT NOT NULL,                  -- bedridden (→ door-to-door sampling) | away (with proof)
    note        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    PRIMARY KEY (round_id, resident_id)
);

CREATE TABLE specimen_boxes (
    barcode      TEXT PRIMARY KEY,
    round_id     INTEGER NOT NULL,
    site_id      INTEGER NOT NULL,
    tube_count   INTEGER NOT NULL,
    packed_at    INTEGER NOT NULL,
    packed_by    TEXT NOT NULL,
    picked_up_at INTEGER,
    courier      TEXT,
    received_at  INTEGER,
    received_by  TEXT
);
CREATE INDEX specimen_boxes_by_round ON specimen_boxes (round_id, received_at);

CREATE TABLE result_uploads (
    id          INTEGER PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    username    TEXT NOT NULL,
    lab_name    TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    format      TEXT NOT NULL,                  -- csv | xlsx | fhir | api
    rows_total  INTEGER NOT NULL DEFAULT 0,
    applied     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    problems    INTEGER NOT NULL DEFAULT 0,
    positives   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE result_problems (
    upload_id    INTEGER NOT NULL REFERENCES result_uploads (id),
    row_number   INTEGER NOT NULL,
    tube_barcode TEXT NOT NULL,
    kind         TEXT NOT NULL,                 -- invalid_row | unknown_tube | conflict | outside | not_closed
    message      TEXT NOT NULL
);
CREATE INDEX result_problems_by_upload ON result_problems (upload_id, row_number);

-- A single-tube swab someone still owes: a member of a positive or invalid pool, or an antigen positive.
CREATE TABLE recheck_tasks (
    id          INTEGER PRIMARY KEY,
    round_id    INTEGER,
    source      TEXT NOT NULL,                  -- 'tube:<barcode>' or 'antigen:<id>'
    reason      TEXT NOT NULL,                  -- pool_positive | invalid | antigen_positive
    id_type     TEXT NOT NULL,
    id_number   TEXT NOT NULL,
    name        TEXT NOT NULL,
    resident_id INTEGER,
    grid_code   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    status      TEXT NOT NULL,                  -- pending | sampled | negative | positive | invalid
    sample_tube TEXT,
    sampled_at  INTEGER,
    resolved_at INTEGER
);
CREATE UNIQUE INDEX recheck_tasks_once ON recheck_tasks (source, id_number, id_type);
CREATE INDEX recheck_tasks_by_grid ON recheck_tasks (grid_code, status);
CREATE INDEX recheck_tasks_by_person ON recheck_tasks (id_number, status);
CREATE INDEX recheck_tasks_by_tube ON recheck_tasks (sample_tube) WHERE sample_tube IS NOT NULL;

CREATE TABLE antigen_reports (
    id          INTEGER PRIMARY KEY,
    id_type     TEXT NOT NULL,
    id_number   TEXT NOT NULL,
    resident_id INTEGER,
    grid_code   TEXT NOT NULL,
    tested_at   INTEGER NOT NULL,
    result      TEXT NOT NULL,                  -- negative | positive | invalid
    photo       BLOB,
    photo_type  TEXT,
    reported_at INTEGER NOT NULL,
    reporter    TEXT NOT NULL
);
CREATE INDEX antigen_reports_by_grid ON antigen_reports (grid_code, reported_at);
CREATE INDEX antigen_reports_by_person ON antigen_reports (id_number, tested_at);

-- Facts about a person that other modules consume in id order (the health code turns them into
-- colours, tracing opens cases): pool_positive (temporary control), recheck_negative (control lifted),
-- single_positive (a case to open), antigen_positive.
CREATE TABLE person_events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    id_type     TEXT NOT NULL,
    id_number   TEXT NOT NULL,
    resident_id INTEGER,
    grid_code   TEXT NOT NULL,
    source      TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX person_events_by_person ON person_events (id_number, at);
CREATE INDEX person_events_by_kind ON person_events (kind, at);

-- A resident's own login sees their own results.
ALTER TABLE users ADD COLUMN resident_id INTEGER;
