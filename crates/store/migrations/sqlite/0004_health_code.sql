-- Health code, risk areas, checkpoints and venue codes (健康码、风险区域、卡口、场所码).
-- The code of a person is a pure function of their facts (code_facts) and negative results under
-- the policy in force; health_codes caches the answer for people who have ever had a fact (nobody
-- else's code can be anything but green), and health_code_changes is its history. Append-only.

-- A designated risk area over a region unit, or over a compound/building inside a village.
CREATE TABLE risk_areas (
    id                INTEGER PRIMARY KEY,
    scheme            TEXT NOT NULL,          -- ninth | three_zones | twenty (domain::risk_area::AreaScheme)
    tier              TEXT NOT NULL,          -- high | medium | low | sealed | controlled | precaution
    unit              TEXT NOT NULL,          -- county | township | village | compound | building
    region_code       TEXT NOT NULL,          -- the region, or the village holding the compound/building
    place_name        TEXT NOT NULL,          -- what the public list shows, e.g. "小果庄村" or "恒大城3号楼"
    reason            TEXT NOT NULL,
    designated_at     INTEGER NOT NULL,
    designated_by     TEXT NOT NULL,
    tier_since        INTEGER NOT NULL,       -- when the current tier began (the clean-day count may start later)
    last_infection_at INTEGER,                -- newest infection found inside (resets the clean-day count)
    lifted_at         INTEGER,
    lifted_by         TEXT
);
CREATE INDEX risk_areas_by_region ON risk_areas (region_code);

-- Every step of an area: designation, tier changes, infections found, lifting.
CREATE TABLE risk_area_steps (
    id         INTEGER PRIMARY KEY,
    area_id    INTEGER NOT NULL REFERENCES risk_areas (id),
    at         INTEGER NOT NULL,
    from_tier  TEXT,
    to_tier    TEXT NOT NULL,                 -- a tier, or "lifted"
    actor      TEXT NOT NULL,
    note       TEXT NOT NULL
);
CREATE INDEX risk_area_steps_by_area ON risk_area_steps (area_id, at);

-- All-negative whole-area rounds, the lifting rules' "round on day 7".
CREATE TABLE risk_area_rounds (
    id          INTEGER PRIMARY KEY,
    area_id     INTEGER NOT NULL REFERENCES risk_areas (id),
    finished_at INTEGER NOT NULL,
    round_id    INTEGER,                      -- the mass-testing round, when it came from one
    note        TEXT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX risk_area_rounds_by_area ON risk_area_rounds (area_id, finished_at);

-- One input of a person's code (domain::health_code::CodeFact), from a module or a person.
CREATE TABLE code_facts (
    id          INTEGER PRIMARY KEY,
    fact_key    TEXT NOT NULL,                -- idempotency: the source and its id, e.g. "event:123"
    id_type     TEXT NOT NULL,
    id_number   TEXT NOT NULL,
    resident_id INTEGER,
    grid_code   TEXT NOT NULL,                -- the person's grid ('' when not in the register)
    kind        TEXT NOT NULL,                -- domain::health_code::FactKind
    anchor      INTEGER NOT NULL,
    ended_at    INTEGER,
    colour      TEXT,                         -- other province / manual override only
    checked_at  INTEGER,                      -- community report and check done (pop-up lifting)
    note        TEXT,
    source      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX code_facts_by_key ON code_facts (fact_key);
CREATE INDEX code_facts_by_person ON code_facts (id_number, id_type);

-- The current code of everyone who has had a fact; anyone else is plain green.
CREATE TABLE health_codes (
    id_type        TEXT NOT NULL,
    id_number      TEXT NOT NULL,
    resident_id    INTEGER,
    grid_code      TEXT NOT NULL,
    colour         TEXT NOT NULL,
    popup          TEXT,                      -- the pop-up's FactKind, NULL when none
    summary        TEXT NOT NULL,             -- the reasons in words
    reasons        TEXT NOT NULL,             -- JSON list of domain::health_code::CodeReason
    turns_green_at INTEGER,
    waits_for_test INTEGER NOT NULL,
    policy_id      TEXT NOT NULL,
    computed_at    INTEGER NOT NULL,
    PRIMARY KEY (id_number, id_type)
);
CREATE INDEX health_codes_by_grid ON health_codes (grid_code, colour);

CREATE TABLE health_code_changes (
    id          INTEGER PRIMARY KEY,
    id_type     TEXT NOT NULL,
    id_number   TEXT NOT NULL,
    grid_code   TEXT NOT NULL,
    at          INTEGER NOT NULL,
    from_colour TEXT NOT NULL,
    to_colour   TEXT NOT NULL,
    popup       TEXT,
    summary     TEXT NOT NULL,
    cause       TEXT NOT NULL                 -- what made it recompute: a fact, a policy change, a risk area
);
CREATE INDEX health_code_changes_by_person ON health_code_changes (id_number, at);

-- The pseudonymous subject in a signed QR code → the person (issued when the code is first shown).
CREATE TABLE code_subjects (
    subject     TEXT PRIMARY KEY,
    id_type     TEXT NOT NULL,
    id_number   TEXT NOT NULL,
    resident_id INTEGER,
    issued_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX code_subjects_by_person ON code_subjects (id_number, id_type);

CREATE TABLE checkpoints (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,                -- domain::checkpoint::CheckpointKind
    line        TEXT NOT NULL,                -- domain::checkpoint::DefenceLine
    region_code TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX checkpoints_by_region ON checkpoints (region_code);

-- Every check at a checkpoint (四必: every person, temperature, identity, record), durably.
CREATE TABLE passages (
    id             INTEGER PRIMARY KEY,
    passage_key    TEXT NOT NULL,             -- the client's idempotency key
    checkpoint_id  INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    method         TEXT NOT NULL,             -- qr | id | dcc
    id_type        TEXT NOT NULL,
    id_number      TEXT NOT NULL,             -- '' when the code could not be read
    resident_id    INTEGER,
    colour         TEXT,
    popup          INTEGER NOT NULL,
    temperature    REAL,
    plate          TEXT,
    from_region    TEXT,
    decision       TEXT NOT NULL,             -- domain::checkpoint::Decision, or "rejected" for an unreadable code
    reasons        TEXT NOT NULL,
    recorder       TEXT NOT NULL
);
CREATE UNIQUE INDEX passages_by_key ON passages (passage_key);
CREATE INDEX passages_by_checkpoint ON passages (checkpoint_id, at);
CREATE INDEX passages_by_person ON passages (id_number, at);

CREATE TABLE venues (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,                -- e.g. 超市, 餐馆, 居民小区
    address     TEXT NOT NULL,
    region_code TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE INDEX venues_by_region ON venues (region_code);

CREATE TABLE venue_visits (
    id          INTEGER PRIMARY KEY,
    visit_key   TEXT NOT NULL,
    venue_id    INTEGER NOT NULL REFERENCES venues (id),
    at          INTEGER NOT NULL,
    id_type     TEXT NOT NULL,
    id_number   TEXT NOT NULL,
    resident_id INTEGER,
    colour      TEXT NOT NULL
);
CREATE UNIQUE INDEX venue_visits_by_key ON venue_visits (visit_key);
CREATE INDEX venue_visits_by_venue ON venue_visits (venue_id, at);
CREATE INDEX venue_visits_by_person ON venue_visits (id_number, at);

-- 申诉: a person disputes their code; an authorised user decides.
CREATE TABLE code_appeals (
    id          INTEGER PRIMARY KEY,
    id_type     TEXT NOT NULL,
    id_number   TEXT NOT NULL,
    resident_id INTEGER,
    grid_code   TEXT NOT NULL,
    filed_at    INTEGER NOT NULL,
    filed_by    TEXT NOT NULL,
    colour      TEXT NOT NULL,                -- the colour disputed
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL,                -- open | accepted | rejected
    decided_at  INTEGER,
    decided_by  TEXT,
    decision    TEXT
);
CREATE INDEX code_appeals_by_status ON code_appeals (status, grid_code);
