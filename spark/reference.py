#!/usr/bin/env python3
"""The reference engines of the big-data push on the same day files: DuckDB (the SQL of
spark/queries.sql, unchanged), Polars (a lazy-API translation, streaming engine) and, when asked,
Spark local[2] (the same SQL). For each engine and query: setup time, the cold run, the best of N
warm runs, peak memory, rows and the sha256 of the sorted rows (the CSV every engine writes:
header, rows sorted by all columns). One JSON document on stdout.

    python3 spark/reference.py --pings DIR --lists DIR [--engines duckdb,polars,spark]
        [--queries visitors,fence,companions] [--runs 3] [--continuous] [--out-dir DIR]

Each (engine, query) runs in a fresh worker process so its peak memory is its own. Peak memory is
the larger of (a) the worker process tree's summed VmRSS, sampled from /proc every 100 ms (this
counts Spark's JVM, a child of the worker), and (b) the worker's ru_maxrss from wait4 (the exact
peak of the largest single process, which sampling can miss). A worker whose tree passes
--max-rss-mb, or that runs past --timeout, is killed (its own process group, which this script
started) and reported as such, never silently dropped. A query returning no rows prints a warning.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fangkong_pings as fp  # noqa: E402

ENGINES = ("duckdb", "polars", "spark")
FLOOR = "floor"


# ---------------------------------------------------------------------------------------------
# Workers: one engine, one query, in this process.


def setup_duckdb(paths, lists, window, threads):
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    if paths:
        files = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
        con.execute(f"CREATE VIEW pings AS SELECT person_id, ts, cell_id FROM read_parquet([{files}])")
    else:
        fp.warn("查询窗口内没有日文件")
        con.execute("CREATE TABLE pings (person_id BIGINT, ts BIGINT, cell_id BIGINT)")

    def table(name, columns, rows):
        rows = rows or []
        data = {c: pa.array([r[i] for r in rows], pa.int64()) for i, c in enumerate(columns)}
        con.register(f"{name}_arrow", pa.table(data))
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
        con.unregister(f"{name}_arrow")

    table("cases", ["person_id", "from_ts", "to_ts"], lists["cases"])
    table("fences", ["person_id", "home_cell", "from_ts", "to_ts"], lists["fences"])
    lo, hi = fp.hours_range(window, fp.RULE["cap"])
    con.execute(f"CREATE TABLE hours AS SELECT range AS h FROM range({lo}, {hi + 1}, {fp.HOUR})")
    return con


def run_duckdb(con, sql):
    return con.execute(sql).fetchall()


def polars_query(query, paths, lists, params, continuous):
    """The lazy-API translation of queries.sql (written separately: a partial independent check
    of the definitions, analytics.md §6)."""
    import polars as pl

    schema = {"person_id": pl.Int64, "ts": pl.Int64, "cell_id": pl.Int64}
    if paths:
        scan = pl.scan_parquet(paths).select(list(schema))
    else:
        fp.warn("查询窗口内没有日文件")
        scan = pl.LazyFrame(schema=schema)
    ts, cell, person = pl.col("ts"), pl.col("cell_id"), pl.col("person_id")

    if query == "visitors":
        cells, lo, hi = lists["risk"]
        return (scan.filter(cell.is_in(cells) & (ts >= lo) & (ts < hi))
                .group_by("person_id")
                .agg(first_ts=ts.min(), last_ts=ts.max(), n_pings=pl.len().cast(pl.Int64),
                     n_cells=cell.n_unique().cast(pl.Int64)))

    if query == "fence":
        f = lists["fences"]
        fences = pl.LazyFrame({"person_id": [r[0] for r in f], "home_cell": [r[1] for r in f],
                               "from_ts": [r[2] for r in f], "to_ts": [r[3] for r in f]},
                              schema={k: pl.Int64 for k in ("person_id", "home_cell", "from_ts", "to_ts")})
        return (scan.filter((ts >= params["fence_from"]) & (ts < params["fence_to"]))
                .join(fences, on="person_id")
                .filter((ts >= pl.col("from_ts")) & (ts < pl.col("to_ts")) & (cell != pl.col("home_cell")))
                .group_by("person_id")
                .agg(first_out_ts=ts.min(), last_out_ts=ts.max(), n_out_pings=pl.len().cast(pl.Int64),
                     n_out_cells=cell.n_unique().cast(pl.Int64)))

    cap = params["cap"]
    c = lists["cases"]
    cases = pl.LazyFrame({"case_id": [r[0] for r in c], "from_ts": [r[1] for r in c],
                          "to_ts": [r[2] for r in c]},
                         schema={"case_id": pl.Int64, "from_ts": pl.Int64, "to_ts": pl.Int64})
    p = scan.filter((ts >= params["t0"]) & (ts < params["t1"]))

    def runs(lf):
        # A global sort by (person, ts, cell) and shifts masked at person changes stand in for
        # the SQL's windows.
        lf = lf.sort(["person_id", "ts", "cell_id"])
        same_prev = (person == person.shift(1)).fill_null(False)
        same_next = (person == person.shift(-1)).fill_null(False)
        next_ts = pl.when(same_next).then(ts.shift(-1))
        piece_end = pl.when(next_ts.is_null()).then(ts).otherwise(pl.min_horizontal(next_ts, ts + cap))
        brk = (~same_prev) | (cell != cell.shift(1)).fill_null(True) | ((ts - ts.shift(1)) > cap).fill_null(True)
        return (lf.with_columns(piece_end=piece_end, run_no=brk.cast(pl.Int64).cum_sum())
                .group_by(["person_id", "cell_id", "run_no"])
                .agg(start_ts=ts.min(), end_ts=pl.col("piece_end").max())
                .drop("run_no"))

    case_runs = runs(p.join(cases.select(pl.col("case_id").alias("person_id")), on="person_id", how="semi")).cache()
    start, end = pl.col("start_ts"), pl.col("end_ts")
    keys = (case_runs
            .select(cell, h=pl.int_ranges((start - cap) - (start - cap) % 3600, end - end % 3600 + 1, 3600))
            .explode("h").unique())
    cand = (p.with_columns(h=ts - ts % 3600).join(keys, on=["cell_id", "h"], how="semi")
            .select(person).unique())
    cand_runs = runs(p.join(cand, on="person_id", how="semi")).cache()
    cr = case_runs.select(pl.col("person_id").alias("case_id"), cell,
                          pl.col("start_ts").alias("c_start"), pl.col("end_ts").alias("c_end"))
    ov_s = pl.max_horizontal(start, pl.col("c_start"))
    ov_e = pl.min_horizontal(end, pl.col("c_end"))
    lo = pl.max_horizontal(start, pl.col("c_start"), pl.col("from_ts"))
    hi = pl.min_horizontal(end, pl.col("c_end"), pl.col("to_ts"))
    episodes = (cand_runs.join(cr, on="cell_id")
                .filter((start < pl.col("c_end")) & (pl.col("c_start") < end) & (person != pl.col("case_id")))
                .join(cases, on="case_id")
                .with_columns(ov_s=ov_s, ov_e=ov_e, lo=lo, hi=hi)
                .filter((pl.col("lo") < pl.col("hi")) |
                        ((pl.col("ov_s") == pl.col("ov_e")) & (pl.col("ov_s") >= pl.col("from_ts"))
                         & (pl.col("ov_s") < pl.col("to_ts")))))
    agg = (episodes.group_by(["person_id", "case_id", "cell_id"])
           .agg(total_ov_s=(pl.col("hi") - pl.col("lo")).sum(), max_ov_s=(pl.col("hi") - pl.col("lo")).max(),
                first_ov_start=pl.col("lo").min()))
    person_cell = cand_runs.group_by(["person_id", "cell_id"]).agg(p_cell_s=(end - start).sum())
    case_cell = (case_runs.group_by(["person_id", "cell_id"]).agg(c_cell_s=(end - start).sum())
                 .rename({"person_id": "case_id"}))
    costay = "max_ov_s" if continuous else "total_ov_s"
    return (agg.join(person_cell, on=["person_id", "cell_id"])
            .join(case_cell, on=["case_id", "cell_id"])
            .filter((pl.col(costay) > params["min_costay"]) &
                    ((pl.col("p_cell_s") > params["min_cell_stay"]) | (pl.col("c_cell_s") > params["min_cell_stay"]))))


def run_polars(plan, query):
    return plan.select(list(fp.COLUMNS[query])).collect(engine="streaming").rows()


def worker(args):
    """One engine, one query: setup, a cold run, N warm runs; the result as JSON in a file."""
    days = fp.local_days(args.pings)
    window = fp.window_of(days)
    lists = fp.load_lists(args.lists, window)
    query, engine = args.worker_query, args.worker_engine
    if query == FLOOR:
        return floor_worker(args, [path for _, path in days])
    params, (lo, hi) = fp.params_for(query, lists, window, args.continuous)
    paths = fp.days_for(days, lo, hi)
    sql = fp.render(fp.load_sql()[query], params)

    t = time.perf_counter()
    if engine == "duckdb":
        con = setup_duckdb(paths, lists, window, args.threads)
        once = lambda: run_duckdb(con, sql)  # noqa: E731
    elif engine == "polars":
        os.environ.setdefault("POLARS_MAX_THREADS", str(args.threads))
        plan = polars_query(query, paths, lists, params, args.continuous)
        once = lambda: run_polars(plan, query)  # noqa: E731
    else:
        ns = argparse.Namespace(master=f"local[{args.threads}]", driver_memory=args.spark_driver_memory,
                                shuffle_partitions=args.threads * 4)
        spark = fp.spark_session(ns)
        spark.sparkContext.setLogLevel("ERROR")
        fp.spark_tables(spark, lists, window, fp.RULE["cap"])
        fp.spark_pings(spark, paths).createOrReplaceTempView("pings")
        once = lambda: [tuple(r) for r in spark.sql(sql).collect()]  # noqa: E731
    setup = time.perf_counter() - t

    times, rows = [], None
    for _ in range(args.runs + 1):
        t = time.perf_counter()
        rows = once()
        times.append(time.perf_counter() - t)
    text = fp.csv_text(query, rows)
    if args.out_dir:
        os.makedirs(args.out_dir, exist_ok=True)
        with open(os.path.join(args.out_dir, f"{query}-{engine}.csv"), "w", encoding="utf-8") as f:
            f.write(text)
    n = len(rows)
    fp.check_rows(query, n)
    result = {"setup_s": round(setup, 3), "cold_s": round(times[0], 3),
              "warm_s": [round(x, 3) for x in times[1:]], "best_s": round(min(times[1:] or times), 3),
              "rows": n, "sha256": fp.digest(text), "day_files": len(paths)}
    with open(args.result_file, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


def floor_worker(args, paths):
    """The decode floor (analytics.md §5): DuckDB summing every value of the three columns."""
    con = setup_duckdb(paths, {"cases": [], "fences": []}, (0, 1), args.threads)
    times = []
    for _ in range(args.runs + 1):
        t = time.perf_counter()
        con.execute("SELECT sum(person_id), sum(ts), sum(cell_id) FROM pings").fetchall()
        times.append(time.perf_counter() - t)
    with open(args.result_file, "w", encoding="utf-8") as f:
        json.dump({"cold_s": round(times[0], 3), "warm_s": [round(x, 3) for x in times[1:]],
                   "best_s": round(min(times[1:]), 3), "day_files": len(paths)}, f)
    return 0


# ---------------------------------------------------------------------------------------------
# The parent: one worker per (engine, query), measured from outside.


def children_of(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    return kids


def tree_rss_kb(root):
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
        stack += children_of(pid)
    return total


def load1():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def measure(args, engine, query):
    """Runs one worker; returns its result with peak memory, or why it failed."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        result_file = tmp.name
    cmd = [sys.executable, os.path.abspath(__file__), "--pings", args.pings, "--lists", args.lists,
           "--runs", str(args.runs), "--threads", str(args.threads),
           "--spark-driver-memory", args.spark_driver_memory,
           "--worker-engine", engine, "--worker-query", query, "--result-file", result_file]
    if args.continuous:
        cmd.append("--continuous")
    if args.out_dir:
        cmd += ["--out-dir", args.out_dir]
    entry = {"engine": engine, "query": query, "load1_before": load1()}
    started = time.monotonic()
    proc = subprocess.Popen(cmd, start_new_session=True)
    peak_kb, killed = 0, None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        peak_kb = max(peak_kb, tree_rss_kb(proc.pid))
        if peak_kb > args.max_rss_mb * 1024:
            killed = f"内存超过 {args.max_rss_mb} MB，已终止"
        elif time.monotonic() - started > args.timeout:
            killed = f"超过 {args.timeout} 秒，已终止"
        if killed:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.1)
    peak_kb = max(peak_kb, usage.ru_maxrss)
    entry["peak_rss_mb"] = round(peak_kb / 1024, 1)
    entry["wall_s"] = round(time.monotonic() - started, 2)
    code = os.waitstatus_to_exitcode(status)
    try:
        if killed:
            entry["error"] = killed
        elif code != 0:
            entry["error"] = f"进程退出码 {code}"
        else:
            with open(result_file, encoding="utf-8") as f:
                entry.update(json.load(f))
    except (OSError, ValueError) as e:
        entry["error"] = f"没有结果：{e}"
    finally:
        try:
            os.unlink(result_file)
        except OSError:
            pass
    if "error" in entry:
        fp.warn(f"{engine} {query}：{entry['error']}")
    return entry


