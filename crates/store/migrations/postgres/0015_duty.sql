-- Duty (值班值守): rosters of each command office (an office is a region: the office of the users
-- whose jurisdiction it is), handover notes and spot checks of the duty rooms below.
CREATE TABLE duty_roster (
    id            BIGSERIAL PRIMARY KEY,
    office_code   TEXT COLLATE "C" NOT NULL,           -- the office's region
    duty_date     TEXT COLLATE "C" NOT NULL,           -- 'YYYY-MM-DD': the day shift's date; a night shift starts on it
    shift         TEXT COLLATE "C" NOT NULL,           -- day | night
    post          TEXT COLLATE "C" NOT NULL,           -- 值班室 …
    role          TEXT COLLATE "C" NOT NULL,           -- leader | a | b
    user_id       BIGINT NOT NULL,        -- the person on duty, a user of the office
    person_name   TEXT COLLATE "C" NOT NULL,           -- their display name when rostered
    duty_line         TEXT COLLATE "C" NOT NULL DEFAULT '',-- the duty room's line (值班电话, a work phone), optional
    created_by    TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL
);
-- The same person once per shift; one leader per shift; one A role per post and shift (a retry or
-- a race that slips past the app's check is refused here).
CREATE UNIQUE INDEX duty_roster_person ON duty_roster (office_code, duty_date, shift, user_id);
CREATE UNIQUE INDEX duty_roster_leader ON duty_roster (office_code, duty_date, shift) WHERE role = 'leader';
CREATE UNIQUE INDEX duty_roster_a ON duty_roster (office_code, duty_date, shift, post) WHERE role = 'a';
CREATE INDEX duty_roster_by_date ON duty_roster (duty_date, office_code);

-- Handover notes (交接班记录): one per office, shift and author.
CREATE TABLE duty_handovers (
    id            BIGSERIAL PRIMARY KEY,
    office_code   TEXT COLLATE "C" NOT NULL,
    duty_date     TEXT COLLATE "C" NOT NULL,
    shift         TEXT COLLATE "C" NOT NULL,
    author_id     BIGINT NOT NULL,
    author_name   TEXT COLLATE "C" NOT NULL,
    note          TEXT COLLATE "C" NOT NULL,
    written_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX duty_handovers_once ON duty_handovers (office_code, duty_date, shift, author_id);

-- Spot checks (抽查): a checker calls a duty room below at called_at; it must answer by deadline_at.
-- The result, once recorded, says whether it passed and why not (failures: codes joined by ',').
CREATE TABLE duty_spot_checks (
    id                  BIGSERIAL PRIMARY KEY,
    office_code         TEXT COLLATE "C" NOT NULL,
    duty_date           TEXT COLLATE "C" NOT NULL,      -- the shift called
    shift               TEXT COLLATE "C" NOT NULL,
    called_at           BIGINT NOT NULL,
    deadline_at         BIGINT NOT NULL,
    called_by           TEXT COLLATE "C" NOT NULL,      -- username
    checker_office      TEXT COLLATE "C" NOT NULL,      -- the checker's jurisdiction
    recorded            BOOLEAN NOT NULL DEFAULT FALSE,
    answered_at         BIGINT,
    answered_by_user_id BIGINT,
    answered_by_name    TEXT COLLATE "C" NOT NULL DEFAULT '',
    knew_situation      BOOLEAN NOT NULL DEFAULT FALSE,
    passed              BOOLEAN NOT NULL DEFAULT FALSE,
    failures            TEXT COLLATE "C" NOT NULL DEFAULT '',
    note                TEXT COLLATE "C" NOT NULL DEFAULT '',
    recorded_by         TEXT COLLATE "C" NOT NULL DEFAULT '',
    recorded_at         BIGINT
);
CREATE INDEX duty_spot_checks_by_office ON duty_spot_checks (office_code, called_at);
