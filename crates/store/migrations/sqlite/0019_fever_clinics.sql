-- Fever clinics (发热门诊/发热诊室, domain-rules.md §7.2): the registry of clinics with their risk
-- rule, each patient's visit through triage → reception → screening → observation → referral or
-- release with the time of each stage, and per clinic and Beijing day the counters the sentinel
-- triggers and the daily report read (moved in the visit's transaction, never counted).

CREATE TABLE fever_clinics (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,            -- clinic | room (domain::warning::fever_clinics::ClinicKind)
    region_code     TEXT NOT NULL,            -- its county or township
    risk            TEXT NOT NULL,            -- low | high (ClinicRisk): who may wait for the PCR at home
    site_id         INTEGER,                  -- the sampling site (of a single-tube routine round) its PCR tubes bind at
    hospital        TEXT NOT NULL,            -- the designated hospital it refers positives to
    in_observation  INTEGER NOT NULL DEFAULT 0,  -- patients in observation now
    awaiting_result INTEGER NOT NULL DEFAULT 0,  -- swabbed patients without a PCR result now
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL
);
CREATE UNIQUE INDEX fever_clinics_by_name ON fever_clinics (region_code, name);

-- One patient's visit. A patient without a valid ID is registered by name and phone (首诊负责制),
-- flagged with id_valid = 0 (id_type and id_number then empty).
CREATE TABLE fever_visits (
    id               INTEGER PRIMARY KEY,
    clinic_id        INTEGER NOT NULL REFERENCES fever_clinics (id),
    request_key      TEXT NOT NULL,           -- the form's idempotency key: a retry registers nobody twice
    id_type          TEXT NOT NULL,
    id_number        TEXT NOT NULL,
    id_valid         INTEGER NOT NULL,        -- 0: no valid ID (flagged)
    id_problem       TEXT NOT NULL,           -- why the ID typed was not valid
    name             TEXT NOT NULL,
    phone            TEXT NOT NULL,
    resident_id      INTEGER,
    grid_code        TEXT NOT NULL,           -- the resident's grid; the clinic's region otherwise
    green_code       INTEGER NOT NULL,
    travel_history   INTEGER NOT NULL,
    temperature      TEXT NOT NULL,           -- as measured at triage, e.g. '38.5'
    complaint        TEXT NOT NULL,
    stage            TEXT NOT NULL,           -- VisitStage
    registered_at    INTEGER NOT NULL,
    received_at      INTEGER,
    screening_at     INTEGER,
    observation_at   INTEGER,
    left_at          INTEGER,                 -- referral or release
    antigen_result   TEXT,
    antigen_at       INTEGER,
    pcr_tube         TEXT,
    pcr_bound        INTEGER NOT NULL DEFAULT 0, -- 1: the tube is bound in the lab flow (mass testing)
    pcr_taken_at     INTEGER,
    pcr_result       TEXT,
    pcr_result_at    INTEGER,
    blood_count      TEXT,
    blood_at         INTEGER,
    positive_at      INTEGER,
    hospital         TEXT NOT NULL DEFAULT '',
    outcome_note     TEXT NOT NULL DEFAULT '',
    staff            TEXT NOT NULL            -- who last moved it
);
CREATE UNIQUE INDEX fever_visits_by_request ON fever_visits (request_key);
CREATE INDEX fever_visits_by_clinic ON fever_visits (clinic_id, stage, registered_at);
CREATE INDEX fever_visits_awaiting_lab ON fever_visits (pcr_tube) WHERE pcr_bound = 1 AND pcr_result IS NULL;

-- Per clinic and Beijing day: visits registered, positives found, referred, released.
CREATE TABLE fever_clinic_days (
    clinic_id   INTEGER NOT NULL REFERENCES fever_clinics (id),
    day         TEXT NOT NULL,                -- YYYY-MM-DD, Beijing
    region_code TEXT NOT NULL,                -- the clinic's
    visits      INTEGER NOT NULL DEFAULT 0,
    positives   INTEGER NOT NULL DEFAULT 0,
    referred    INTEGER NOT NULL DEFAULT 0,
    released    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (clinic_id, day)
);
CREATE INDEX fever_clinic_days_by_region ON fever_clinic_days (region_code, day);
