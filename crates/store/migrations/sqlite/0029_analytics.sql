-- Big-data push (大数据推送) on location pings: the map from 800 m cells to the region tree, the
-- rules each jurisdiction sets, the jobs that ran (risk-area visitors, 时空伴随者, e-fence breaches)
-- and what became of each person they found. The pings themselves are Parquet day files beside
-- the database (the `fangkong-pings` crate); only the findings come here.

-- Which village or community a cell covers (the operator's cell plan joined to the divisions).
CREATE TABLE ping_cells (
    cell_id         INTEGER PRIMARY KEY,
    region_code     TEXT NOT NULL
);
CREATE INDEX ping_cells_by_region ON ping_cells (region_code);

-- One row per jurisdiction that set its own rules; the nearest ancestor's apply.
CREATE TABLE analytics_policies (
    region_code             TEXT PRIMARY KEY,
    cap_seconds             INTEGER NOT NULL,
    min_costay_seconds      INTEGER NOT NULL,
    continuous_costay       INTEGER NOT NULL,
    min_cell_stay_seconds   INTEGER NOT NULL,
    lookback_days           INTEGER NOT NULL,
    infectious_days_before  INTEGER NOT NULL,
    fence_min_out_pings     INTEGER NOT NULL,
    fence_min_out_seconds   INTEGER NOT NULL,
    fence_neighbours_home   INTEGER NOT NULL,
    updated_by              TEXT NOT NULL,
    updated_at              INTEGER NOT NULL
);

CREATE TABLE analytics_jobs (
    id              INTEGER PRIMARY KEY,
    analysis        TEXT NOT NULL,          -- domain::analytics::Analysis
    job_trigger     TEXT NOT NULL,          -- domain::analytics::JobTrigger
    -- What it is about, unique per analysis so an automatic run happens once: 'risk_area:12',
    -- 'cases:<first event id>-<last event id>', 'day:2021-01-05', 'requested:<n>'.
    subject         TEXT NOT NULL,
    region_code     TEXT NOT NULL,   -- whose job (scoping): the county of the area or cases
    rule_words      TEXT NOT NULL,          -- the rule it applied, in words
    window_from     INTEGER NOT NULL,
    window_to       INTEGER NOT NULL,
    status          TEXT NOT NULL,          -- domain::analytics::JobStatus
    failure         TEXT NOT NULL DEFAULT '',
    rows_found      INTEGER NOT NULL DEFAULT 0,  -- result rows of the kernel
    people_found    INTEGER NOT NULL DEFAULT 0,
    leads_created   INTEGER NOT NULL DEFAULT 0,
    leads_existed   INTEGER NOT NULL DEFAULT 0,
    alarms_raised   INTEGER NOT NULL DEFAULT 0,
    not_routable    INTEGER NOT NULL DEFAULT 0,
    pings_decoded   INTEGER NOT NULL DEFAULT 0,
    row_groups_read INTEGER NOT NULL DEFAULT 0,
    row_groups_total INTEGER NOT NULL DEFAULT 0,
    cases_without_pings INTEGER NOT NULL DEFAULT 0,
    millis          INTEGER NOT NULL DEFAULT 0,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    created_by      TEXT NOT NULL
);
CREATE UNIQUE INDEX analytics_jobs_by_subject ON analytics_jobs (analysis, subject);
CREATE INDEX analytics_jobs_by_region ON analytics_jobs (region_code, started_at);

-- One row per person a job found, with what became of them. `person_id` is the operator's number.
CREATE TABLE analytics_results (
    id              INTEGER PRIMARY KEY,
    job_id          INTEGER NOT NULL REFERENCES analytics_jobs (id),
    person_id       INTEGER NOT NULL,
    region_code     TEXT NOT NULL,   -- the grid (or village) it was sent to, '' when none
    detail          TEXT NOT NULL,          -- what was found, in words (cells, times, the case)
    first_ts        INTEGER NOT NULL,
    last_ts         INTEGER NOT NULL,
    outcome         TEXT NOT NULL,          -- domain::analytics::ResultOutcome
    lead_id         INTEGER,
    alarm_id        INTEGER
);
CREATE UNIQUE INDEX analytics_results_by_person ON analytics_results (job_id, person_id);

-- An e-fence breach is a home-isolation alarm like a door sensor's; the key makes a rerun harmless.
ALTER TABLE door_alarms ADD COLUMN source_key TEXT;
CREATE UNIQUE INDEX door_alarms_by_source_key ON door_alarms (source_key);
