-- Leads and 落地查人 (finding risk people on the ground within 24 hours). Every risk person arrives
-- as a lead from one channel (domain::leads::Channel), is routed to the grid of their address and
-- lands in that grid's queue; the grid worker records the outcome. Append-only.

-- One lead. grid_code is the queue it lies in: a grid (pending), a region above the grids when no
-- grid is known (unrouted), or, for a letter we send out, the region that sent it. Lists and counts
-- are scoped by its code range.
CREATE TABLE leads (
    id            INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL,          -- domain::leads::Channel
    category      TEXT NOT NULL,          -- domain::leads::RiskCategory
    status        TEXT NOT NULL,          -- pending | unrouted | controlled | letter_out
    name          TEXT NOT NULL,
    id_type       TEXT NOT NULL,          -- '' when no document is known
    id_number     TEXT NOT NULL,          -- '' when no document is known
    phone         TEXT NOT NULL,
    address       TEXT NOT NULL,
    resident_id   INTEGER,
    grid_code     TEXT NOT NULL,
    reason        TEXT NOT NULL,          -- 推送原因 / what the person or sender said
    came_from     TEXT NOT NULL,          -- where the person came from
    arrived_at    INTEGER,                -- when they arrived here
    sender        TEXT NOT NULL,          -- letter sender / push source / reporter
    sender_scope  TEXT NOT NULL,          -- other_province | other_city | other_district | ''
    reference     TEXT NOT NULL,          -- 协查函文号, push batch
    sender_region TEXT NOT NULL,          -- the reach of whoever sent it in: forwarding stays inside it
    source_key    TEXT,                   -- idempotency of imports and events ('push:<hash>', 'event:<id>')
    received_at   INTEGER NOT NULL,
    deadline      INTEGER NOT NULL,       -- received_at + 24 h
    closed_at     INTEGER,
    measure       TEXT NOT NULL,          -- domain::leads::ControlMeasure when controlled, else ''
    out_region    TEXT NOT NULL,          -- where an outgoing letter goes ('' otherwise)
    out_note      TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
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
    grid_code TEXT NOT NULL,
    channel   TEXT NOT NULL,
    status    TEXT NOT NULL,
    in_time   INTEGER NOT NULL,              -- 1: closed by the deadline
    n         INTEGER NOT NULL,
    PRIMARY KEY (grid_code, channel, status, in_time)
);

-- Every step of a lead, with its time: received, routed, forwarded, controlled, letter sent.
CREATE TABLE lead_steps (
    id        INTEGER PRIMARY KEY,
    lead_id   INTEGER NOT NULL REFERENCES leads (id),
    at        INTEGER NOT NULL,
    step      TEXT NOT NULL,              -- received | assigned | forwarded | controlled | letter_out
    actor     TEXT NOT NULL,
    from_code TEXT NOT NULL,
    to_code   TEXT NOT NULL,
    note      TEXT NOT NULL
);
CREATE INDEX lead_steps_by_lead ON lead_steps (lead_id, at);

-- Big-data push imports and their problem rows.
CREATE TABLE lead_imports (
    id          INTEGER PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    username    TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    rows_total  INTEGER NOT NULL DEFAULT 0,
    inserted    INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    problems    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE lead_import_problems (
    id          INTEGER PRIMARY KEY,
    import_id   INTEGER NOT NULL REFERENCES lead_imports (id),
    row_number  INTEGER NOT NULL,
    column_name TEXT NOT NULL,
    message     TEXT NOT NULL,
    raw_fields  TEXT NOT NULL
);
CREATE INDEX lead_import_problems_by_import ON lead_import_problems (import_id, row_number);
