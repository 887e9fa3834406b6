-- Reserves (物资储备, domain-rules.md §9): warehouses and who keeps them, the stock on hand per
-- warehouse and item (moved in the transaction of each ledger line), the ledger (台账: in, out,
-- transfer, consumption, stocktake), the daily rates typed where no module's norm knows the use,
-- and requests for support between regions (一方有难、八方支援).

CREATE TABLE reserve_warehouses (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    region_code TEXT COLLATE "C" NOT NULL,               -- where it is (county, township, village)
    owner_kind  TEXT NOT NULL,               -- command_office | hospital | isolation_site | testing_site
    owner_name  TEXT NOT NULL,               -- the unit that keeps it
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX reserve_warehouses_by_name ON reserve_warehouses (region_code, name);

-- Stock on hand: always the sum of the warehouse's ledger lines for the item (`fangkong check`).
CREATE TABLE reserve_stocks (
    warehouse_id BIGINT NOT NULL REFERENCES reserve_warehouses (id),
    item_code    TEXT NOT NULL,
    region_code  TEXT COLLATE "C" NOT NULL,              -- the warehouse's region (scoping, sums by region)
    on_hand      BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (warehouse_id, item_code)
);
CREATE INDEX reserve_stocks_by_region ON reserve_stocks (region_code, item_code);

CREATE TABLE reserve_movements (
    id                 BIGSERIAL PRIMARY KEY,
    warehouse_id       BIGINT NOT NULL REFERENCES reserve_warehouses (id),
    region_code        TEXT COLLATE "C" NOT NULL,
    item_code          TEXT NOT NULL,
    kind               TEXT NOT NULL,        -- in | out | transfer | consumption | stocktake
    delta              BIGINT NOT NULL,     -- the signed change of the stock
    on_hand_after      BIGINT NOT NULL,
    counterpart_id     BIGINT,              -- a transfer's other warehouse
    support_request_id BIGINT,              -- a support request's dispatch or receipt
    note               TEXT NOT NULL,
    at                 BIGINT NOT NULL,
    created_by         TEXT NOT NULL
);
-- Covering the sums per warehouse and item (the days of cover recomputed, the audit).
CREATE INDEX reserve_movements_by_warehouse ON reserve_movements (warehouse_id, item_code, delta);
CREATE INDEX reserve_movements_by_region ON reserve_movements (region_code, id);
-- The recent consumption (the last 7 days) whatever the region.
CREATE INDEX reserve_movements_by_time ON reserve_movements (at);

-- A daily rate typed for an item in a region (where no norm of the modules gives it).
CREATE TABLE reserve_rates (
    region_code TEXT COLLATE "C" NOT NULL,
    item_code   TEXT NOT NULL,
    daily       BIGINT NOT NULL,
    note        TEXT NOT NULL,
    set_by      TEXT NOT NULL,
    set_at      BIGINT NOT NULL,
    PRIMARY KEY (region_code, item_code)
);

-- A request for support: the asking region's warehouse receives, the giving region approves and
-- dispatches from one of its warehouses; each step an audit row, dispatch and receipt a ledger line.
CREATE TABLE reserve_support_requests (
    id                BIGSERIAL PRIMARY KEY,
    asker_region      TEXT COLLATE "C" NOT NULL,
    giver_region      TEXT COLLATE "C" NOT NULL,
    item_code         TEXT NOT NULL,
    quantity          BIGINT NOT NULL,
    to_warehouse_id   BIGINT NOT NULL REFERENCES reserve_warehouses (id),
    from_warehouse_id BIGINT,
    status            TEXT NOT NULL,         -- requested | approved | refused | dispatched | received
    reason            TEXT NOT NULL,
    answer            TEXT NOT NULL DEFAULT '',
    requested_by      TEXT NOT NULL,
    requested_at      BIGINT NOT NULL,
    decided_by        TEXT,
    decided_at        BIGINT,
    dispatched_at     BIGINT,
    received_at       BIGINT
);
CREATE INDEX reserve_support_by_asker ON reserve_support_requests (asker_region, status);
CREATE INDEX reserve_support_by_giver ON reserve_support_requests (giver_region, status);
