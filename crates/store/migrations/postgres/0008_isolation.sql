-- Isolation, transfer and treatment (隔离管控、转运与救治). One row per person under a measure
-- (集中隔离/居家隔离/居家健康监测, or a case awaiting a hospital), its scheduled test tasks, its
-- temperatures and home check-ins; isolation sites and their rooms; vehicles and transfers; designated
-- hospitals and fangcang with admissions. Append-only.

CREATE TABLE isolation_sites (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT COLLATE "C" NOT NULL,
    region_code   TEXT COLLATE "C" NOT NULL,          -- the jurisdiction the site belongs to (township or county)
    address       TEXT COLLATE "C" NOT NULL,
    readiness     TEXT COLLATE "C" NOT NULL,          -- 2h | 24h (domain::isolation::Readiness)
    staff_count   BIGINT NOT NULL,
    note          TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL,
    created_by    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX isolation_sites_by_region ON isolation_sites (region_code);

CREATE TABLE isolation_rooms (
    id            BIGSERIAL PRIMARY KEY,
    site_id       BIGINT NOT NULL REFERENCES isolation_sites (id),
    building      TEXT COLLATE "C" NOT NULL,
    floor         BIGINT NOT NULL,
    number        TEXT COLLATE "C" NOT NULL,          -- "A-101"
    status        TEXT COLLATE "C" NOT NULL,          -- free | occupied | cleaning | maintenance
    status_since  BIGINT NOT NULL,
    UNIQUE (site_id, number)
);
CREATE INDEX isolation_rooms_by_status ON isolation_rooms (site_id, status);

CREATE TABLE hospitals (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,          -- designated | fangcang
    region_code   TEXT COLLATE "C" NOT NULL,
    beds          BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX hospitals_by_region ON hospitals (region_code);

-- A person under a measure. source_key makes each source event open at most one measure
-- ("contact:<id>", "case:<id>", "lead:<id>", "manual:<n>").
CREATE TABLE isolation_measures (
    id               BIGSERIAL PRIMARY KEY,
    source_key       TEXT COLLATE "C" NOT NULL UNIQUE,
    id_type          TEXT COLLATE "C" NOT NULL,
    id_number        TEXT COLLATE "C" NOT NULL,
    name             TEXT COLLATE "C" NOT NULL,
    phone            TEXT COLLATE "C" NOT NULL,
    resident_id      BIGINT,
    grid_code        TEXT COLLATE "C" NOT NULL,       -- where the person lives: the jurisdiction of the measure
    household_number TEXT COLLATE "C" NOT NULL,
    address          TEXT COLLATE "C" NOT NULL,
    birth_date       TEXT COLLATE "C" NOT NULL,       -- 'YYYY-MM-DD' or ''
    category         TEXT COLLATE "C" NOT NULL,       -- domain::isolation::PersonCategory
    regime           TEXT COLLATE "C" NOT NULL,
    day1             TEXT COLLATE "C" NOT NULL,       -- 'YYYY-MM-DD': day 1 of the first phase
    centralised_end  TEXT COLLATE "C" NOT NULL,       -- last day in a site, '' when the plan has none
    end_date         TEXT COLLATE "C" NOT NULL,       -- last day of the measure, '' for a case
    status           TEXT COLLATE "C" NOT NULL,       -- domain::isolation::MeasureStatus
    status_since     BIGINT NOT NULL,
    site_id          BIGINT REFERENCES isolation_sites (id),
    room_id          BIGINT REFERENCES isolation_rooms (id),
    checked_in_at    BIGINT,
    hospital_id      BIGINT REFERENCES hospitals (id),
    released_at      BIGINT,
    created_at       BIGINT NOT NULL,
    note             TEXT COLLATE "C" NOT NULL
);
CREATE INDEX isolation_measures_by_grid ON isolation_measures (grid_code, status);
CREATE INDEX isolation_measures_by_status ON isolation_measures (status, status_since);
CREATE INDEX isolation_measures_by_person ON isolation_measures (id_number, id_type);
-- 一人一间: a room holds at most one person's current measure.
CREATE UNIQUE INDEX isolation_measures_one_per_room ON isolation_measures (room_id) WHERE room_id IS NOT NULL;

CREATE TABLE measure_tests (
    id           BIGSERIAL PRIMARY KEY,
    measure_id   BIGINT NOT NULL REFERENCES isolation_measures (id),
    phase_kind   TEXT COLLATE "C" NOT NULL,
    day          BIGINT NOT NULL,        -- day within the phase
    due_date     TEXT COLLATE "C" NOT NULL,
    result       TEXT COLLATE "C",                    -- negative | positive
    recorded_at  BIGINT,
    recorded_by  TEXT COLLATE "C",
    UNIQUE (measure_id, due_date)
);
CREATE INDEX measure_tests_by_due ON measure_tests (due_date, result);

-- Temperatures in a site (twice a day) and daily check-ins at home.
CREATE TABLE measure_check_ins (
    id           BIGSERIAL PRIMARY KEY,
    measure_id   BIGINT NOT NULL REFERENCES isolation_measures (id),
    place        TEXT COLLATE "C" NOT NULL,           -- site | home
    day          TEXT COLLATE "C" NOT NULL,           -- Beijing date
    at           BIGINT NOT NULL,
    tenths       BIGINT NOT NULL,        -- temperature in tenths of a degree (365 = 36.5 ℃)
    fever        BOOLEAN NOT NULL,
    symptoms     TEXT COLLATE "C" NOT NULL,
    recorded_by  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX measure_check_ins_by_measure ON measure_check_ins (measure_id, day);

-- Door-sensor alarms (门磁) posted by devices at the doors of people isolated at home.
CREATE TABLE door_alarms (
    id           BIGSERIAL PRIMARY KEY,
    measure_id   BIGINT NOT NULL REFERENCES isolation_measures (id),
    device_id    TEXT COLLATE "C" NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL,           -- door_opened | tamper | offline
    at           BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    note         TEXT COLLATE "C" NOT NULL
);
CREATE INDEX door_alarms_by_measure ON door_alarms (measure_id, at);

CREATE TABLE vehicles (
    id                     BIGSERIAL PRIMARY KEY,
    plate                  TEXT COLLATE "C" NOT NULL UNIQUE,
    kind                   TEXT COLLATE "C" NOT NULL, -- negative_pressure_ambulance | ambulance | coach
    capacity               BIGINT NOT NULL,
    region_code            TEXT COLLATE "C" NOT NULL,
    on_trip                BOOLEAN NOT NULL,
    awaiting_disinfection  BOOLEAN NOT NULL,
    created_at             BIGINT NOT NULL
);
CREATE INDEX vehicles_by_region ON vehicles (region_code);

CREATE TABLE transfers (
    id              BIGSERIAL PRIMARY KEY,
    vehicle_id      BIGINT NOT NULL REFERENCES vehicles (id),
    region_code     TEXT COLLATE "C" NOT NULL,
    site_id         BIGINT REFERENCES isolation_sites (id),
    hospital_id     BIGINT REFERENCES hospitals (id),
    status          TEXT COLLATE "C" NOT NULL,        -- dispatched | picked_up | handed_over
    created_at      BIGINT NOT NULL,
    created_by      TEXT COLLATE "C" NOT NULL,
    picked_up_at    BIGINT,
    handed_over_at  BIGINT,
    disinfected_at  BIGINT
);
CREATE INDEX transfers_by_region ON transfers (region_code, status);

CREATE TABLE transfer_riders (
    transfer_id  BIGINT NOT NULL REFERENCES transfers (id),
    measure_id   BIGINT NOT NULL REFERENCES isolation_measures (id),
    PRIMARY KEY (transfer_id, measure_id)
);
CREATE INDEX transfer_riders_by_measure ON transfer_riders (measure_id);

CREATE TABLE hospital_admissions (
    id             BIGSERIAL PRIMARY KEY,
    hospital_id    BIGINT NOT NULL REFERENCES hospitals (id),
    measure_id     BIGINT NOT NULL REFERENCES isolation_measures (id),
    transfer_id    BIGINT REFERENCES transfers (id),
    admitted_at    BIGINT NOT NULL,
    discharged_at  BIGINT
);
CREATE INDEX hospital_admissions_by_hospital ON hospital_admissions (hospital_id, discharged_at);
