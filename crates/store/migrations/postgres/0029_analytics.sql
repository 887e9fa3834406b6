-- Big-data push (大数据推送) on location pings: the map from 800 m cells to the region tree, the
-- rules each jurisdiction sets, the jobs that ran (risk-area visitors, 时空伴随者, e-fence breaches)
-- and what became of each person they found. The pings themselves are Parquet day files beside
-- the database (the `fangkong-pings` crate); only the findings come here.

-- Which village or community a cell covers (the operator's cell plan joined to the divisions).
CREATE TABLE ping_cells (
    cell_id         BIGINT PRIMARY KEY,
    region_code     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX ping_cells_by_region ON ping_cells (region_code);

-- One row per jurisdiction that set its own rules; the nearest ancestor's apply.
CREATE TABLE analytics_policies (
    region_code             TEXT COLLATE "C" PRIMARY KEY,
    cap_seconds             BIGINT NOT NULL,
    min_costay_seconds      BIGINT NOT NULL,
    continuous_costay       BOOLEAN NOT NULL,
    min_cell_stay_seconds   BIGINT NOT NULL,
    lookback_days           BIGINT NOT NULL,
    infectious_days_before  BIGINT NOT NULL,
    fence_min_out_pings     BIGINT NOT NULL,
    fence_min_out_seconds   BIGINT NOT NULL,
    fence_neighbours_home   BOOLEAN NOT NULL,
    updated_by              TEXT NOT NULL,
    updated_at              BIGINT NOT NULL
);

CREATE TABLE analytics_jobs (
    id              BIGSERIAL PRIMARY KEY,
    analysis        TEXT NOT NULL,          -- domain::analytics::Analysis
    job_trigger     TEXT NOT NULL,          -- domain::analytics::JobTrigger
    -- What it is about, unique per analysis so an automatic run happens once: 'risk_area:12',
    -- 'cases:<first event id>-<last event id>', 'day:2021-01-05', 'requested:<n>'.
    subject         TEXT NOT NULL,
    region_code     TEXT COLLATE "C" NOT NULL,   -- whose job (scoping): the county of the area or cases
    rule_words      TEXT NOT NULL,          -- the rule it applied, in words
    window_from     BIGINT NOT NULL,
    window_to       BIGINT NOT NULL,
    status          TEXT NOT NULL,          -- domain::analytics::JobStatus
    failure         TEXT NOT NULL DEFAULT '',
    rows_found      BIGINT NOT NULL DEFAULT 0,  -- result rows of the kernel
    people_found    BIGINT NOT NULL DEFAULT 0,
    leads_created   BIGINT NOT NULL DEFAULT 0,
    leads_existed   BIGINT NOT NULL DEFAULT 0,
    alarms_raised   BIGINT NOT NULL DEFAULT 0,
    not_routable    BIGINT NOT NULL DEFAULT 0,
    pings_decoded   BIGINT NOT NULL DEFAULT 0,
    row_groups_read BIGINT NOT NULL DEFAULT 0,
    row_groups_total BIGINT NOT NULL DEFAULT 0,
    cases_without_pings BIGINT NOT NULL DEFAULT 0,
    millis          BIGINT NOT NULL DEFAULT 0,
    started_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    created_by      TEXT NOT NULL
);
CREATE UNIQUE INDEX analytics_jobs_by_subject ON analytics_jobs (analysis, subject);
CREATE INDEX analytics_jobs_by_region ON analytics_jobs (region_code, started_at);

-- One row per person a job found, with what became of them. `person_id` is the operator's number.
CREATE TABLE analytics_results (
    id              BIGSERIAL PRIMARY KEY,
    job_id          BIGINT NOT NULL REFERENCES analytics_jobs (id),
    person_id       BIGINT NOT NULL,
    region_code     TEXT COLLATE "C" NOT NULL,   -- the grid (or village) it was sent to, '' when none
    detail          TEXT NOT NULL,          -- what was found, in words (cells, times, the case)
    first_ts        BIGINT NOT NULL,
    last_ts         BIGINT NOT NULL,
    outcome         TEXT NOT NULL,          -- domain::analytics::ResultOutcome
    lead_id         BIGINT,
    alarm_id        BIGINT
);
CREATE UNIQUE INDEX analytics_results_by_person ON analytics_results (job_id, person_id);

-- An e-fence breach is a home-isolation alarm like a door sensor's; the key makes a rerun harmless.
ALTER TABLE door_alarms ADD COLUMN source_key TEXT;
CREATE UNIQUE INDEX door_alarms_by_source_key ON door_alarms (source_key);
