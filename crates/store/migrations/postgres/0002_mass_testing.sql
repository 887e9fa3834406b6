-- Mass testing (全员/区域核酸检测): rounds, sites, tube batches, tubes and their members (samples),
-- transport boxes, lab result uploads, recheck tasks, exemptions, antigen self-tests, and the person
-- events other modules (health code, tracing) consume. Append-only, like every migration.

CREATE TABLE test_rounds (
    id                  BIGSERIAL PRIMARY KEY,
    name                TEXT COLLATE "C" NOT NULL,
    kind                TEXT COLLATE "C" NOT NULL,          -- whole | area | routine (domain::mass_testing::RoundKind)
    region_code         TEXT COLLATE "C" NOT NULL,          -- the round covers this region's subtree
    opened_at           BIGINT NOT NULL,
    deadline_at         BIGINT,                -- NULL for routine testing
    closed_at           BIGINT,
    default_pool_size   BIGINT NOT NULL,       -- 1, 5, 10 or 20
    infant_months       BIGINT NOT NULL,       -- children younger than this are not in the target (0 = none)
    target_population   BIGINT NOT NULL,       -- the register's count at opening, less infants
    opened_by           TEXT COLLATE "C" NOT NULL
);

-- Designated areas inside a round with their own risk tier and pool size (most specific code wins).
CREATE TABLE round_areas (
    round_id    BIGINT NOT NULL REFERENCES test_rounds (id),
    region_code TEXT COLLATE "C" NOT NULL,
    tier        TEXT COLLATE "C" NOT NULL,                  -- low | medium | high
    pool_size   BIGINT NOT NULL,
    PRIMARY KEY (round_id, region_code)
);

-- Printed barcode ranges issued to a round: a barcode outside every range is unknown, one in another
-- round's range belongs to that round.
CREATE TABLE tube_batches (
    round_id     BIGINT NOT NULL REFERENCES test_rounds (id),
    first_serial BIGINT NOT NULL,
    last_serial  BIGINT NOT NULL,
    issued_at    BIGINT NOT NULL,
    issued_by    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (first_serial)
);

CREATE TABLE sampling_sites (
    id                   BIGSERIAL PRIMARY KEY,
    round_id             BIGINT NOT NULL REFERENCES test_rounds (id),
    region_code          TEXT COLLATE "C" NOT NULL,         -- the village/community or grid it serves
    name                 TEXT COLLATE "C" NOT NULL,
    address              TEXT COLLATE "C" NOT NULL,
    tables_count         BIGINT NOT NULL,
    staff_count          BIGINT NOT NULL,
    swabs_per_table_hour BIGINT NOT NULL,
    created_at           BIGINT NOT NULL
);
CREATE INDEX sampling_sites_by_round ON sampling_sites (round_id, region_code);