def main(argv=None):
    ap = argparse.ArgumentParser(description="参照引擎（DuckDB、Polars、Spark）在同一批日文件上的用时、内存和结果摘要")
    ap.add_argument("--pings", required=True)
    ap.add_argument("--lists", required=True)
    ap.add_argument("--engines", default="duckdb,polars")
    ap.add_argument("--queries", default=",".join(fp.QUERIES))
    ap.add_argument("--runs", type=int, default=3, help="热运行次数（另有一次冷运行）")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--continuous", action="store_true")
    ap.add_argument("--out-dir", help="把每个引擎的结果 CSV 写到这里（query-engine.csv）")
    ap.add_argument("--timeout", type=int, default=3600, help="每个查询每个引擎的秒数上限")
    ap.add_argument("--max-rss-mb", type=int, default=0, help="内存上限（默认：物理内存的 75%%）")
    ap.add_argument("--spark-driver-memory", default="4g")
    ap.add_argument("--worker-engine", choices=ENGINES, help=argparse.SUPPRESS)
    ap.add_argument("--floor", action="store_true",
                    help="另测解码下限：DuckDB 对三列所有值求和（analytics.md §5）")
    ap.add_argument("--worker-query", choices=fp.QUERIES + (FLOOR,), help=argparse.SUPPRESS)
    ap.add_argument("--result-file", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.runs = max(1, min(args.runs, 20))
    try:
        if args.worker_engine:
            return worker(args)
        engines = [e for e in args.engines.split(",") if e]
        queries = [q for q in args.queries.split(",") if q]
        for e in engines:
            if e not in ENGINES:
                raise fp.Problem(f"未知引擎 {e}（可选 {','.join(ENGINES)}）")
        for q in queries:
            if q not in fp.QUERIES:
                raise fp.Problem(f"未知查询 {q}（可选 {','.join(fp.QUERIES)}）")
        if args.max_rss_mb <= 0:
            args.max_rss_mb = int(mem_total_mb() * 0.75)
        # Check the inputs once here, so a bad list fails before any engine starts.
        window = fp.window_of(fp.local_days(args.pings))
        lists = fp.load_lists(args.lists, window)
        for q in queries:
            fp.params_for(q, lists, window, args.continuous)
        results = [measure(args, e, q) for q in queries for e in engines]
        if args.floor:
            results.append(measure(args, "duckdb", FLOOR))
        identical = {}
        for q in queries:
            digests = {r["sha256"] for r in results if r["query"] == q and "sha256" in r}
            identical[q] = len(digests) == 1 and all("sha256" in r for r in results if r["query"] == q)
        print(json.dumps({"pings": args.pings, "runs": args.runs, "threads": args.threads,
                          "rss_method": "max(process tree VmRSS sampled every 100 ms, wait4 ru_maxrss)",
                          "results": results, "identical": identical}, ensure_ascii=False, indent=1))
        # The document is printed either way; the exit status says whether every run gave rows.
        return 1 if any("error" in r for r in results) else 0
    except fp.Problem as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2


def mem_total_mb():
    try:
        with open("/proc/meminfo") as f:
            return int(f.readline().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        return 8192


if __name__ == "__main__":
    sys.exit(main())
