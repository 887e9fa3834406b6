-- The three queries of the big-data push (大数据推送), one SQL text each, run unchanged by DuckDB
-- (spark/reference.py) and Spark SQL (spark/fangkong_pings.py). Definitions: analytics.md §3, with
-- the generalisations of the contract (CONTRACT-pings.md): each case's infectious window clips its
-- episodes, and the rule's constants are parameters. The fangkong kernel (crates/pings) returns the
-- same rows; `fangkong bench analytics` and crates/fangkong/tests/engines.rs compare them.
--
-- Portability (analytics.md §6): standard window functions, least/greatest, IN (subquery),
-- integer %, CASE, CTEs; no engine-specific function. Sums are cast to BIGINT because DuckDB's sum
-- of BIGINT is HUGEINT. Windows order by (ts, cell_id): two pings of one person at the same second
-- are taken in cell order, as the kernel does.
--
-- Tables the runners register (all columns BIGINT):
--   pings(person_id, ts, cell_id)              the day files of the window
--   cases(person_id, from_ts, to_ts)           one row per case; its infectious window [from_ts, to_ts)
--   fences(person_id, home_cell, from_ts, to_ts)
--   hours(h)                                   hour starts (multiples of 3600) covering
--                                              [t0 - cap - 3600, t1 + 3600], for the candidate keys
-- Parameters, substituted as integer literals by the runners ({{name}}; a name the runner does
-- not give is an error, never left in the text):
--   risk_cells (a comma-separated list), risk_from, risk_to, fence_from, fence_to (the fences'
--   earliest start and latest end, for file pruning), t0, t1 (the companion window), cap,
--   min_costay, min_cell_stay, and costay_column (total_ov_s: cumulative; max_ov_s: continuous).

-- name: visitors
-- Q1, risk-area visitors: pings in the area's cells during its window, per person.
SELECT person_id,
       min(ts) AS first_ts,
       max(ts) AS last_ts,
       count(*) AS n_pings,
       count(DISTINCT cell_id) AS n_cells
FROM pings
WHERE cell_id IN ({{risk_cells}})
  AND ts >= {{risk_from}} AND ts < {{risk_to}}
GROUP BY person_id;

-- name: fence
-- Q3, e-fence breaches (the strict rule, FenceRule::STRICT): any ping of an isolated person during
-- the measure outside the home cell. The literal ts range only lets the engines skip row groups.
SELECT p.person_id,
       min(p.ts) AS first_out_ts,
       max(p.ts) AS last_out_ts,
       count(*) AS n_out_pings,
       count(DISTINCT p.cell_id) AS n_out_cells
FROM pings p
JOIN fences f ON p.person_id = f.person_id
WHERE p.ts >= {{fence_from}} AND p.ts < {{fence_to}}
  AND p.ts >= f.from_ts AND p.ts < f.to_ts
  AND p.cell_id <> f.home_cell
GROUP BY p.person_id;

