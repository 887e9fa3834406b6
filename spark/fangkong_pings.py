#!/usr/bin/env python3
"""The big-data push (大数据推送) on Apache Spark: risk-area visitors, spatio-temporal companions
(时空伴随者) and e-fence breaches over the day files of location pings, with the SQL of
spark/queries.sql (the same text DuckDB runs in spark/reference.py; the fangkong kernel returns the
same rows).

    python3 spark/fangkong_pings.py --pings DIR --lists DIR --out OUT [--query all] [--master local[2]]
    spark-submit --files spark/queries.sql spark/fangkong_pings.py --pings hdfs:///pings --lists ... --out hdfs:///out

Reads `pings-YYYY-MM-DD.parquet` (one file per Beijing day; only the days a query's window needs),
the lists (cases.csv, risk_area.csv, fences.csv; see load_lists), and writes one CSV per query,
rows sorted by all columns. Prints one JSON line per query (rows, seconds, sha256 of the CSV).
A query that returns no rows prints a warning; a case with no pings is reported.

The helpers (lists, day files, SQL text) are shared with spark/reference.py; pyspark is imported
only by the Spark job.
"""

import argparse
import csv
import hashlib
import io
import json
import os
import re
import sys
import time
from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))
DAY = 86_400
HOUR = 3_600
QUERIES = ("visitors", "fence", "companions")
# Output columns per query (analytics.md §3; the kernel's row structs use the same names).
COLUMNS = {
    "visitors": ("person_id", "first_ts", "last_ts", "n_pings", "n_cells"),
    "fence": ("person_id", "first_out_ts", "last_out_ts", "n_out_pings", "n_out_cells"),
    "companions": ("person_id", "case_id", "cell_id", "total_ov_s", "max_ov_s", "first_ov_start"),
}
# CompanionRule::CHENGDU_2021: a piece of presence is capped at an hour, a co-stay must exceed
# 10 minutes, and either party must have stayed more than 30 hours in the cell over the window.
RULE = {"cap": 3600, "min_costay": 600, "min_cell_stay": 108_000}
# Lists are small: bound what is read so a wrong path (a ping file given as a list) fails plainly.
MAX_LIST_BYTES = 64 << 20
MAX_LINE = 1024
DAY_FILE = re.compile(r"^pings-(\d{4})-(\d{2})-(\d{2})\.parquet$")
SQL_FILE = "queries.sql"


class Problem(Exception):
    """A problem with the input, said in plain words (Chinese, as the rest of fangkong)."""


def warn(message):
    print(f"警告：{message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Day files


def day_start_of(name):
    """Unix seconds of the Beijing midnight a day file's name gives, or None for other files."""
    m = DAY_FILE.match(name)
    if not m:
        return None
    try:
        day = datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=BEIJING)
    except ValueError:
        return None
    return int(day.timestamp())


def list_days(entries):
    """[(day_start, path)] sorted by day, from (name, path) pairs; other files are ignored."""
    days = []
    for name, path in entries:
        start = day_start_of(name)
        if start is not None:
            days.append((start, path))
    days.sort()
    return days


def local_days(directory):
    if not os.path.isdir(directory):
        raise Problem(f"位置数据目录 {directory} 不存在")
    return list_days((n, os.path.join(directory, n)) for n in os.listdir(directory))


def window_of(days):
    """The whole window the day files cover: [first midnight, last midnight + a day)."""
    if not days:
        raise Problem("位置数据目录里没有 pings-YYYY-MM-DD.parquet 日文件")
    return days[0][0], days[-1][0] + DAY


def days_for(days, lo, hi):
    """The day files whose day meets [lo, hi)."""
    return [path for start, path in days if start < hi and start + DAY > lo]


# ---------------------------------------------------------------------------------------------
# Lists


def read_small_text(path, opener=None):
    """The text of a list file, refused past MAX_LIST_BYTES (opener: for non-local paths)."""
    if opener is not None:
        return opener(path)
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise Problem(f"名单文件 {path} 无法读取：{e.strerror}") from None
    if size > MAX_LIST_BYTES:
        raise Problem(f"名单文件 {path} 超过 {MAX_LIST_BYTES >> 20} MiB，不像名单")
    with open(path, encoding="utf-8-sig") as f:
        return f.read(MAX_LIST_BYTES + 1)


