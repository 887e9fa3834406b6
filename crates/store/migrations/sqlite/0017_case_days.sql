-- The epidemic curve's counters (疫情曲线计数): cases per (region, basis, day, kind), moved in the
-- same transaction as every case write (insert, kind change, report, exclusion, bulk load), so the
-- curve and the map never count cases. basis is domain::command::curve::CurveBasis ('onset' |
-- 'report'); day is the Beijing date 'YYYY-MM-DD' the rule of domain::command::curve::case_day
-- gives: onset = the onset date, else the first positive sampling, else the day found; report =
-- the 2-hour report, else the day found. Excluded cases are not counted. Append-only.
CREATE TABLE case_day_counts (
    region_code TEXT NOT NULL,
    basis       TEXT NOT NULL,
    day         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (region_code, basis, day, kind)
);
-- The map's "new today" per child reads one day across a jurisdiction.
CREATE INDEX case_day_counts_by_day ON case_day_counts (basis, day, region_code);

INSERT INTO case_day_counts (region_code, basis, day, kind, n)
SELECT region_code, 'onset',
       COALESCE(NULLIF(onset_date, ''), date(COALESCE(first_positive_at, found_at) + 28800, 'unixepoch')),
       kind, COUNT(*)
FROM cases WHERE status <> 'excluded' GROUP BY 1, 2, 3, 4;
INSERT INTO case_day_counts (region_code, basis, day, kind, n)
SELECT region_code, 'report', date(COALESCE(reported_at, found_at) + 28800, 'unixepoch'), kind, COUNT(*)
FROM cases WHERE status <> 'excluded' GROUP BY 1, 2, 3, 4;
