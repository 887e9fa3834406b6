-- Leads and 落地查人 (finding risk people on the ground within 24 hours). Every risk person arrives
-- as a lead from one channel (domain::leads::Channel), is routed to the grid of their address and
-- lands in that grid's queue; the grid worker records the outcome. Append-only.

-- One lead. grid_code is the queue it lies in: a grid (pending), a region above the grids when no
-- grid is known (unrouted), or, for a letter we send out, the region that sent it. Lists and counts
-- are scoped by its code range.
CREATE TABLE leads (
    id            BIGSERIAL PRIMARY KEY,
    channel       TEXT COLLATE "C" NOT NULL,          -- domain::leads::Channel
    category      TEXT COLLATE "C" NOT NULL,          -- domain::leads::RiskCategory
    status        TEXT COLLATE "C" NOT NULL,          -- pending | unrouted | controlled | letter_out
    name          TEXT COLLATE "C" NOT NULL,
    id_type       TEXT COLLATE "C" NOT NULL,          -- '' when no document is known
    id_number     TEXT COLLATE "C" NOT NULL,          -- '' when no document is known
    phone         TEXT COLLATE "C" NOT NULL,
    address       TEXT COLLATE "C" NOT NULL,
    resident_id   BIGINT,
    grid_code     TEXT COLLATE "C" NOT NULL,
    reason        TEXT COLLATE "C" NOT NULL,          -- 推送原因 / what the person or sender said
    came_from     TEXT COLLATE "C" NOT NULL,          -- where the person came from
    arrived_at    BIGINT,                -- when they arrived here
    sender        TEXT COLLATE "C" NOT NULL,          -- letter sender / push source / reporter
    sender_scope  TEXT COLLATE "C" NOT NULL,          -- other_province | other_city | other_district | ''
    reference     TEXT COLLATE "C" NOT NULL,          -- 协查函文号, push batch
    sender_region TEXT COLLATE "C" NOT NULL,          -- the reach of whoever sent it in: forwarding stays inside it
    source_key    TEXT COLLATE "C",                   -- idempotency of imports and events ('push:<hash>', 'event:<id>')
    received_at   BIGINT NOT NULL,
    deadline      BIGINT NOT NULL,       -- received_at + 24 h
    closed_at     BIGINT,
    measure       TEXT COLLATE "C" NOT NULL,          -- domain::leads::ControlMeasure when controlled, else ''
    out_region    TEXT COLLATE "C" NOT NULL,          -- where an outgoing letter goes ('' otherwise)
    out_note      TEXT COLLATE "C" NOT NULL,
    created_by    TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX leads_by_source_key ON leads (source_key);
-- The grid queues and the command view's counts (index-only: every counted column is in it).
CREATE INDEX leads_by_grid_status_deadline ON leads (grid_code, status, deadline, closed_at, channel);
-- The overdue lists: open states by deadline.
CREATE INDEX leads_by_status_deadline ON leads (status, deadline, grid_code, channel);
CREATE INDEX leads_by_person ON leads (id_number);
CREATE INDEX leads_by_creator ON leads (created_by, id);

-- Lead counts per (grid or queue code, channel, status, closed in time), moved in the same
-- transaction as every lead write: the command view sums these rows instead of counting leads
-- (only the open leads past their deadline are counted, through leads_by_status_deadline).
CREATE TABLE lead_grid_stats (
    grid_code TEXT COLLATE "C" NOT NULL,
    channel   TEXT COLLATE "C" NOT NULL,
    status    TEXT COLLATE "C" NOT NULL,
    in_time   BIGINT NOT NULL,              -- 1: closed by the deadline
    n         BIGINT NOT NULL,
    PRIMARY KEY (grid_code, channel, status, in_time)
);

-- Every step of a lead, with its time: received, routed, forwarded, controlled, letter sent.
CREATE TABLE lead_steps (
    id        BIGSERIAL PRIMARY KEY,
    lead_id   BIGINT NOT NULL REFERENCES leads (id),
    at        BIGINT NOT NULL,
    step      TEXT COLLATE "C" NOT NULL,              -- received | assigned | forwarded | controlled | letter_out
    actor     TEXT COLLATE "C" NOT NULL,
    from_code TEXT COLLATE "C" NOT NULL,
    to_code   TEXT COLLATE "C" NOT NULL,
    note      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX lead_steps_by_lead ON lead_steps (lead_id, at);

-- Big-data push imports and their problem rows.
CREATE TABLE lead_imports (
    id          BIGSERIAL PRIMARY KEY,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    username    TEXT COLLATE "C" NOT NULL,
    file_name   TEXT COLLATE "C" NOT NULL,
    rows_total  BIGINT NOT NULL DEFAULT 0,
    inserted    BIGINT NOT NULL DEFAULT 0,
    unchanged   BIGINT NOT NULL DEFAULT 0,
    problems    BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE lead_import_problems (
    id          BIGSERIAL PRIMARY KEY,
    import_id   BIGINT NOT NULL REFERENCES lead_imports (id),
    row_number  BIGINT NOT NULL,
    column_name TEXT COLLATE "C" NOT NULL,
    message     TEXT COLLATE "C" NOT NULL,
    raw_fields  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX lead_import_problems_by_import ON lead_import_problems (import_id, row_number);