-- name: companions
-- Q2, spatio-temporal companions (时空伴随者).
-- A run: a person's consecutive pings in one cell with gaps <= cap; each ping vouches for its cell
-- until the next ping, at most cap seconds; the person's last ping gives a zero-length piece.
-- Candidates: anyone with a ping on a (cell, hour) key of a case run's [start - cap, end]; a
-- superset of everyone whose run can meet a case run, so the result is exact.
-- An episode (a candidate's run meeting a case's run in the same cell) counts only inside the
-- case's [from_ts, to_ts); a zero-length episode (a zero-length run inside the other's run) counts
-- when its instant is inside that window. With every case's window covering [t0, t1) this is
-- analytics.md Q2 exactly.
WITH p AS (
  SELECT person_id, ts, cell_id FROM pings WHERE ts >= {{t0}} AND ts < {{t1}}
),
case_seq AS (
  SELECT person_id, ts, cell_id,
         lead(ts) OVER (PARTITION BY person_id ORDER BY ts, cell_id) AS next_ts,
         lag(ts) OVER (PARTITION BY person_id ORDER BY ts, cell_id) AS prev_ts,
         lag(cell_id) OVER (PARTITION BY person_id ORDER BY ts, cell_id) AS prev_cell
  FROM p
  WHERE person_id IN (SELECT person_id FROM cases)
),
case_grp AS (
  SELECT person_id, ts, cell_id, piece_end,
         sum(brk) OVER (PARTITION BY person_id ORDER BY ts, cell_id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run_no
  FROM (
    SELECT person_id, ts, cell_id,
           CASE WHEN next_ts IS NULL THEN ts ELSE least(next_ts, ts + {{cap}}) END AS piece_end,
           CASE WHEN prev_ts IS NULL OR prev_cell <> cell_id OR ts - prev_ts > {{cap}}
                THEN 1 ELSE 0 END AS brk
    FROM case_seq
  ) b
),
case_runs AS (
  SELECT person_id, cell_id, min(ts) AS start_ts, max(piece_end) AS end_ts
  FROM case_grp
  GROUP BY person_id, cell_id, run_no
),
case_keys AS (
  SELECT DISTINCT r.cell_id, h.h
  FROM case_runs r
  JOIN hours h ON h.h + 3600 > r.start_ts - {{cap}} AND h.h <= r.end_ts
),
cand AS (
  SELECT DISTINCT p.person_id
  FROM p
  JOIN case_keys k ON p.cell_id = k.cell_id AND p.ts - p.ts % 3600 = k.h
),
cand_seq AS (
  SELECT person_id, ts, cell_id,
         lead(ts) OVER (PARTITION BY person_id ORDER BY ts, cell_id) AS next_ts,
         lag(ts) OVER (PARTITION BY person_id ORDER BY ts, cell_id) AS prev_ts,
         lag(cell_id) OVER (PARTITION BY person_id ORDER BY ts, cell_id) AS prev_cell
  FROM p
  WHERE person_id IN (SELECT person_id FROM cand)
),
cand_grp AS (
  SELECT person_id, ts, cell_id, piece_end,
         sum(brk) OVER (PARTITION BY person_id ORDER BY ts, cell_id
                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run_no
  FROM (
    SELECT person_id, ts, cell_id,
           CASE WHEN next_ts IS NULL THEN ts ELSE least(next_ts, ts + {{cap}}) END AS piece_end,
           CASE WHEN prev_ts IS NULL OR prev_cell <> cell_id OR ts - prev_ts > {{cap}}
                THEN 1 ELSE 0 END AS brk
    FROM cand_seq
  ) b
),
cand_runs AS (
  SELECT person_id, cell_id, min(ts) AS start_ts, max(piece_end) AS end_ts
  FROM cand_grp
  GROUP BY person_id, cell_id, run_no
),
episodes AS (
  SELECT r.person_id, c.person_id AS case_id, r.cell_id,
         greatest(r.start_ts, c.start_ts) AS ov_start,
         least(r.end_ts, c.end_ts) AS ov_end,
         greatest(r.start_ts, c.start_ts, w.from_ts) AS lo,
         least(r.end_ts, c.end_ts, w.to_ts) AS hi,
         w.from_ts, w.to_ts
  FROM cand_runs r
  JOIN case_runs c
    ON r.cell_id = c.cell_id
   AND r.start_ts < c.end_ts AND c.start_ts < r.end_ts
   AND r.person_id <> c.person_id
  JOIN cases w ON w.person_id = c.person_id
),
agg AS (
  SELECT person_id, case_id, cell_id,
         CAST(sum(hi - lo) AS BIGINT) AS total_ov_s,
         max(hi - lo) AS max_ov_s,
         min(lo) AS first_ov_start
  FROM episodes
  WHERE lo < hi
     OR (ov_start = ov_end AND ov_start >= from_ts AND ov_start < to_ts)
  GROUP BY person_id, case_id, cell_id
),
person_cell AS (
  SELECT person_id, cell_id, CAST(sum(end_ts - start_ts) AS BIGINT) AS cell_s
  FROM cand_runs
  GROUP BY person_id, cell_id
),
case_cell AS (
  SELECT person_id, cell_id, CAST(sum(end_ts - start_ts) AS BIGINT) AS cell_s
  FROM case_runs
  GROUP BY person_id, cell_id
)
SELECT a.person_id, a.case_id, a.cell_id, a.total_ov_s, a.max_ov_s, a.first_ov_start
FROM agg a
JOIN person_cell pc ON pc.person_id = a.person_id AND pc.cell_id = a.cell_id
JOIN case_cell cc ON cc.person_id = a.case_id AND cc.cell_id = a.cell_id
WHERE a.{{costay_column}} > {{min_costay}}
  AND (pc.cell_s > {{min_cell_stay}} OR cc.cell_s > {{min_cell_stay}});
