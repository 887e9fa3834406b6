-- Emergency drills (应急演练): each run of a scenario in a sandbox, and the steps measured against
-- their deadlines; the after-action report (the scored figures as JSON) is filed with its run.

CREATE TABLE drill_runs (
    id             BIGSERIAL PRIMARY KEY,
    run_key        TEXT NOT NULL UNIQUE,       -- idempotency: the scenario and its start, or a copy's key
    scenario_name  TEXT NOT NULL,
    scenario_title TEXT NOT NULL,
    scenario_json  TEXT NOT NULL,              -- the scenario as played (domain::drills::Scenario)
    mode           TEXT NOT NULL,              -- unattended | teams
    region_code    TEXT COLLATE "C" NOT NULL,              -- the county the drill plays in
    started_at     BIGINT NOT NULL,           -- the drill's window, on the simulation clock
    ends_at        BIGINT NOT NULL,
    status         TEXT NOT NULL,              -- running | finished
    measured_at    BIGINT,                    -- when the report was last measured
    score_tenths   BIGINT,                    -- 0–1000, NULL when nothing was due
    report_json    TEXT NOT NULL,              -- domain::drills::Scorecard ('' before the first measure)
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    finished_at    BIGINT
);
CREATE INDEX drill_runs_by_region ON drill_runs (region_code, id);

-- One measured item of a run (a case's report, a contact, a lead, a person to move): replaced as a
-- whole each time the run is measured.
CREATE TABLE drill_steps (
    id           BIGSERIAL PRIMARY KEY,
    run_id       BIGINT NOT NULL REFERENCES drill_runs (id),
    step         TEXT NOT NULL,                -- domain::drills::DrillStep
    team         TEXT NOT NULL,                -- domain::drills::DrillTeam
    subject      TEXT NOT NULL,                -- words without personal data
    started_at   BIGINT NOT NULL,
    due_at       BIGINT NOT NULL,
    done_at      BIGINT,
    state        TEXT NOT NULL,                -- domain::drills::StepState
    late_minutes BIGINT NOT NULL,
    why          TEXT NOT NULL
);
CREATE INDEX drill_steps_by_run ON drill_steps (run_id, step, state);
