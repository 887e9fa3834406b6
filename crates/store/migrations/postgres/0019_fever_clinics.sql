-- Fever clinics (发热门诊/发热诊室, domain-rules.md §7.2): the registry of clinics with their risk
-- rule, each patient's visit through triage → reception → screening → observation → referral or
-- release with the time of each stage, and per clinic and Beijing day the counters the sentinel
-- triggers and the daily report read (moved in the visit's transaction, never counted).

CREATE TABLE fever_clinics (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,            -- clinic | room (domain::warning::fever_clinics::ClinicKind)
    region_code     TEXT COLLATE "C" NOT NULL,            -- its county or township
    risk            TEXT NOT NULL,            -- low | high (ClinicRisk): who may wait for the PCR at home
    site_id         BIGINT,                  -- the sampling site (of a single-tube routine round) its PCR tubes bind at
    hospital        TEXT NOT NULL,            -- the designated hospital it refers positives to
    in_observation  BIGINT NOT NULL DEFAULT 0,  -- patients in observation now
    awaiting_result BIGINT NOT NULL DEFAULT 0,  -- swabbed patients without a PCR result now
    created_at      BIGINT NOT NULL,
    created_by      TEXT NOT NULL
);
CREATE UNIQUE INDEX fever_clinics_by_name ON fever_clinics (region_code, name);

-- One patient's visit. A patient without a valid ID is registered by name and phone (首诊负责制),
-- flagged with id_valid = 0 (id_type and id_number then empty).
CREATE TABLE fever_visits (
    id               BIGSERIAL PRIMARY KEY,
    clinic_id        BIGINT NOT NULL REFERENCES fever_clinics (id),
    request_key      TEXT NOT NULL,           -- the form's idempotency key: a retry registers nobody twice
    id_type          TEXT NOT NULL,
    id_number        TEXT NOT NULL,
    id_valid         BIGINT NOT NULL,        -- 0: no valid ID (flagged)
    id_problem       TEXT NOT NULL,           -- why the ID typed was not valid
    name             TEXT NOT NULL,
    phone            TEXT NOT NULL,
    resident_id      BIGINT,
    grid_code        TEXT NOT NULL,           -- the resident's grid; the clinic's region otherwise
    green_code       BIGINT NOT NULL,
    travel_history   BIGINT NOT NULL,
    temperature      TEXT NOT NULL,           -- as measured at triage, e.g. '38.5'
    complaint        TEXT NOT NULL,
    stage            TEXT NOT NULL,           -- VisitStage
    registered_at    BIGINT NOT NULL,
    received_at      BIGINT,
    screening_at     BIGINT,
    observation_at   BIGINT,
    left_at          BIGINT,                 -- referral or release
    antigen_result   TEXT,
    antigen_at       BIGINT,
    pcr_tube         TEXT,
    pcr_bound        BIGINT NOT NULL DEFAULT 0, -- 1: the tube is bound in the lab flow (mass testing)
    pcr_taken_at     BIGINT,
    pcr_result       TEXT,
    pcr_result_at    BIGINT,
    blood_count      TEXT,
    blood_at         BIGINT,
    positive_at      BIGINT,
    hospital         TEXT NOT NULL DEFAULT '',
    outcome_note     TEXT NOT NULL DEFAULT '',
    staff            TEXT NOT NULL            -- who last moved it
);
CREATE UNIQUE INDEX fever_visits_by_request ON fever_visits (request_key);
CREATE INDEX fever_visits_by_clinic ON fever_visits (clinic_id, stage, registered_at);
CREATE INDEX fever_visits_awaiting_lab ON fever_visits (pcr_tube) WHERE pcr_bound = 1 AND pcr_result IS NULL;

-- Per clinic and Beijing day: visits registered, positives found, referred, released.
CREATE TABLE fever_clinic_days (
    clinic_id   BIGINT NOT NULL REFERENCES fever_clinics (id),
    day         TEXT NOT NULL,                -- YYYY-MM-DD, Beijing
    region_code TEXT COLLATE "C" NOT NULL,                -- the clinic's
    visits      BIGINT NOT NULL DEFAULT 0,
    positives   BIGINT NOT NULL DEFAULT 0,
    referred    BIGINT NOT NULL DEFAULT 0,
    released    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (clinic_id, day)
);
CREATE INDEX fever_clinic_days_by_region ON fever_clinic_days (region_code, day);
