-- Isolation, transfer and treatment (隔离管控、转运与救治). One row per person under a measure
-- (集中隔离/居家隔离/居家健康监测, or a case awaiting a hospital), its scheduled test tasks, its
-- temperatures and home check-ins; isolation sites and their rooms; vehicles and transfers; designated
-- hospitals and fangcang with admissions. Append-only.

CREATE TABLE isolation_sites (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    region_code   TEXT NOT NULL,          -- the jurisdiction the site belongs to (township or county)
    address       TEXT NOT NULL,
    readiness     TEXT NOT NULL,          -- 2h | 24h (domain::isolation::Readiness)
    staff_count   INTEGER NOT NULL,
    note          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL
);
CREATE INDEX isolation_sites_by_region ON isolation_sites (region_code);

CREATE TABLE isolation_rooms (
    id            INTEGER PRIMARY KEY,
    site_id       INTEGER NOT NULL REFERENCES isolation_sites (id),
    building      TEXT NOT NULL,
    floor         INTEGER NOT NULL,
    number        TEXT NOT NULL,          -- "A-101"
    status        TEXT NOT NULL,          -- free | occupied | cleaning | maintenance
    status_since  INTEGER NOT NULL,
    UNIQUE (site_id, number)
);
CREATE INDEX isolation_rooms_by_status ON isolation_rooms (site_id, status);

CREATE TABLE hospitals (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,          -- designated | fangcang
    region_code   TEXT NOT NULL,
    beds          INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX hospitals_by_region ON hospitals (region_code);

-- A person under a measure. source_key makes each source event open at most one measure
-- ("contact:<id>", "case:<id>", "lead:<id>", "manual:<n>").
CREATE TABLE isolation_measures (
    id               INTEGER PRIMARY KEY,
    source_key       TEXT NOT NULL UNIQUE,
    id_type          TEXT NOT NULL,
    id_number        TEXT NOT NULL,
    name             TEXT NOT NULL,
    phone            TEXT NOT NULL,
    resident_id      INTEGER,
    grid_code        TEXT NOT NULL,       -- where the person lives: the jurisdiction of the measure
    household_number TEXT NOT NULL,
    address          TEXT NOT NULL,
    birth_date       TEXT NOT NULL,       -- 'YYYY-MM-DD' or ''
    category         TEXT NOT NULL,       -- domain::isolation::PersonCategory
    regime           TEXT NOT NULL,
    day1             TEXT NOT NULL,       -- 'YYYY-MM-DD': day 1 of the first phase
    centralised_end  TEXT NOT NULL,       -- last day in a site, '' when the plan has none
    end_date         TEXT NOT NULL,       -- last day of the measure, '' for a case
    status           TEXT NOT NULL,       -- domain::isolation::MeasureStatus
    status_since     INTEGER NOT NULL,
    site_id          INTEGER REFERENCES isolation_sites (id),
    room_id          INTEGER REFERENCES isolation_rooms (id),
    checked_in_at    INTEGER,
    hospital_id      INTEGER REFERENCES hospitals (id),
    released_at      INTEGER,
    created_at       INTEGER NOT NULL,
    note             TEXT NOT NULL
);
CREATE INDEX isolation_measures_by_grid ON isolation_measures (grid_code, status);
CREATE INDEX isolation_measures_by_status ON isolation_measures (status, status_since);
CREATE INDEX isolation_measures_by_person ON isolation_measures (id_number, id_type);
-- 一人一间: a room holds at most one person's current measure.
CREATE UNIQUE INDEX isolation_measures_one_per_room ON isolation_measures (room_id) WHERE room_id IS NOT NULL;

CREATE TABLE measure_tests (
    id           INTEGER PRIMARY KEY,
    measure_id   INTEGER NOT NULL REFERENCES isolation_measures (id),
    phase_kind   TEXT NOT NULL,
    day          INTEGER NOT NULL,        -- day within the phase
    due_date     TEXT NOT NULL,
    result       TEXT,                    -- negative | positive
    recorded_at  INTEGER,
    recorded_by  TEXT,
    UNIQUE (measure_id, due_date)
);
CREATE INDEX measure_tests_by_due ON measure_tests (due_date, result);

-- Temperatures in a site (twice a day) and daily check-ins at home.
CREATE TABLE measure_check_ins (
    id           INTEGER PRIMARY KEY,
    measure_id   INTEGER NOT NULL REFERENCES isolation_measures (id),
    place        TEXT NOT NULL,           -- site | home
    day          TEXT NOT NULL,           -- Beijing date
    at           INTEGER NOT NULL,
    tenths       INTEGER NOT NULL,        -- temperature in tenths of a degree (365 = 36.5 ℃)
    fever        BOOLEAN NOT NULL,
    symptoms     TEXT NOT NULL,
    recorded_by  TEXT NOT NULL
);
CREATE INDEX measure_check_ins_by_measure ON measure_check_ins (measure_id, day);

-- Door-sensor alarms (门磁) posted by devices at the doors of people isolated at home.
CREATE TABLE door_alarms (
    id           INTEGER PRIMARY KEY,
    measure_id   INTEGER NOT NULL REFERENCES isolation_measures (id),
    device_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,           -- door_opened | tamper | offline
    at           INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    note         TEXT NOT NULL
);
CREATE INDEX door_alarms_by_measure ON door_alarms (measure_id, at);

CREATE TABLE vehicles (
    id                     INTEGER PRIMARY KEY,
    plate                  TEXT NOT NULL UNIQUE,
    kind                   TEXT NOT NULL, -- negative_pressure_ambulance | ambulance | coach
    capacity               INTEGER NOT NULL,
    region_code            TEXT NOT NULL,
    on_trip                BOOLEAN NOT NULL,
    awaiting_disinfection  BOOLEAN NOT NULL,
    created_at             INTEGER NOT NULL
);
CREATE INDEX vehicles_by_region ON vehicles (region_code);

CREATE TABLE transfers (
    id              INTEGER PRIMARY KEY,
    vehicle_id      INTEGER NOT NULL REFERENCES vehicles (id),
    region_code     TEXT NOT NULL,
    site_id         INTEGER REFERENCES isolation_sites (id),
    hospital_id     INTEGER REFERENCES hospitals (id),
    status          TEXT NOT NULL,        -- dispatched | picked_up | handed_over
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    picked_up_at    INTEGER,
    handed_over_at  INTEGER,
    disinfected_at  INTEGER
);
CREATE INDEX transfers_by_region ON transfers (region_code, status);

CREATE TABLE transfer_riders (
    transfer_id  INTEGER NOT NULL REFERENCES transfers (id),
    measure_id   INTEGER NOT NULL REFERENCES isolation_measures (id),
    PRIMARY KEY (transfer_id, measure_id)
);
CREATE INDEX transfer_riders_by_measure ON transfer_riders (measure_id);

CREATE TABLE hospital_admissions (
    id             INTEGER PRIMARY KEY,
    hospital_id    INTEGER NOT NULL REFERENCES hospitals (id),
    measure_id     INTEGER NOT NULL REFERENCES isolation_measures (id),
    transfer_id    INTEGER REFERENCES transfers (id),
    admitted_at    INTEGER NOT NULL,
    discharged_at  INTEGER
);
CREATE INDEX hospital_admissions_by_hospital ON hospital_admissions (hospital_id, discharged_at);
