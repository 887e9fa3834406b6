-- Epidemiological investigation (流调溯源): cases, their trajectories, contacts classified by rule,
-- and who infected whom. Contacts and cases travel to the other modules as person_events written in
-- the same transaction (domain::person_event). Append-only.

-- A case: confirmed, asymptomatic, suspected or initial-screen positive.
CREATE TABLE cases (
    id               INTEGER PRIMARY KEY,
    case_key         TEXT NOT NULL,          -- idempotency: "event:<person_event id>" or the client's key
    case_number      TEXT NOT NULL,          -- what the command office calls it, e.g. 藁城-0001
    kind             TEXT NOT NULL,          -- domain::investigation::CaseKind
    id_type          TEXT NOT NULL,
    id_number        TEXT NOT NULL,
    resident_id      INTEGER,
    name             TEXT NOT NULL,
    sex              TEXT NOT NULL,
    birth_date       TEXT NOT NULL,          -- 'YYYY-MM-DD' or ''
    phone            TEXT,
    address          TEXT NOT NULL,
    grid_code        TEXT NOT NULL,          -- the person's grid ('' when not in the register)
    region_code      TEXT NOT NULL,          -- where the case belongs: the grid, else the reporting region
    onset_date       TEXT,                   -- symptom onset 'YYYY-MM-DD' (confirmed, suspected)
    first_positive_at INTEGER,               -- first positive sampling (asymptomatic, initial screen)
    found_by         TEXT NOT NULL,          -- domain::investigation::FoundBy
    found_at         INTEGER NOT NULL,
    severity         TEXT NOT NULL,          -- domain::investigation::Severity
    hospital         TEXT NOT NULL,
    status           TEXT NOT NULL,          -- active | discharged | excluded
    status_at        INTEGER,
    regime           TEXT NOT NULL,          -- domain::investigation::Regime at opening
    reported_at      INTEGER,                -- 2-hour online report done
    investigated_at  INTEGER,                -- 24-hour investigation done
    isolated_at      INTEGER,                -- closes the contact look-back window
    infector_case_id INTEGER REFERENCES cases (id),
    infector_note    TEXT NOT NULL,
    public_summary   TEXT NOT NULL,          -- epidemiologist's words for the bulletin (no names)
    created_by       TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX cases_by_key ON cases (case_key);
CREATE INDEX cases_by_region ON cases (region_code, id);
CREATE INDEX cases_by_person ON cases (id_number, id_type);
CREATE INDEX cases_by_infector ON cases (infector_case_id);

-- Where a case was and when (流调轨迹): entered, or taken from the checkpoint/venue logs.
CREATE TABLE case_stops (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    from_at     INTEGER NOT NULL,
    to_at       INTEGER,
    place_kind  TEXT NOT NULL,               -- home | work | venue | vehicle | checkpoint | medical | other
    place_name  TEXT NOT NULL,
    address     TEXT NOT NULL,
    region_code TEXT NOT NULL,
    source      TEXT NOT NULL,               -- entered | checkpoint | venue
    source_key  TEXT NOT NULL,               -- idempotency per case: "passage:<id>", "venue:<id>", or a client key
    public      BOOLEAN NOT NULL,            -- shown in the anonymised bulletin
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX case_stops_by_key ON case_stops (case_id, source_key);

-- A person exposed to a case (or, for a secondary contact, to a close contact of it).
CREATE TABLE contacts (
    id                INTEGER PRIMARY KEY,
    case_id           INTEGER NOT NULL REFERENCES cases (id),
    case_region_code  TEXT NOT NULL,         -- the case's region: jurisdiction scope of the contact lists
    via_contact_id    INTEGER REFERENCES contacts (id),   -- the close contact a secondary contact met
    person_key        TEXT NOT NULL,         -- id_type:id_number, or phone:<phone>: one row per person and case
    id_type           TEXT NOT NULL,
    id_number         TEXT NOT NULL,
    resident_id       INTEGER,
    name              TEXT NOT NULL,
    phone             TEXT,
    address           TEXT NOT NULL,
    grid_code         TEXT NOT NULL,
    exposure_kind     TEXT NOT NULL,         -- domain::investigation::ExposureKind
    exposure_detail   TEXT NOT NULL,         -- JSON domain::investigation::VehiclePosition + place words
    protected         BOOLEAN NOT NULL,
    first_exposure_at INTEGER NOT NULL,
    last_exposure_at  INTEGER NOT NULL,
    category          TEXT NOT NULL,         -- close | secondary | general
    reason            TEXT NOT NULL,         -- why, in words (the rule that decided)
    regime            TEXT NOT NULL,
    status            TEXT NOT NULL,         -- active | cleared
    isolated_at       INTEGER,               -- when put under a measure (closes a secondary window)
    created_by        TEXT NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX contacts_by_person ON contacts (case_id, person_key);
CREATE INDEX contacts_by_region ON contacts (case_region_code, category, id);
CREATE INDEX contacts_by_via ON contacts (via_contact_id);
CREATE INDEX contacts_by_id_number ON contacts (id_number, id_type);
