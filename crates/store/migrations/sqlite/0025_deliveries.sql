-- Deliveries (物资配送, 最后一百米): collection points per compound or village with their staggered
-- slots, requests from sealed and isolated households, and each step of a request with its time.

CREATE TABLE delivery_points (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL,
    region_code        TEXT NOT NULL,        -- the village or grid (compound) it serves
    address            TEXT NOT NULL,
    first_start_minute INTEGER NOT NULL,     -- minutes after Beijing midnight
    slot_minutes       INTEGER NOT NULL,
    slots_per_day      INTEGER NOT NULL,
    capacity           INTEGER NOT NULL,     -- requests per slot
    created_by         TEXT NOT NULL,
    created_at         INTEGER NOT NULL
);
CREATE INDEX delivery_points_by_region ON delivery_points (region_code);

-- One request. `status` is the newest step's; `eligibility` says why the household may ask
-- (home_measure | sealed_area | outside = taken and flagged).
CREATE TABLE delivery_requests (
    id               INTEGER PRIMARY KEY,
    grid_code        TEXT NOT NULL,
    household_number TEXT NOT NULL,
    resident_id      INTEGER NOT NULL,
    name             TEXT NOT NULL,
    phone            TEXT NOT NULL,
    address          TEXT NOT NULL,
    category         TEXT NOT NULL,          -- medicine | infant | food | other
    urgency          TEXT NOT NULL,          -- urgent | normal
    items            TEXT NOT NULL,
    channel          TEXT NOT NULL,          -- resident | grid_worker
    eligibility      TEXT NOT NULL,
    elderly_alone    BOOLEAN NOT NULL DEFAULT FALSE,
    status           TEXT NOT NULL,
    point_id         INTEGER REFERENCES delivery_points (id),
    slot_start       INTEGER,
    courier          TEXT NOT NULL DEFAULT '',
    requested_at     INTEGER NOT NULL,
    due_at           INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    created_by       TEXT NOT NULL
);
CREATE INDEX delivery_requests_by_grid ON delivery_requests (grid_code, status);
CREATE INDEX delivery_requests_open ON delivery_requests (status, due_at);
CREATE INDEX delivery_requests_by_household ON delivery_requests (household_number, id);

-- Each step of a request (requested, allocated, out, delivered, failed) with its time.
CREATE TABLE delivery_steps (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES delivery_requests (id),
    status      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    by_user     TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX delivery_steps_by_request ON delivery_steps (request_id, id);
