-- Epidemiological investigation (流调溯源): cases, their trajectories, contacts classified by rule,
-- and who infected whom. Contacts and cases travel to the other modules as person_events written in
-- the same transaction (domain::person_event). Append-only.

-- A case: confirmed, asymptomatic, suspected or initial-screen positive.
CREATE TABLE cases (
    id               BIGSERIAL PRIMARY KEY,
    case_key         TEXT COLLATE "C" NOT NULL,          -- idempotency: "event:<person_event id>" or the client's key
    case_number      TEXT COLLATE "C" NOT NULL,          -- what the command office calls it, e.g. 藁城-0001
    kind             TEXT COLLATE "C" NOT NULL,          -- domain::investigation::CaseKind
    id_type          TEXT COLLATE "C" NOT NULL,
    id_number        TEXT COLLATE "C" NOT NULL,
    resident_id      BIGINT,
    name             TEXT COLLATE "C" NOT NULL,
    sex              TEXT COLLATE "C" NOT NULL,
    birth_date       TEXT COLLATE "C" NOT NULL,          -- 'YYYY-MM-DD' or ''
    phone            TEXT COLLATE "C",
    address          TEXT COLLATE "C" NOT NULL,
    grid_code        TEXT COLLATE "C" NOT NULL,          -- the person's grid ('' when not in the register)
    region_code      TEXT COLLATE "C" NOT NULL,          -- where the case belongs: the grid, else the reporting region
    onset_date       TEXT COLLATE "C",                   -- symptom onset 'YYYY-MM-DD' (confirmed, suspected)
    first_positive_at BIGINT,               -- first positive sampling (asymptomatic, initial screen)
    found_by         TEXT COLLATE "C" NOT NULL,          -- domain::investigation::FoundBy
    found_at         BIGINT NOT NULL,
    severity         TEXT COLLATE "C" NOT NULL,          -- domain::investigation::Severity
    hospital         TEXT COLLATE "C" NOT NULL,
    status           TEXT COLLATE "C" NOT NULL,          -- active | discharged | excluded
    status_at        BIGINT,
    regime           TEXT COLLATE "C" NOT NULL,          -- domain::investigation::Regime at opening
    reported_at      BIGINT,                -- 2-hour online report done
    investigated_at  BIGINT,                -- 24-hour investigation done
    isolated_at      BIGINT,                -- closes the contact look-back window
    infector_case_id BIGINT REFERENCES cases (id),
    infector_note    TEXT COLLATE "C" NOT NULL,
    public_summary   TEXT COLLATE "C" NOT NULL,          -- epidemiologist's words for the bulletin (no names)
    created_by       TEXT COLLATE "C" NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX cases_by_key ON cases (case_key);
CREATE INDEX cases_by_region ON cases (region_code, id);
CREATE INDEX cases_by_person ON cases (id_number, id_type);
CREATE INDEX cases_by_infector ON cases (infector_case_id);

-- Where a case was and when (流调轨迹): entered, or taken from the checkpoint/venue logs.
CREATE TABLE case_stops (
    id          BIGSERIAL PRIMARY KEY,
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    from_at     BIGINT NOT NULL,
    to_at       BIGINT,
    place_kind  TEXT COLLATE "C" NOT NULL,               -- home | work | venue | vehicle | checkpoint | medical | other
    place_name  TEXT COLLATE "C" NOT NULL,
    address     TEXT COLLATE "C" NOT NULL,
    region_code TEXT COLLATE "C" NOT NULL,
    source      TEXT COLLATE "C" NOT NULL,               -- entered | checkpoint | venue
    source_key  TEXT COLLATE "C" NOT NULL,               -- idempotency per case: "passage:<id>", "venue:<id>", or a client key
    public      BOOLEAN NOT NULL,           -- shown in the anonymised bulletin
    created_by  TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX case_stops_by_key ON case_stops (case_id, source_key);

-- A person exposed to a case (or, for a secondary contact, to a close contact of it).
CREATE TABLE contacts (
    id                BIGSERIAL PRIMARY KEY,
    case_id           BIGINT NOT NULL REFERENCES cases (id),
    case_region_code  TEXT COLLATE "C" NOT NULL,         -- the case's region: jurisdiction scope of the contact lists
    via_contact_id    BIGINT REFERENCES contacts (id),   -- the close contact a secondary contact met
    person_key        TEXT COLLATE "C" NOT NULL,         -- id_type:id_number, or phone:<phone>: one row per person and case
    id_type           TEXT COLLATE "C" NOT NULL,
    id_number         TEXT COLLATE "C" NOT NULL,
    resident_id       BIGINT,
    name              TEXT COLLATE "C" NOT NULL,
    phone             TEXT COLLATE "C",
    address           TEXT COLLATE "C" NOT NULL,
    grid_code         TEXT COLLATE "C" NOT NULL,
    exposure_kind     TEXT COLLATE "C" NOT NULL,         -- domain::investigation::ExposureKind
    exposure_detail   TEXT COLLATE "C" NOT NULL,         -- JSON domain::investigation::VehiclePosition + place words
    protected         BOOLEAN NOT NULL,
    first_exposure_at BIGINT NOT NULL,
    last_exposure_at  BIGINT NOT NULL,
    category          TEXT COLLATE "C" NOT NULL,         -- close | secondary | general
    reason            TEXT COLLATE "C" NOT NULL,         -- why, in words (the rule that decided)
    regime            TEXT COLLATE "C" NOT NULL,
    status            TEXT COLLATE "C" NOT NULL,         -- active | cleared
    isolated_at       BIGINT,               -- when put under a measure (closes a secondary window)
    created_by        TEXT COLLATE "C" NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX contacts_by_person ON contacts (case_id, person_key);
CREATE INDEX contacts_by_region ON contacts (case_region_code, category, id);
CREATE INDEX contacts_by_via ON contacts (via_contact_id);
CREATE INDEX contacts_by_id_number ON contacts (id_number, id_type);