def parse_list(text, path, required, optional=()):
    """Rows of a list CSV as dicts of ints. The header names the columns (`from`/`to` are accepted
    for `from_ts`/`to_ts`); lines starting with # are comments. A bad line is an error naming it."""
    aliases = {"from": "from_ts", "to": "to_ts"}
    lines = [(i + 1, l) for i, l in enumerate(text.splitlines())]
    lines = [(n, l) for n, l in lines if l.strip() and not l.lstrip().startswith("#")]
    if not lines:
        raise Problem(f"名单文件 {path} 是空的")
    for n, line in lines:
        if len(line) > MAX_LINE:
            raise Problem(f"名单文件 {path} 第 {n} 行超过 {MAX_LINE} 字节")
    header = [aliases.get(h.strip(), h.strip()) for h in next(csv.reader([lines[0][1]]))]
    missing = [c for c in required if c not in header]
    if missing:
        raise Problem(f"名单文件 {path} 缺少列 {','.join(missing)}（表头：{','.join(header)}）")
    wanted = [c for c in list(required) + list(optional) if c in header]
    rows = []
    for n, line in lines[1:]:
        fields = next(csv.reader([line]))
        if len(fields) != len(header):
            raise Problem(f"名单文件 {path} 第 {n} 行有 {len(fields)} 列，表头有 {len(header)} 列")
        row = {}
        for c in wanted:
            value = fields[header.index(c)].strip()
            try:
                row[c] = int(value)
            except ValueError:
                raise Problem(f"名单文件 {path} 第 {n} 行 {c} 不是整数：{value!r}") from None
        rows.append(row)
    return rows


def load_lists(lists_dir, window, read=None):
    """The three lists, checked. cases.csv `person_id[,from_ts,to_ts]` (a case without a window is
    infectious over the whole window); risk_area.csv `cell_id,from_ts,to_ts` (one window for all
    cells); fences.csv `person_id,home_cell,from_ts,to_ts`. A missing file leaves its query
    unavailable (None), never an empty list."""
    join = (lambda name: lists_dir.rstrip("/") + "/" + name) if read else (
        lambda name: os.path.join(lists_dir, name))
    exists = (lambda p: True) if read else os.path.exists
    t0, t1 = window
    lists = {"cases": None, "risk": None, "fences": None}

    path = join("cases.csv")
    if exists(path):
        seen = {}
        for r in parse_list(read_small_text(path, read), path, ["person_id"], ["from_ts", "to_ts"]):
            w = (r.get("from_ts", t0), r.get("to_ts", t1))
            if w[0] >= w[1]:
                raise Problem(f"名单文件 {path}：病例 {r['person_id']} 的传染期 [{w[0]}, {w[1]}) 为空")
            if seen.get(r["person_id"], w) != w:
                raise Problem(f"名单文件 {path}：病例 {r['person_id']} 出现两次，传染期不同")
            seen[r["person_id"]] = w
        if not seen:
            raise Problem(f"名单文件 {path} 没有病例")
        lists["cases"] = sorted((p, f, t) for p, (f, t) in seen.items())

    path = join("risk_area.csv")
    if exists(path):
        rows = parse_list(read_small_text(path, read), path, ["cell_id", "from_ts", "to_ts"])
        if not rows:
            raise Problem(f"名单文件 {path}：风险区域没有网格")
        windows = {(r["from_ts"], r["to_ts"]) for r in rows}
        if len(windows) != 1:
            raise Problem(f"名单文件 {path}：一个风险区域只能有一个时间窗（发现 {len(windows)} 个）")
        (lo, hi), = windows
        if lo >= hi:
            raise Problem(f"名单文件 {path}：风险区域的时间窗 [{lo}, {hi}) 为空")
        lists["risk"] = (sorted({r["cell_id"] for r in rows}), lo, hi)

    path = join("fences.csv")
    if exists(path):
        rows = parse_list(read_small_text(path, read), path,
                          ["person_id", "home_cell", "from_ts", "to_ts"])
        if not rows:
            raise Problem(f"名单文件 {path} 没有居家隔离人员")
        empty = [r["person_id"] for r in rows if r["from_ts"] >= r["to_ts"]]
        if empty:
            raise Problem(f"名单文件 {path}：{empty[0]} 的隔离时间窗为空")
        people = [r["person_id"] for r in rows]
        if len(set(people)) != len(people):
            raise Problem(f"名单文件 {path}：同一人出现多次（每人一个电子围栏）")
        lists["fences"] = sorted((r["person_id"], r["home_cell"], r["from_ts"], r["to_ts"])
                                 for r in rows)
    return lists


# ---------------------------------------------------------------------------------------------
# SQL


