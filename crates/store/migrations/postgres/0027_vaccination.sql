-- Vaccination (疫苗接种, domain-rules.md §10.5): one row per dose a person received (first, second,
-- booster: at most one of each, so a retried dose or a re-imported sheet writes nothing), and the
-- contraindications kept as the reasons a person is not vaccinated now.

CREATE TABLE vaccine_doses (
    id           BIGSERIAL PRIMARY KEY,
    resident_id  BIGINT NOT NULL,
    grid_code    TEXT COLLATE "C" NOT NULL,        -- the person's grid when the dose was recorded (scoping)
    dose_kind    TEXT NOT NULL,          -- first | second | booster
    product      TEXT NOT NULL,          -- bbibp | wibp | coronavac | ad5
    given_on     TEXT COLLATE "C" NOT NULL,         -- 'YYYY-MM-DD'
    site         TEXT NOT NULL,          -- 接种单位
    channel      TEXT NOT NULL,          -- form | upload | demo
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX vaccine_doses_by_person ON vaccine_doses (resident_id, dose_kind);
CREATE INDEX vaccine_doses_by_grid ON vaccine_doses (grid_code, given_on);

-- Why a person is not vaccinated now: one row per person and reason; a postponing reason has the
-- day it ends ('' for the others).
CREATE TABLE vaccine_contraindications (
    id           BIGSERIAL PRIMARY KEY,
    resident_id  BIGINT NOT NULL,
    grid_code    TEXT COLLATE "C" NOT NULL,
    reason       TEXT NOT NULL,          -- severe_allergy | acute_fever | chronic_acute | end_of_life
    until_day    TEXT COLLATE "C" NOT NULL,         -- 'YYYY-MM-DD' or ''
    note         TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX vaccine_contraindications_by_person ON vaccine_contraindications (resident_id, reason);
CREATE INDEX vaccine_contraindications_by_grid ON vaccine_contraindications (grid_code);
