-- Gatherings (聚集性活动报批): an organiser's filing with the office that approves it by size, the
-- decision with its words, and the participants listed by ID.

CREATE TABLE gatherings (
    id              BIGSERIAL PRIMARY KEY,
    region_code     TEXT COLLATE "C" NOT NULL,           -- where it is held (a village, grid or township)
    place           TEXT NOT NULL,           -- the address or venue
    kind            TEXT NOT NULL,           -- wedding | funeral | conference | trade | other
    title           TEXT NOT NULL,
    organiser       TEXT NOT NULL,
    organiser_phone TEXT NOT NULL,
    size            BIGINT NOT NULL,
    tables          BIGINT NOT NULL,
    event_date      TEXT NOT NULL,           -- Beijing date 'YYYY-MM-DD'
    level           TEXT NOT NULL,           -- township | county | city
    status          TEXT NOT NULL,           -- filed | approved | refused
    decision        TEXT NOT NULL DEFAULT '',-- the words of the approval or refusal
    decided_by      TEXT NOT NULL DEFAULT '',
    decided_at      BIGINT,
    filed_by        TEXT NOT NULL,
    filed_at        BIGINT NOT NULL
);
CREATE INDEX gatherings_by_region ON gatherings (region_code, event_date);

CREATE TABLE gathering_participants (
    gathering_id BIGINT NOT NULL REFERENCES gatherings (id),
    id_type      TEXT NOT NULL,
    id_number    TEXT NOT NULL,
    PRIMARY KEY (gathering_id, id_type, id_number)
);