def sql_path():
    """queries.sql beside this script, or in the working directory (spark-submit --files)."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), SQL_FILE)
    return here if os.path.exists(here) else SQL_FILE


def load_sql(path=None):
    """{name: SQL text} from the `-- name: x` sections of queries.sql."""
    with open(path or sql_path(), encoding="utf-8") as f:
        text = f.read(1 << 20)
    parts = re.split(r"^-- name: *(\w+) *$", text, flags=re.M)
    queries = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        queries[name] = body.strip().rstrip(";").strip()
    for q in QUERIES:
        if q not in queries:
            raise Problem(f"{path or sql_path()} 缺少查询 {q}")
    return queries


def render(sql, params):
    """Substitutes every {{name}}; a name without a value is an error, not left in the text."""
    def one(m):
        key = m[1]
        if key not in params:
            raise Problem(f"SQL 参数 {key} 没有给出")
        return str(params[key])
    return re.sub(r"\{\{(\w+)\}\}", one, sql)


def params_for(query, lists, window, continuous=False, rule=None):
    """The parameters of one query and the [lo, hi) of pings it needs (for choosing day files)."""
    rule = dict(RULE, **(rule or {}))
    t0, t1 = window
    if query == "visitors":
        if lists["risk"] is None:
            raise Problem("没有风险区域名单（risk_area.csv）")
        cells, lo, hi = lists["risk"]
        return {"risk_cells": ", ".join(str(c) for c in cells),
                "risk_from": lo, "risk_to": hi}, (lo, hi)
    if query == "fence":
        if lists["fences"] is None:
            raise Problem("没有居家隔离名单（fences.csv）")
        lo = min(f[2] for f in lists["fences"])
        hi = max(f[3] for f in lists["fences"])
        return {"fence_from": lo, "fence_to": hi}, (lo, hi)
    if query == "companions":
        if lists["cases"] is None:
            raise Problem("没有病例名单（cases.csv）")
        return {"t0": t0, "t1": t1, "cap": rule["cap"], "min_costay": rule["min_costay"],
                "min_cell_stay": rule["min_cell_stay"],
                "costay_column": "max_ov_s" if continuous else "total_ov_s"}, (t0, t1)
    raise Problem(f"未知查询 {query}")


def hours_range(window, cap):
    """Hour starts covering [t0 - cap - 3600, t1 + 3600] (the hours table of queries.sql)."""
    t0, t1 = window
    lo = t0 - cap - HOUR
    lo -= lo % HOUR
    return lo, t1 + HOUR


# ---------------------------------------------------------------------------------------------
# Rows


def csv_text(query, rows):
    """The result as the CSV every engine writes: header, rows sorted by all columns, \\n endings.
    Its sha256 is the digest the benchmark compares (analytics.md §6)."""
    out = io.StringIO()
    out.write(",".join(COLUMNS[query]) + "\n")
    for row in sorted(tuple(int(v) for v in r) for r in rows):
        out.write(",".join(str(v) for v in row) + "\n")
    return out.getvalue()


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def check_rows(query, n):
    if n == 0:
        warn(f"查询 {query} 返回 0 行：名单、时间窗或位置数据可能不对")


# ---------------------------------------------------------------------------------------------
# Spark


def spark_session(args):
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("fangkong-pings")
    if args.master:
        builder = builder.master(args.master)
    if args.driver_memory:
        builder = builder.config("spark.driver.memory", args.driver_memory)
    builder = builder.config("spark.sql.shuffle.partitions", str(args.shuffle_partitions))
    builder = builder.config("spark.ui.enabled", "false")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def has_scheme(path):
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", path) is not None and not path.startswith("file://")


def hadoop_listing(spark, directory):
    """(name, path) of a directory on HDFS, S3 … through Hadoop's FileSystem."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(directory)
    fs = path.getFileSystem(conf)
    return [(s.getPath().getName(), s.getPath().toString()) for s in fs.listStatus(path)]


def hadoop_reader(spark):
    def read(path):
        lines = spark.sparkContext.textFile(path).take(1_000_001)
        if len(lines) > 1_000_000:
            raise Problem(f"名单文件 {path} 超过一百万行，不像名单")
        return "\n".join(lines)
    return read


def spark_tables(spark, lists, window, cap):
    from pyspark.sql.types import LongType, StructField, StructType

    def table(name, columns, rows):
        schema = StructType([StructField(c, LongType(), False) for c in columns])
        spark.createDataFrame(rows or [], schema).createOrReplaceTempView(name)

    table("cases", ["person_id", "from_ts", "to_ts"], lists["cases"])
    table("fences", ["person_id", "home_cell", "from_ts", "to_ts"], lists["fences"])
    lo, hi = hours_range(window, cap)
    spark.range(lo, hi + 1, HOUR).withColumnRenamed("id", "h").createOrReplaceTempView("hours")


