-- Bulletins (信息发布): the daily public notice of a city's or county's command office — drafted
-- from the day's figures and the anonymised case texts, reviewed (edited) and published; the public
-- page lists the published ones. One per office and day. Append-only.
CREATE TABLE bulletins (
    id           BIGSERIAL PRIMARY KEY,
    region_code  TEXT COLLATE "C" NOT NULL,
    day          TEXT NOT NULL,            -- 'YYYY-MM-DD' (Beijing): the day the notice reports
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    status       TEXT NOT NULL,            -- draft | published
    drafted_by   TEXT NOT NULL,
    drafted_at   BIGINT NOT NULL,
    published_by TEXT,
    published_at BIGINT
);
CREATE UNIQUE INDEX bulletins_one_a_day ON bulletins (region_code, day);
CREATE INDEX bulletins_published ON bulletins (status, published_at);
