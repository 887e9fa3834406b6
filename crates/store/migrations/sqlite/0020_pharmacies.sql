-- Retail pharmacies (零售药店, domain-rules.md §7.3): the registry of pharmacies, their real-name
-- sales of the four drug classes (退热、止咳、抗病毒、抗菌素), each buyer's test requirement and the
-- per-pharmacy, per-day counters the spike triggers, the picture and the daily report read.

CREATE TABLE pharmacies (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    region_code TEXT NOT NULL,               -- where the pharmacy is (a township, village or grid)
    licence_no  TEXT NOT NULL,               -- 药品经营许可证编号
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX pharmacies_by_licence ON pharmacies (licence_no);
CREATE INDEX pharmacies_by_region ON pharmacies (region_code);

-- One real-name sale. `sale_key` is the pharmacy's own key of the sale (receipt number): a retry
-- of the same sale is answered "already recorded" and writes nothing.
CREATE TABLE pharmacy_sales (
    id            INTEGER PRIMARY KEY,
    pharmacy_id   INTEGER NOT NULL REFERENCES pharmacies (id),
    region_code   TEXT NOT NULL,             -- the pharmacy's region (scoping)
    sale_key      TEXT NOT NULL,
    sold_at       INTEGER NOT NULL,
    day           TEXT NOT NULL,             -- Beijing day of sold_at, 'YYYY-MM-DD'
    drug_code     TEXT NOT NULL,
    drug_class    TEXT NOT NULL,             -- fever | cough | antiviral | antibiotic
    quantity      INTEGER NOT NULL,
    buyer_name    TEXT NOT NULL,
    id_type       TEXT NOT NULL,             -- '' when the ID could not be read
    id_number     TEXT NOT NULL,             -- as typed when flagged
    phone         TEXT NOT NULL,
    id_flag       TEXT NOT NULL DEFAULT '',  -- why the ID is not valid ('' = valid)
    resident_id   INTEGER,
    channel       TEXT NOT NULL,             -- form | upload | api
    positive_at   INTEGER,                   -- when the buyer's positive was passed on (once)
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX pharmacy_sales_by_key ON pharmacy_sales (pharmacy_id, sale_key);
CREATE INDEX pharmacy_sales_by_buyer ON pharmacy_sales (id_number, id_type, sold_at);
CREATE INDEX pharmacy_sales_by_region ON pharmacy_sales (region_code, sold_at);

-- A buyer's test requirement (购药后72小时内核酸): awaiting → tested (a negative sample in time) or
-- overdue (not tested by due_at: a lead to their grid).
CREATE TABLE pharmacy_test_requirements (
    sale_id      INTEGER PRIMARY KEY REFERENCES pharmacy_sales (id),
    pharmacy_id  INTEGER NOT NULL,
    region_code  TEXT NOT NULL,
    id_type      TEXT NOT NULL,
    id_number    TEXT NOT NULL,
    sold_at      INTEGER NOT NULL,
    due_at       INTEGER NOT NULL,
    status       TEXT NOT NULL,              -- awaiting | tested | overdue
    tested_at    INTEGER,
    lead_id      INTEGER,
    closed_at    INTEGER
);
CREATE INDEX pharmacy_requirements_awaiting ON pharmacy_test_requirements (status, due_at);
CREATE INDEX pharmacy_requirements_by_region ON pharmacy_test_requirements (region_code, status);

-- Counters per pharmacy and Beijing day, moved in the transaction of the rows they count: sales,
-- sales with a flagged ID, requirements set, met and overdue (by the sale's day), and leads made
-- (by the day the lead was made).
CREATE TABLE pharmacy_day_counts (
    pharmacy_id  INTEGER NOT NULL,
    region_code  TEXT NOT NULL,
    day          TEXT NOT NULL,
    sales        INTEGER NOT NULL DEFAULT 0,
    flagged_ids  INTEGER NOT NULL DEFAULT 0,
    requirements INTEGER NOT NULL DEFAULT 0,
    met          INTEGER NOT NULL DEFAULT 0,
    overdue      INTEGER NOT NULL DEFAULT 0,
    leads        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (pharmacy_id, day)
);
CREATE INDEX pharmacy_day_counts_by_region ON pharmacy_day_counts (region_code, day);
