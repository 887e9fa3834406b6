-- Daily and zero reports (日报告、零报告) and incident reports (重大事项报告) of the command offices
-- (domain::command::reports, domain::command::incidents). Append-only.

-- One office's report of one day: retries never duplicate (one row per office and day); what it said
-- at first stays here, a correction (误报更正) is a row of daily_report_corrections.
CREATE TABLE daily_reports (
    id                BIGSERIAL PRIMARY KEY,
    office_code       TEXT COLLATE "C" NOT NULL,          -- the reporting region (province … township)
    report_date       TEXT COLLATE "C" NOT NULL,          -- 'YYYY-MM-DD': the day reported (cut-off 24:00 Beijing)
    kind              TEXT COLLATE "C" NOT NULL,          -- domain::command::reports::ReportKind
    figures           TEXT COLLATE "C" NOT NULL,          -- JSON Figures as first submitted
    current_figures   TEXT COLLATE "C" NOT NULL,          -- JSON Figures after the latest correction
    system_figures    TEXT COLLATE "C" NOT NULL,          -- JSON Figures the system showed as of the cut-off
    differences       TEXT COLLATE "C" NOT NULL,          -- JSON [Difference]: submitted against the system
    difference_reason TEXT COLLATE "C" NOT NULL,
    note              TEXT COLLATE "C" NOT NULL,
    due_at            BIGINT NOT NULL,
    submitted_at      BIGINT NOT NULL,
    late              BOOLEAN NOT NULL,       -- 迟报
    submitted_by      TEXT COLLATE "C" NOT NULL,          -- display name
    corrections       BIGINT NOT NULL        -- how many corrections followed
);
CREATE UNIQUE INDEX daily_reports_by_office_day ON daily_reports (office_code, report_date);
CREATE INDEX daily_reports_by_day ON daily_reports (report_date, office_code);

CREATE TABLE daily_report_corrections (
    id           BIGSERIAL PRIMARY KEY,
    report_id    BIGINT NOT NULL REFERENCES daily_reports (id),
    corrected_at BIGINT NOT NULL,
    corrected_by TEXT COLLATE "C" NOT NULL,
    previous     TEXT COLLATE "C" NOT NULL,               -- JSON Figures before
    figures      TEXT COLLATE "C" NOT NULL,               -- JSON Figures after
    differences  TEXT COLLATE "C" NOT NULL,               -- JSON [Difference]
    reason       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX daily_report_corrections_by_report ON daily_report_corrections (report_id, id);

-- An event reported up the chain: the first report is the row; follow-ups and the final report are
-- incident_updates; each office above records when it received it (incident_acks).
CREATE TABLE incidents (
    id             BIGSERIAL PRIMARY KEY,
    incident_key   TEXT COLLATE "C" NOT NULL UNIQUE,      -- idempotency: the client's key or office|kind|time|place
    office_code    TEXT COLLATE "C" NOT NULL,
    kind           TEXT COLLATE "C" NOT NULL,             -- domain::command::incidents::IncidentKind
    occurred_at    BIGINT NOT NULL,
    place          TEXT COLLATE "C" NOT NULL,
    summary        TEXT COLLATE "C" NOT NULL,
    filed_at       BIGINT NOT NULL,
    filed_by       TEXT COLLATE "C" NOT NULL,
    deadline       BIGINT NOT NULL,          -- occurred_at + the first report's limit
    overdue        BOOLEAN NOT NULL,          -- first report filed after the deadline
    last_report_at BIGINT NOT NULL,
    closed_at      BIGINT
);
CREATE INDEX incidents_by_office ON incidents (office_code, id);

CREATE TABLE incident_updates (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    update_key  TEXT COLLATE "C" NOT NULL,                -- idempotency: stage and a hash of the text
    stage       TEXT COLLATE "C" NOT NULL,                -- domain::command::incidents::IncidentStage
    at          BIGINT NOT NULL,
    by_name     TEXT COLLATE "C" NOT NULL,
    body        TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX incident_updates_by_key ON incident_updates (incident_id, update_key);

CREATE TABLE incident_acks (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    office_code TEXT COLLATE "C" NOT NULL,
    at          BIGINT NOT NULL,
    by_name     TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX incident_acks_by_office ON incident_acks (incident_id, office_code);
