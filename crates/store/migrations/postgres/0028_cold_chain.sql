-- Cold-chain goods (冷链食品): imported batches with their origin and disinfection certificate,
-- their movements down the chain (cold store, distributor, market), and the tests of goods,
-- packaging and environment; a positive test raises the cold-chain alert (an environment
-- positive of early warning) for each market the batch reached, kept here per test and region.

CREATE TABLE cold_chain_batches (
    id              BIGSERIAL PRIMARY KEY,
    batch_no        TEXT NOT NULL,
    goods           TEXT NOT NULL,
    origin_country  TEXT NOT NULL,
    port            TEXT NOT NULL,
    quantity        BIGINT NOT NULL,         -- kg
    certificate_no  TEXT NOT NULL,         -- 消毒证明编号
    region_code     TEXT COLLATE "C" NOT NULL,       -- the county or township that registered it (scoping)
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX cold_chain_batches_by_no ON cold_chain_batches (batch_no);
CREATE INDEX cold_chain_batches_by_region ON cold_chain_batches (region_code);

CREATE TABLE cold_chain_movements (
    id              BIGSERIAL PRIMARY KEY,
    batch_id        BIGINT NOT NULL REFERENCES cold_chain_batches (id),
    node            TEXT NOT NULL,         -- cold_store | distributor | market
    place           TEXT NOT NULL,
    region_code     TEXT COLLATE "C" NOT NULL,       -- where the place is
    quantity        BIGINT NOT NULL,
    moved_on        TEXT NOT NULL,         -- 'YYYY-MM-DD'
    handlers        TEXT NOT NULL,         -- who handled it there, as written on the delivery note
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX cold_chain_movements_by_batch ON cold_chain_movements (batch_id, moved_on);
CREATE INDEX cold_chain_movements_by_region ON cold_chain_movements (region_code);

-- One sample's result; a retried result (the same sample number) writes nothing.
CREATE TABLE cold_chain_tests (
    id              BIGSERIAL PRIMARY KEY,
    batch_id        BIGINT NOT NULL REFERENCES cold_chain_batches (id),
    sample_no       TEXT NOT NULL,
    kind            TEXT NOT NULL,         -- goods | packaging | environment
    result          TEXT NOT NULL,         -- negative | positive
    sampled_on      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX cold_chain_tests_by_sample ON cold_chain_tests (batch_id, sample_no);

-- The alert a positive test raised in one region (a market the batch reached, else the batch's).
CREATE TABLE cold_chain_test_alerts (
    test_id         BIGINT NOT NULL REFERENCES cold_chain_tests (id),
    region_code     TEXT COLLATE "C" NOT NULL,
    alert_id        BIGINT NOT NULL,
    PRIMARY KEY (test_id, region_code)
);
