-- The supply whitelist and its passes (保供白名单与通行证, domain-rules.md §9): enterprises with
-- their documents, their vehicles and people; the 2022 national vehicle pass ("一车一证一线路",
-- number = county division code + 6-digit serial from 000000) and staff passes, with the people
-- bound to each vehicle pass; the serial counter per county; and the vehicle checks at the
-- checkpoints ("两码一证"), logged like the person checks.

CREATE TABLE supply_enterprises (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,            -- wholesale_market | distribution_centre | …
    region_code    TEXT NOT NULL,            -- where it is (its county issues its passes)
    credit_code    TEXT NOT NULL,            -- 统一社会信用代码
    certificate_no TEXT NOT NULL,            -- 保供企业证明编号
    contact_phone  TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX supply_enterprises_by_credit ON supply_enterprises (credit_code);
CREATE INDEX supply_enterprises_by_region ON supply_enterprises (region_code);

CREATE TABLE supply_vehicles (
    id            INTEGER PRIMARY KEY,
    enterprise_id INTEGER NOT NULL REFERENCES supply_enterprises (id),
    region_code   TEXT NOT NULL,             -- the enterprise's
    plate         TEXT NOT NULL,             -- for an articulated lorry the tractor's
    kind          TEXT NOT NULL,
    licence_no    TEXT NOT NULL,             -- 行驶证编号
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX supply_vehicles_by_plate ON supply_vehicles (plate);
CREATE INDEX supply_vehicles_by_enterprise ON supply_vehicles (enterprise_id);

CREATE TABLE supply_people (
    id            INTEGER PRIMARY KEY,
    enterprise_id INTEGER NOT NULL REFERENCES supply_enterprises (id),
    region_code   TEXT NOT NULL,             -- the enterprise's
    role          TEXT NOT NULL,             -- driver | staff
    name          TEXT NOT NULL,
    id_type       TEXT NOT NULL,
    id_number     TEXT NOT NULL,
    phone         TEXT NOT NULL,
    document_no   TEXT NOT NULL,             -- 驾驶证 or 工作证编号
    negative_at   INTEGER,                   -- the sampling time of the newest negative report shown
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX supply_people_by_document ON supply_people (enterprise_id, id_type, id_number);

-- The next serial of each county (moved in the issuing transaction: no gap, no duplicate).
CREATE TABLE supply_pass_serials (
    county_code TEXT PRIMARY KEY,
    next_serial INTEGER NOT NULL
);

CREATE TABLE supply_passes (
    id               INTEGER PRIMARY KEY,
    number           TEXT NOT NULL,          -- county_code || serial as 6 digits
    county_code      TEXT NOT NULL,          -- the issuing county (its jurisdiction)
    serial           INTEGER NOT NULL,
    kind             TEXT NOT NULL,          -- vehicle | staff
    enterprise_id    INTEGER NOT NULL REFERENCES supply_enterprises (id),
    vehicle_id       INTEGER REFERENCES supply_vehicles (id),
    person_id        INTEGER REFERENCES supply_people (id),   -- a staff pass's holder
    plate            TEXT NOT NULL,          -- '' on a staff pass
    goods            TEXT NOT NULL,          -- '' on a staff pass
    origin_code      TEXT NOT NULL,
    destination_code TEXT NOT NULL,
    route            TEXT NOT NULL,          -- county codes joined by ','
    valid_from       INTEGER NOT NULL,
    valid_until      INTEGER NOT NULL,
    status           TEXT NOT NULL,          -- valid | revoked
    revoked_reason   TEXT NOT NULL DEFAULT '',
    revoked_by       TEXT NOT NULL DEFAULT '',
    revoked_at       INTEGER,
    issued_by        TEXT NOT NULL,
    issued_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX supply_passes_by_number ON supply_passes (number);
CREATE UNIQUE INDEX supply_passes_by_serial ON supply_passes (county_code, serial);
CREATE INDEX supply_passes_by_enterprise ON supply_passes (enterprise_id);

-- The people bound to a vehicle pass, each with the negative checked at issue.
CREATE TABLE supply_pass_people (
    pass_id          INTEGER NOT NULL REFERENCES supply_passes (id),
    person_id        INTEGER NOT NULL REFERENCES supply_people (id),
    last_negative_at INTEGER NOT NULL,
    PRIMARY KEY (pass_id, person_id)
);

-- Every vehicle check at a checkpoint (pass scanned or typed with the plate), refusals included.
CREATE TABLE supply_vehicle_passages (
    id            INTEGER PRIMARY KEY,
    passage_key   TEXT NOT NULL,
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints (id),
    at            INTEGER NOT NULL,
    method        TEXT NOT NULL,             -- qr | typed
    pass_id       INTEGER REFERENCES supply_passes (id),   -- NULL: no genuine pass found
    pass_number   TEXT NOT NULL,
    plate         TEXT NOT NULL,
    temperature   REAL,
    people        INTEGER NOT NULL,
    decision      TEXT NOT NULL,             -- pass | refuse
    reasons       TEXT NOT NULL,
    recorder      TEXT NOT NULL
);
CREATE UNIQUE INDEX supply_vehicle_passages_by_key ON supply_vehicle_passages (passage_key);
CREATE INDEX supply_vehicle_passages_by_checkpoint ON supply_vehicle_passages (checkpoint_id, at);