CREATE TABLE tubes (
    barcode      TEXT COLLATE "C" PRIMARY KEY,
    round_id     BIGINT NOT NULL,
    site_id      BIGINT NOT NULL,
    table_no     BIGINT NOT NULL,
    region_code  TEXT COLLATE "C" NOT NULL,                 -- the site's region
    purpose      TEXT COLLATE "C" NOT NULL,                 -- screen | recheck
    capacity     BIGINT NOT NULL,              -- pool size: the tube closes itself when full
    members      BIGINT NOT NULL,
    opened_at    BIGINT NOT NULL,
    closed_at    BIGINT,
    box_barcode  TEXT COLLATE "C",
    received_at  BIGINT,                       -- lab receipt (scan of the box, or the result's arrival)
    result       TEXT COLLATE "C",                          -- negative | positive | invalid
    tested_at    BIGINT,
    result_at    BIGINT,                       -- when the result reached fangkong
    lab_name     TEXT COLLATE "C"
);
CREATE INDEX tubes_by_round ON tubes (round_id, closed_at);
CREATE INDEX tubes_by_box ON tubes (box_barcode) WHERE box_barcode IS NOT NULL;
CREATE INDEX tubes_awaiting_result ON tubes (round_id, closed_at) WHERE result IS NULL;

-- One person swabbed into one tube. `occasion` makes "once per round" a unique key: 0 for the round's
-- screening swab, the recheck task's id for a recheck, the day number for routine testing.
CREATE TABLE samples (
    id           BIGSERIAL PRIMARY KEY,
    scan_id      TEXT COLLATE "C" NOT NULL,                 -- the sampling client's idempotency key
    round_id     BIGINT NOT NULL,
    occasion     BIGINT NOT NULL,
    tube_barcode TEXT COLLATE "C" NOT NULL,
    id_type      TEXT COLLATE "C" NOT NULL,
    id_number    TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    resident_id  BIGINT,                       -- NULL: not in the register (walk-in)
    grid_code    TEXT COLLATE "C" NOT NULL,                 -- the resident's grid; the site's region for walk-ins
    outside_area BOOLEAN NOT NULL,              -- 1: lives outside the round's region (allowed, flagged)
    site_id      BIGINT NOT NULL,
    table_no     BIGINT NOT NULL,
    sampled_at   BIGINT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    recorder     TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX samples_by_scan ON samples (scan_id);
CREATE UNIQUE INDEX samples_by_person ON samples (id_number, id_type, round_id, occasion);
CREATE INDEX samples_by_tube ON samples (tube_barcode);

-- Per round and grid: the target (register at opening less infants), exemptions and swabs so far,
-- moved in the same transaction as every binding so coverage never counts samples.
CREATE TABLE round_grid_progress (
    round_id    BIGINT NOT NULL,
    grid_code   TEXT COLLATE "C" NOT NULL,
    target      BIGINT NOT NULL DEFAULT 0,
    infants     BIGINT NOT NULL DEFAULT 0,
    exempt      BIGINT NOT NULL DEFAULT 0,
    sampled     BIGINT NOT NULL DEFAULT 0,     -- register residents of this grid swabbed once in the round
    outside     BIGINT NOT NULL DEFAULT 0,     -- of them, living outside the round's region
    walk_ins    BIGINT NOT NULL DEFAULT 0,     -- people not in the register swabbed at sites of this region
    PRIMARY KEY (round_id, grid_code)
);

CREATE TABLE round_hourly (
    round_id  BIGINT NOT NULL,
    grid_code TEXT COLLATE "C" NOT NULL,
    hour      BIGINT NOT NULL,                 -- unix time of the hour's start
    sampled   BIGINT NOT NULL,
    PRIMARY KEY (round_id, grid_code, hour)
);

CREATE TABLE sampling_exemptions (
    round_id    BIGINT NOT NULL,
    resident_id BIGINT NOT NULL,
    grid_code   TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,                  -- bedridden (→ door-to-door sampling) | away (with proof)
    note        TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (round_id, resident_id)
);

CREATE TABLE specimen_boxes (
    barcode      TEXT COLLATE "C" PRIMARY KEY,
    round_id     BIGINT NOT NULL,
    site_id      BIGINT NOT NULL,
    tube_count   BIGINT NOT NULL,
    packed_at    BIGINT NOT NULL,
    packed_by    TEXT COLLATE "C" NOT NULL,
    picked_up_at BIGINT,
    courier      TEXT COLLATE "C",
    received_at  BIGINT,
    received_by  TEXT COLLATE "C"
);
CREATE INDEX specimen_boxes_by_round ON specimen_boxes (round_id, received_at);

CREATE TABLE result_uploads (
    id          BIGSERIAL PRIMARY KEY,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    username    TEXT COLLATE "C" NOT NULL,
    lab_name    TEXT COLLATE "C" NOT NULL,
    file_name   TEXT COLLATE "C" NOT NULL,
    format      TEXT COLLATE "C" NOT NULL,                  -- csv | xlsx | fhir | api
    rows_total  BIGINT NOT NULL DEFAULT 0,
    applied     BIGINT NOT NULL DEFAULT 0,
    unchanged   BIGINT NOT NULL DEFAULT 0,
    problems    BIGINT NOT NULL DEFAULT 0,
    positives   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE result_problems (
    upload_id    BIGINT NOT NULL REFERENCES result_uploads (id),
    row_number   BIGINT NOT NULL,
    tube_barcode TEXT COLLATE "C" NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL,                 -- invalid_row | unknown_tube | conflict | outside | not_closed
    message      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX result_problems_by_upload ON result_problems (upload_id, row_number);

-- A single-tube swab someone still owes: a member of a positive or invalid pool, or an antigen positive.
CREATE TABLE recheck_tasks (
    id          BIGSERIAL PRIMARY KEY,
    round_id    BIGINT,
    source      TEXT COLLATE "C" NOT NULL,                  -- 'tube:<barcode>' or 'antigen:<id>'
    reason      TEXT COLLATE "C" NOT NULL,                  -- pool_positive | invalid | antigen_positive
    id_type     TEXT COLLATE "C" NOT NULL,
    id_number   TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    resident_id BIGINT,
    grid_code   TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,                  -- pending | sampled | negative | positive | invalid
    sample_tube TEXT COLLATE "C",
    sampled_at  BIGINT,
    resolved_at BIGINT
);
CREATE UNIQUE INDEX recheck_tasks_once ON recheck_tasks (source, id_number, id_type);
CREATE INDEX recheck_tasks_by_grid ON recheck_tasks (grid_code, status);
CREATE INDEX recheck_tasks_by_person ON recheck_tasks (id_number, status);
CREATE INDEX recheck_tasks_by_tube ON recheck_tasks (sample_tube) WHERE sample_tube IS NOT NULL;

CREATE TABLE antigen_reports (
    id          BIGSERIAL PRIMARY KEY,
    id_type     TEXT COLLATE "C" NOT NULL,
    id_number   TEXT COLLATE "C" NOT NULL,
    resident_id BIGINT,
    grid_code   TEXT COLLATE "C" NOT NULL,
    tested_at   BIGINT NOT NULL,
    result      TEXT COLLATE "C" NOT NULL,                  -- negative | positive | invalid
    photo       BYTEA,
    photo_type  TEXT COLLATE "C",
    reported_at BIGINT NOT NULL,
    reporter    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX antigen_reports_by_grid ON antigen_reports (grid_code, reported_at);
CREATE INDEX antigen_reports_by_person ON antigen_reports (id_number, tested_at);

-- Facts about a person that other modules consume in id order (the health code turns them into
-- colours, tracing opens cases): pool_positive (temporary control), recheck_negative (control lifted),
-- single_positive (a case to open), antigen_positive.
CREATE TABLE person_events (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    id_type     TEXT COLLATE "C" NOT NULL,
    id_number   TEXT COLLATE "C" NOT NULL,
    resident_id BIGINT,
    grid_code   TEXT COLLATE "C" NOT NULL,
    source      TEXT COLLATE "C" NOT NULL,
    detail      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX person_events_by_person ON person_events (id_number, at);
CREATE INDEX person_events_by_kind ON person_events (kind, at);

-- A resident's own login sees their own results.
ALTER TABLE users ADD COLUMN resident_id BIGINT;
