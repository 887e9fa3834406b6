-- Health code, risk areas, checkpoints and venue codes (健康码、风险区域、卡口、场所码).
-- The code of a person is a pure function of their facts (code_facts) and negative results under
-- the policy in force; health_codes caches the answer for people who have ever had a fact (nobody
-- else's code can be anything but green), and health_code_changes is its history. Append-only.

-- A designated risk area over a region unit, or over a compound/building inside a village.
CREATE TABLE risk_areas (
    id                BIGSERIAL PRIMARY KEY,
    scheme            TEXT COLLATE "C" NOT NULL,          -- ninth | three_zones | twenty (domain::risk_area::AreaScheme)
    tier              TEXT COLLATE "C" NOT NULL,          -- high | medium | low | sealed | controlled | precaution
    unit              TEXT COLLATE "C" NOT NULL,          -- county | township | village | compound | building
    region_code       TEXT COLLATE "C" NOT NULL,          -- the region, or the village holding the compound/building
    place_name        TEXT COLLATE "C" NOT NULL,          -- what the public list shows, e.g. "小果庄村" or "恒大城3号楼"
    reason            TEXT COLLATE "C" NOT NULL,
    designated_at     BIGINT NOT NULL,
    designated_by     TEXT COLLATE "C" NOT NULL,
    tier_since        BIGINT NOT NULL,       -- when the current tier began (the clean-day count may start later)
    last_infection_at BIGINT,                -- newest infection found inside (resets the clean-day count)
    lifted_at         BIGINT,
    lifted_by         TEXT COLLATE "C"
);
CREATE INDEX risk_areas_by_region ON risk_areas (region_code);

-- Every step of an area: designation, tier changes, infections found, lifting.
CREATE TABLE risk_area_steps (
    id         BIGSERIAL PRIMARY KEY,
    area_id    BIGINT NOT NULL REFERENCES risk_areas (id),
    at         BIGINT NOT NULL,
    from_tier  TEXT COLLATE "C",
    to_tier    TEXT COLLATE "C" NOT NULL,                 -- a tier, or "lifted"
    actor      TEXT COLLATE "C" NOT NULL,
    note       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX risk_area_steps_by_area ON risk_area_steps (area_id, at);

-- All-negative whole-area rounds, the lifting rules' "round on day 7".
CREATE TABLE risk_area_rounds (
    id          BIGSERIAL PRIMARY KEY,
    area_id     BIGINT NOT NULL REFERENCES risk_areas (id),
    finished_at BIGINT NOT NULL,
    round_id    BIGINT,                      -- the mass-testing round, when it came from one
    note        TEXT COLLATE "C" NOT NULL,
    recorded_by TEXT COLLATE "C" NOT NULL
);
CREATE INDEX risk_area_rounds_by_area ON risk_area_rounds (area_id, finished_at);

-- One input of a person's code (domain::health_code::CodeFact), from a module or a person.
CREATE TABLE code_facts (
    id          BIGSERIAL PRIMARY KEY,
    fact_key    TEXT COLLATE "C" NOT NULL,                -- idempotency: the source and its id, e.g. "event:123"
    id_type     TEXT COLLATE "C" NOT NULL,
    id_number   TEXT COLLATE "C" NOT NULL,
    resident_id BIGINT,
    grid_code   TEXT COLLATE "C" NOT NULL,                -- the person's grid ('' when not in the register)
    kind        TEXT COLLATE "C" NOT NULL,                -- domain::health_code::FactKind
    anchor      BIGINT NOT NULL,
    ended_at    BIGINT,
    colour      TEXT COLLATE "C",                         -- other province / manual override only
    checked_at  BIGINT,                      -- community report and check done (pop-up lifting)
    note        TEXT COLLATE "C",
    source      TEXT COLLATE "C" NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX code_facts_by_key ON code_facts (fact_key);
CREATE INDEX code_facts_by_person ON code_facts (id_number, id_type);

-- The current code of everyone who has had a fact; anyone else is plain green.
CREATE TABLE health_codes (
    id_type        TEXT COLLATE "C" NOT NULL,
    id_number      TEXT COLLATE "C" NOT NULL,
    resident_id    BIGINT,
    grid_code      TEXT COLLATE "C" NOT NULL,
    colour         TEXT COLLATE "C" NOT NULL,
    popup          TEXT COLLATE "C",                      -- the pop-up's FactKind, NULL when none
    summary        TEXT COLLATE "C" NOT NULL,             -- the reasons in words
    reasons        TEXT COLLATE "C" NOT NULL,             -- JSON list of domain::health_code::CodeReason
    turns_green_at BIGINT,
    waits_for_test BOOLEAN NOT NULL,
    policy_id      TEXT COLLATE "C" NOT NULL,
    computed_at    BIGINT NOT NULL,
    PRIMARY KEY (id_number, id_type)
);
CREATE INDEX health_codes_by_grid ON health_codes (grid_code, colour);

CREATE TABLE health_code_changes (
    id          BIGSERIAL PRIMARY KEY,
    id_type     TEXT COLLATE "C" NOT NULL,
    id_number   TEXT COLLATE "C" NOT NULL,
    grid_code   TEXT COLLATE "C" NOT NULL,
    at          BIGINT NOT NULL,
    from_colour TEXT COLLATE "C" NOT NULL,
    to_colour   TEXT COLLATE "C" NOT NULL,
    popup       TEXT COLLATE "C",
    summary     TEXT COLLATE "C" NOT NULL,
    cause       TEXT COLLATE "C" NOT NULL                 -- what made it recompute: a fact, a policy change, a risk area
);
CREATE INDEX health_code_changes_by_person ON health_code_changes (id_number, at);

-- The pseudonymous subject in a signed QR code → the person (issued when the code is first shown).
CREATE TABLE code_subjects (
    subject     TEXT COLLATE "C" PRIMARY KEY,
    id_type     TEXT COLLATE "C" NOT NULL,
    id_number   TEXT COLLATE "C" NOT NULL,
    resident_id BIGINT,
    issued_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX code_subjects_by_person ON code_subjects (id_number, id_type);

CREATE TABLE checkpoints (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,                -- domain::checkpoint::CheckpointKind
    line        TEXT COLLATE "C" NOT NULL,                -- domain::checkpoint::DefenceLine
    region_code TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX checkpoints_by_region ON checkpoints (region_code);

-- Every check at a checkpoint (四必: every person, temperature, identity, record), durably.
CREATE TABLE passages (
    id             BIGSERIAL PRIMARY KEY,
    passage_key    TEXT COLLATE "C" NOT NULL,             -- the client's idempotency key
    checkpoint_id  BIGINT NOT NULL,
    at             BIGINT NOT NULL,
    method         TEXT COLLATE "C" NOT NULL,             -- qr | id | dcc
    id_type        TEXT COLLATE "C" NOT NULL,
    id_number      TEXT COLLATE "C" NOT NULL,             -- '' when the code could not be read
    resident_id    BIGINT,
    colour         TEXT COLLATE "C",
    popup          BOOLEAN NOT NULL,
    temperature    DOUBLE PRECISION,
    plate          TEXT COLLATE "C",
    from_region    TEXT COLLATE "C",
    decision       TEXT COLLATE "C" NOT NULL,             -- domain::checkpoint::Decision, or "rejected" for an unreadable code
    reasons        TEXT COLLATE "C" NOT NULL,
    recorder       TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX passages_by_key ON passages (passage_key);
CREATE INDEX passages_by_checkpoint ON passages (checkpoint_id, at);
CREATE INDEX passages_by_person ON passages (id_number, at);

CREATE TABLE venues (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,                -- e.g. 超市, 餐馆, 居民小区
    address     TEXT COLLATE "C" NOT NULL,
    region_code TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX venues_by_region ON venues (region_code);

CREATE TABLE venue_visits (
    id          BIGSERIAL PRIMARY KEY,
    visit_key   TEXT COLLATE "C" NOT NULL,
    venue_id    BIGINT NOT NULL REFERENCES venues (id),
    at          BIGINT NOT NULL,
    id_type     TEXT COLLATE "C" NOT NULL,
    id_number   TEXT COLLATE "C" NOT NULL,
    resident_id BIGINT,
    colour      TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX venue_visits_by_key ON venue_visits (visit_key);
CREATE INDEX venue_visits_by_venue ON venue_visits (venue_id, at);
CREATE INDEX venue_visits_by_person ON venue_visits (id_number, at);

-- 申诉: a person disputes their code; an authorised user decides.
CREATE TABLE code_appeals (
    id          BIGSERIAL PRIMARY KEY,
    id_type     TEXT COLLATE "C" NOT NULL,
    id_number   TEXT COLLATE "C" NOT NULL,
    resident_id BIGINT,
    grid_code   TEXT COLLATE "C" NOT NULL,
    filed_at    BIGINT NOT NULL,
    filed_by    TEXT COLLATE "C" NOT NULL,
    colour      TEXT COLLATE "C" NOT NULL,                -- the colour disputed
    reason      TEXT COLLATE "C" NOT NULL,
    status      TEXT COLLATE "C" NOT NULL,                -- open | accepted | rejected
    decided_at  BIGINT,
    decided_by  TEXT COLLATE "C",
    decision    TEXT COLLATE "C"
);
CREATE INDEX code_appeals_by_status ON code_appeals (status, grid_code);
