-- Foundation: regions and grids, households and residents, users, sessions, audit, imports, door-to-door visits.
-- Append-only: once applied anywhere, never edit this file; add a new migration instead.
-- Times are unix seconds (UTC) in BIGINT columns, dates are 'YYYY-MM-DD' text: the same on both backends.

CREATE TABLE regions (
    code         TEXT COLLATE "C" PRIMARY KEY,          -- statistical division code (2/4/6/9/12 digits) or grid (15)
    name         TEXT COLLATE "C" NOT NULL,
    level        BIGINT NOT NULL,          -- 0 province, 1 city, 2 county, 3 township, 4 village/community, 5 grid
    parent_code  TEXT COLLATE "C",
    is_community BOOLEAN NOT NULL DEFAULT FALSE -- village level: 1 = urban community (居委会), 0 = village (村委会)
);
CREATE INDEX regions_by_parent ON regions (parent_code, code);

CREATE TABLE grid_workers (
    id        BIGSERIAL PRIMARY KEY,
    grid_code TEXT COLLATE "C" NOT NULL REFERENCES regions (code),
    name      TEXT COLLATE "C" NOT NULL,
    phone     TEXT COLLATE "C" NOT NULL,
    username  TEXT COLLATE "C"
);
CREATE INDEX grid_workers_by_grid ON grid_workers (grid_code);

-- Per-grid counts kept up to date by every write that adds, moves or removes a resident or household,
-- so region pages sum ~10^4 grid rows instead of counting ~10^7 residents.
CREATE TABLE grid_stats (
    grid_code  TEXT COLLATE "C" PRIMARY KEY,
    residents  BIGINT NOT NULL DEFAULT 0,
    households BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE households (
    number     TEXT COLLATE "C" PRIMARY KEY,            -- the household number used by the grassroots office (户编号)
    grid_code  TEXT COLLATE "C" NOT NULL,
    address    TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX households_by_grid ON households (grid_code, number);

CREATE TABLE residents (
    id               BIGSERIAL PRIMARY KEY,
    id_type          TEXT COLLATE "C" NOT NULL,
    id_number        TEXT COLLATE "C" NOT NULL,
    name             TEXT COLLATE "C" NOT NULL,
    sex              TEXT COLLATE "C" NOT NULL,
    birth_date       TEXT COLLATE "C" NOT NULL,
    phone            TEXT COLLATE "C",
    address          TEXT COLLATE "C" NOT NULL,
    household_number TEXT COLLATE "C" NOT NULL,
    relation         TEXT COLLATE "C" NOT NULL,
    grid_code        TEXT COLLATE "C" NOT NULL,
    key_groups       TEXT COLLATE "C" NOT NULL,         -- ';'-joined key-group codes
    content_hash     TEXT COLLATE "C" NOT NULL,         -- hash of every field above: an unchanged re-import writes nothing
    updated_at       BIGINT NOT NULL
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
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name  TEXT COLLATE "C" NOT NULL,
    role          TEXT COLLATE "C" NOT NULL,
    jurisdiction  TEXT COLLATE "C" NOT NULL,            -- region code: the user sees and changes only this subtree
    password_hash TEXT COLLATE "C" NOT NULL,            -- argon2id PHC string
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash   TEXT COLLATE "C" PRIMARY KEY,          -- sha256 of the cookie value: a stolen database holds no live token
    user_id      BIGINT NOT NULL REFERENCES users (id),
    csrf_token   TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    user_id     BIGINT,
    username    TEXT COLLATE "C" NOT NULL,
    action      TEXT COLLATE "C" NOT NULL,              -- reveal, export, import, create, update, login, login_failed, logout
    target      TEXT COLLATE "C" NOT NULL,              -- e.g. 'resident:42', 'region:130109'; never a raw ID number
    detail      TEXT COLLATE "C" NOT NULL,
    client_addr TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_log_by_at ON audit_log (at);

CREATE TABLE imports (
    id          BIGSERIAL PRIMARY KEY,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    username    TEXT COLLATE "C" NOT NULL,
    file_name   TEXT COLLATE "C" NOT NULL,
    format      TEXT COLLATE "C" NOT NULL,
    rows_total  BIGINT NOT NULL DEFAULT 0,
    inserted    BIGINT NOT NULL DEFAULT 0,
    updated     BIGINT NOT NULL DEFAULT 0,
    unchanged   BIGINT NOT NULL DEFAULT 0,
    problems    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE import_problems (
    import_id   BIGINT NOT NULL REFERENCES imports (id),
    row_number  BIGINT NOT NULL,           -- 1-based data row as the user sees it in the spreadsheet (header = 1)
    column_name TEXT COLLATE "C" NOT NULL,
    message     TEXT COLLATE "C" NOT NULL,
    raw_fields  TEXT COLLATE "C" NOT NULL               -- JSON array of the row's cells, so the row can be downloaded and fixed
);
CREATE INDEX import_problems_by_import ON import_problems (import_id, row_number);

CREATE TABLE door_visits (
    id                BIGSERIAL PRIMARY KEY,
    household_number  TEXT COLLATE "C" NOT NULL REFERENCES households (number),
    grid_code         TEXT COLLATE "C" NOT NULL,
    visited_at        BIGINT NOT NULL,
    visitor           TEXT COLLATE "C" NOT NULL,
    present_count     BIGINT NOT NULL,     -- members found at home
    away_count        BIGINT NOT NULL,     -- members away
    arrivals_count    BIGINT NOT NULL,     -- people who arrived from elsewhere (外来返乡)
    arrivals_note     TEXT COLLATE "C" NOT NULL,
    untested_count    BIGINT NOT NULL,     -- members without a test in the current round
    unvaccinated_count BIGINT NOT NULL,
    note              TEXT COLLATE "C" NOT NULL
);
CREATE INDEX door_visits_by_grid ON door_visits (grid_code, visited_at);
CREATE INDEX door_visits_by_household ON door_visits (household_number, visited_at);