def spark_pings(spark, paths):
    from pyspark.sql.types import LongType, StructField, StructType

    schema = StructType([StructField(c, LongType(), False) for c in ("person_id", "ts", "cell_id")])
    if not paths:
        warn("查询窗口内没有日文件")
        return spark.createDataFrame([], schema)
    return spark.read.schema(schema).parquet(*paths)


def spark_cases_without_pings(spark, paths):
    """Cases with no ping in the window: reported, never silently missing from the rows."""
    spark_pings(spark, paths).createOrReplaceTempView("pings")
    rows = spark.sql("SELECT person_id FROM cases WHERE person_id NOT IN "
                     "(SELECT DISTINCT p.person_id FROM pings p JOIN cases c "
                     "ON p.person_id = c.person_id)").collect()
    return sorted(r[0] for r in rows)


def write_result(df, query, out, local):
    """Local: one CSV file (rows in order through the driver). Cluster paths: Spark's writer,
    range-partitioned by all columns so the part files are in order."""
    cols = list(COLUMNS[query])
    ordered = df.select(*cols).orderBy(*cols)
    if local:
        os.makedirs(out, exist_ok=True)
        text = csv_text(query, (tuple(r) for r in ordered.toLocalIterator()))
        with open(os.path.join(out, f"{query}.csv"), "w", encoding="utf-8") as f:
            f.write(text)
        return text.count("\n") - 1, digest(text)
    ordered.write.mode("overwrite").option("header", True).csv(out.rstrip("/") + "/" + query)
    return ordered.count(), None


def main(argv=None):
    ap = argparse.ArgumentParser(description="大数据推送：在 Spark 上运行三个查询（与 DuckDB、fangkong 内核结果一致）")
    ap.add_argument("--pings", required=True, help="日文件目录（本地、hdfs://、s3a://）")
    ap.add_argument("--lists", required=True, help="名单目录：cases.csv、risk_area.csv、fences.csv")
    ap.add_argument("--out", required=True, help="结果目录：每个查询一个 CSV")
    ap.add_argument("--query", default="all", choices=("all",) + QUERIES)
    ap.add_argument("--continuous", action="store_true", help="时空伴随：连续共同停留（默认累计）")
    ap.add_argument("--master", help="例如 local[2]；spark-submit 时不用给")
    ap.add_argument("--driver-memory", help="例如 4g（仅在本进程启动 JVM 时生效）")
    ap.add_argument("--shuffle-partitions", type=int, default=8,
                    help="spark.sql.shuffle.partitions（集群上按总核数的 2 到 3 倍）")
    args = ap.parse_args(argv)
    try:
        return run(args)
    except Problem as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2


def run(args):
    spark = spark_session(args)
    remote = has_scheme(args.pings)
    days = list_days(hadoop_listing(spark, args.pings)) if remote else local_days(args.pings)
    window = window_of(days)
    read = hadoop_reader(spark) if has_scheme(args.lists) else None
    lists = load_lists(args.lists, window, read)
    sql = load_sql()
    spark_tables(spark, lists, window, RULE["cap"])
    queries = QUERIES if args.query == "all" else (args.query,)
    local = not has_scheme(args.out)
    for query in queries:
        if query == "visitors" and lists["risk"] is None or \
           query == "fence" and lists["fences"] is None or \
           query == "companions" and lists["cases"] is None:
            if args.query == "all":
                warn(f"名单目录里没有 {query} 需要的名单，跳过")
                continue
        params, (lo, hi) = params_for(query, lists, window, args.continuous)
        paths = days_for(days, lo, hi)
        started = time.perf_counter()
        spark_pings(spark, paths).createOrReplaceTempView("pings")
        df = spark.sql(render(sql[query], params))
        rows, sha = write_result(df, query, args.out, local)
        seconds = time.perf_counter() - started
        check_rows(query, rows)
        report = {"query": query, "engine": "spark", "rows": rows, "seconds": round(seconds, 3),
                  "day_files": len(paths), "sha256": sha}
        if query == "companions":
            report["cases_without_pings"] = spark_cases_without_pings(spark, paths)
            if report["cases_without_pings"]:
                warn(f"{len(report['cases_without_pings'])} 名病例在窗口内没有位置数据，没有伴随结果")
        print(json.dumps(report, ensure_ascii=False), flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
