-- Early warning (监测预警与平急转换): alerts raised by the multi-point triggers, environment and
-- cold-chain positives reported by hand, each region's command state with its history, and the
-- emergency checklist a switch opens.

-- One alert per signal (evidence_key: `event:<person_events id>`, `spike:<channel>:<region>:<day>`,
-- `environment:<id>`, `assistance:<region>:<day>`), so a pass taken twice raises nothing twice.
CREATE TABLE warning_alerts (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,            -- domain::warning::triggers::SignalChannel
    level           TEXT NOT NULL,            -- red | orange | yellow
    region_code     TEXT NOT NULL,            -- the most specific region known
    evidence        TEXT NOT NULL,            -- words, no personal data
    evidence_key    TEXT NOT NULL,
    resident_id     INTEGER,
    raised_at       INTEGER NOT NULL,
    deadline        INTEGER NOT NULL,
    owner           TEXT NOT NULL,
    proposes_switch INTEGER NOT NULL,         -- 0 | 1
    status          TEXT NOT NULL,            -- open | verified | dismissed
    closed_at       INTEGER,
    closed_by       TEXT,
    note            TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX warning_alerts_one_per_signal ON warning_alerts (evidence_key);
CREATE INDEX warning_alerts_open ON warning_alerts (status, deadline);
CREATE INDEX warning_alerts_by_region ON warning_alerts (region_code, raised_at);

-- A positive found in goods or the environment (冷链/环境阳性), entered by the office that learned it.
CREATE TABLE environment_positives (
    id           INTEGER PRIMARY KEY,
    region_code  TEXT NOT NULL,
    place        TEXT NOT NULL,
    sample       TEXT NOT NULL,
    detected_at  INTEGER NOT NULL,
    reported_by  TEXT NOT NULL,
    reported_at  INTEGER NOT NULL
);

-- A region's command state now; a region without a row is 常态.
CREATE TABLE command_states (
    region_code  TEXT PRIMARY KEY,
    state        TEXT NOT NULL,               -- normal | emergency
    since        INTEGER NOT NULL,
    switch_id    INTEGER NOT NULL
);

-- Every switch, with who, when and why; a switch proposed by an alert names it; a switch back
-- records the conditions met (JSON list of {code, title, seen}).
CREATE TABLE command_switches (
    id           INTEGER PRIMARY KEY,
    region_code  TEXT NOT NULL,
    from_state   TEXT NOT NULL,
    to_state     TEXT NOT NULL,
    at           INTEGER NOT NULL,
    by_user      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    alert_id     INTEGER REFERENCES warning_alerts (id),
    conditions   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX command_switches_by_region ON command_switches (region_code, at);

-- The checklist a switch to emergency opened (from the level's template). A task closed by its
-- module records which record closed it (`done_how`: e.g. `round:3`); one closed by hand, who
-- and the note.
CREATE TABLE emergency_tasks (
    id           INTEGER PRIMARY KEY,
    switch_id    INTEGER NOT NULL REFERENCES command_switches (id),
    region_code  TEXT NOT NULL,
    code         TEXT NOT NULL,
    title        TEXT NOT NULL,
    owner        TEXT NOT NULL,
    due_at       INTEGER NOT NULL,
    closes_on    TEXT NOT NULL DEFAULT '',     -- domain::warning::emergency::ClosesOn, '' = by hand
    status       TEXT NOT NULL,                -- open | done
    done_at      INTEGER,
    done_by      TEXT,
    done_how     TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX emergency_tasks_once ON emergency_tasks (switch_id, code);
CREATE INDEX emergency_tasks_open ON emergency_tasks (status, due_at);
