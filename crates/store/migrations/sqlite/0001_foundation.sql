-- Foundation: regions and grids, households and residents, users, sessions, audit, imports, door-to-door visits.
-- Append-only: once applied anywhere, never edit this file; add a new migration instead.
-- Times are unix seconds (UTC) in INTEGER columns, dates are 'YYYY-MM-DD' text: the same on both backends.

CREATE TABLE regions (
    code         TEXT PRIMARY KEY,          -- statistical division code (2/4/6/9/12 digits) or grid (15)
    name         TEXT NOT NULL,
    level        INTEGER NOT NULL,          -- 0 province, 1 city, 2 county, 3 township, 4 village/community, 5 grid
    parent_code  TEXT,
    is_community INTEGER NOT NULL DEFAULT 0 -- village level: 1 = urban community (居委会), 0 = village (村委会)
);
CREATE INDEX regions_by_parent ON regions (parent_code, code);

CREATE TABLE grid_workers (
    id        INTEGER PRIMARY KEY,
    grid_code TEXT NOT NULL REFERENCES regions (code),
    name      TEXT NOT NULL,
    phone     TEXT NOT NULL,
    username  TEXT
);
CREATE INDEX grid_workers_by_grid ON grid_workers (grid_code);

-- Per-grid counts kept up to date by every write that adds, moves or removes a resident or household,
-- so region pages sum ~10^4 grid rows instead of counting ~10^7 residents.
CREATE TABLE grid_stats (
    grid_code  TEXT PRIMARY KEY,
    residents  INTEGER NOT NULL DEFAULT 0,
    households INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE households (
    number     TEXT PRIMARY KEY,            -- the household number used by the grassroots office (户编号)
    grid_code  TEXT NOT NULL,
    address    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX households_by_grid ON households (grid_code, number);

CREATE TABLE residents (
    id               INTEGER PRIMARY KEY,
    id_type          TEXT NOT NULL,
    id_number        TEXT NOT NULL,
    name             TEXT NOT NULL,
    sex              TEXT NOT NULL,
    birth_date       TEXT NOT NULL,
    phone            TEXT,
    address          TEXT NOT NULL,
    household_number TEXT NOT NULL,
    relation         TEXT NOT NULL,
    grid_code        TEXT NOT NULL,
    key_groups       TEXT NOT NULL,         -- ';'-joined key-group codes
    content_hash     TEXT NOT NULL,         -- hash of every field above: an unchanged re-import writes nothing
    updated_at       INTEGER NOT NULL
);
-- The secondary indexes are listed again in store::population::RESIDENT_INDEXES: a first bulk load
-- drops them and rebuilds them at the end (much faster than maintaining them row by row), and every
-- start re-creates any that a crash in the middle of such a load left missing.
-- id_number first: lookups by number alone use it.
CREATE UNIQUE INDEX residents_by_document ON residents (id_number, id_type);
CREATE INDEX residents_by_grid ON residents (grid_code, id);
CREATE INDEX residents_by_name ON residents (name, grid_code);
CREATE INDEX residents_by_phone ON residents (phone);
CREATE INDEX residents_by_household ON residents (household_number);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    jurisdiction  TEXT NOT NULL,            -- region code: the user sees and changes only this subtree
    password_hash TEXT NOT NULL,            -- argon2id PHC string
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,          -- sha256 of the cookie value: a stolen database holds no live token
    user_id      INTEGER NOT NULL REFERENCES users (id),
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    user_id     INTEGER,
    username    TEXT NOT NULL,
    action      TEXT NOT NULL,              -- reveal, export, import, create, update, login, login_failed, logout
    target      TEXT NOT NULL,              -- e.g. 'resident:42', 'region:130109'; never a raw ID number
    detail      TEXT NOT NULL,
    client_addr TEXT NOT NULL
);
CREATE INDEX audit_log_by_at ON audit_log (at);

CREATE TABLE imports (
    id          INTEGER PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    username    TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    format      TEXT NOT NULL,
    rows_total  INTEGER NOT NULL DEFAULT 0,
    inserted    INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    problems    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE import_problems (
    import_id   INTEGER NOT NULL REFERENCES imports (id),
    row_number  INTEGER NOT NULL,           -- 1-based data row as the user sees it in the spreadsheet (header = 1)
    column_name TEXT NOT NULL,
    message     TEXT NOT NULL,
    raw_fields  TEXT NOT NULL               -- JSON array of the row's cells, so the row can be downloaded and fixed
);
CREATE INDEX import_problems_by_import ON import_problems (import_id, row_number);

CREATE TABLE door_visits (
    id                INTEGER PRIMARY KEY,
    household_number  TEXT NOT NULL REFERENCES households (number),
    grid_code         TEXT NOT NULL,
    visited_at        INTEGER NOT NULL,
    visitor           TEXT NOT NULL,
    present_count     INTEGER NOT NULL,     -- members found at home
    away_count        INTEGER NOT NULL,     -- members away
    arrivals_count    INTEGER NOT NULL,     -- people who arrived from elsewhere (外来返乡)
    arrivals_note     TEXT NOT NULL,
    untested_count    INTEGER NOT NULL,     -- members without a test in the current round
    unvaccinated_count INTEGER NOT NULL,
    note              TEXT NOT NULL
);
CREATE INDEX door_visits_by_grid ON door_visits (grid_code, visited_at);
CREATE INDEX door_visits_by_household ON door_visits (household_number, visited_at);
