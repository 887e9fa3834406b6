//! The consistency audit's queries (`fangkong check`): one query per cross-module invariant, each
//! listing the records that break it by a label without personal data (a case number, a lead or
//! measure number, a risk area's public name). The words that explain each invariant live in
//! `app::check`.

use sqlx::AssertSqlSafe;

use crate::{Store, StoreResult, with_pool};

/// A fact one module learns that another must act on. Each is checked over records older than a
/// cutoff, so work the background passes have not yet had time to carry is not reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invariant {
    /// Every open case's person has a red code (cases → health codes).
    OpenCaseIsRed,
    /// Every active close contact has a measure or a lead (investigation → leads, isolation).
    CloseContactIsHandled,
    /// No discharged case still waits for an ambulance (investigation → transfers).
    DischargedCaseDoesNotWait,
    /// A person under a measure (in a room, at home, in hospital) has no open lead saying
    /// "not yet found" (isolation → leads).
    ControlledPersonsLeadIsLanded,
    /// Every person the measures call hospitalised has an open admission (isolation → hospitals).
    HospitalisedHasBed,
    /// Every risk area's clean-day clock starts at or after its latest infection found inside
    /// since it was designated, whichever channel found it (investigation → risk areas).
    RiskAreaClockCountsLatestInfection,
    /// Every open initial-screen case that mass testing opened owes its single-tube recheck
    /// (mass testing → investigation → rechecks) — unless a recheck already came back positive
    /// (the case came from the recheck: nothing more is owed to testing, the CDC confirms).
    InitialScreenCaseHasRecheck,
    /// Every person big data pushed with a document number has the push's code fact (leads →
    /// health codes: the pop-up applies from the push).
    PushedPersonHasCodeFact,
    /// Every open lead of a person who moved grid is queued in their registered grid, unless it was
    /// routed after the move (register → leads).
    OpenLeadFollowsMove,
    /// Every current measure of a person who moved grid lies in their registered grid (register →
    /// isolation: a home measure is the grid worker's where the person lives).
    MeasureFollowsMove,
    /// In an open screening round no grid counts more of its residents swabbed than its target
    /// (register → mass testing: a move takes the person's place in the target along).
    RoundSwabbedWithinTarget,
    /// The situation picture's counters (people under measures, codes by colour, checkpoint
    /// passages per day) equal the records they count (every module → command).
    SituationCountersMatchRecords,
    /// The epidemic curve's counters equal the cases per (region, basis, day, kind) (investigation
    /// → the command office's curve and map).
    CaseDaysMatchCases,
    /// Each region's command state is its newest switch's, and a region in emergency has the
    /// checklist its switch opened (the switch → the picture, the late list).
    CommandStateMatchesLastSwitch,
    /// Every positive pool settled has raised its alert (mass testing → early warning).
    PositivePoolRaisedAlert,
    /// The sentinels' day counters — a pharmacy's sales and flagged IDs, a fever clinic's visits
    /// per Beijing day — equal their records (the sentinels → the picture, the spike triggers and
    /// the daily report).
    SentinelCountersMatchRecords,
    /// Each warehouse's stock on hand of an item equals the sum of its ledger's movements (the
    /// reserves' ledger → days of cover, the picture, the emergency checklist).
    ReserveStockMatchesLedger,
    /// Every supply pass's number is its county's code and its serial (6 digits); each county's
    /// serials run from 000000 without a gap to its counter; every vehicle let through at a
    /// checkpoint refers to a pass with its plate and number (the whitelist → the checkpoints).
    SupplyPassesNumberedAndChecked,
    /// Every delivery request's status is its newest recorded step's, and a request allocated or
    /// out for delivery has its collection point and slot (households → deliveries → the late
    /// list).
    DeliveryFollowsItsSteps,
    /// Every second dose follows a first dose of the same person by at least 21 days, and every
    /// booster follows the primary series by at least 3 months (vaccination's interval rules hold
    /// over every path that writes doses: the form, the import, the demo).
    VaccineDosesKeepIntervals,
    /// Every positive test of a cold-chain batch (goods, packaging, environment) has raised its
    /// alert (cold chain → early warning).
    ColdChainPositiveRaisedAlert,
    /// Every person a finished big-data job found is accounted for: its counters equal its result
    /// rows by outcome, and each result's lead (or alarm) exists with the finding's key (analytics
    /// → leads, isolation).
    AnalyticsFindingsLanded,
}

/// The sentinels' counter check up to the visit's day expression (see
/// [`Invariant::SentinelCountersMatchRecords`]).
macro_rules! sentinel_counters_sql {
    () => {
        "SELECT what || ' ' || k AS label FROM ( \
           SELECT '药店计数' AS what, CAST(pharmacy_id AS TEXT) || ' ' || day AS k, \
                  SUM(s) AS s, SUM(f) AS f FROM ( \
             SELECT pharmacy_id, day, sales AS s, flagged_ids AS f FROM pharmacy_day_counts \
             UNION ALL SELECT pharmacy_id, day, -COUNT(*), \
               -SUM(CASE WHEN id_flag <> '' THEN 1 ELSE 0 END) FROM pharmacy_sales \
             GROUP BY pharmacy_id, day) p GROUP BY 1, 2 \
           UNION ALL \
           SELECT '发热门诊计数', CAST(clinic_id AS TEXT) || ' ' || day, SUM(v), 0 FROM ( \
             SELECT clinic_id, day, visits AS v FROM fever_clinic_days \
             UNION ALL SELECT clinic_id, "
    };
}

/// The rest of [`sentinel_counters_sql!`] after the day expression.
macro_rules! sentinel_counters_tail {
    () => {
        " AS day, -COUNT(*) FROM fever_visits GROUP BY 1, 2) c GROUP BY 1, 2 \
         ) d WHERE (s <> 0 OR f <> 0) AND CAST($1 AS BIGINT) IS NOT NULL"
    };
}

/// The serial and passage halves of [`Invariant::SupplyPassesNumberedAndChecked`] (one text for
/// both backends).
macro_rules! supply_pass_serials_sql {
    () => {
        "SELECT '流水号 ' || c.county_code AS label FROM supply_pass_serials c \
         LEFT JOIN (SELECT county_code, COUNT(*) AS n, COUNT(DISTINCT serial) AS d, MIN(serial) AS lo, \
           MAX(serial) AS hi FROM supply_passes GROUP BY county_code) p ON p.county_code = c.county_code \
         WHERE COALESCE(p.n, 0) <> c.next_serial OR COALESCE(p.d, 0) <> c.next_serial \
           OR (p.n > 0 AND (p.lo <> 0 OR p.hi <> c.next_serial - 1)) \
         UNION ALL SELECT '流水号 ' || p.county_code FROM supply_passes p WHERE NOT EXISTS ( \
           SELECT 1 FROM supply_pass_serials c WHERE c.county_code = p.county_code) \
         UNION ALL SELECT '车辆通行 ' || CAST(v.id AS TEXT) FROM supply_vehicle_passages v \
         WHERE v.decision = 'pass' AND NOT EXISTS (SELECT 1 FROM supply_passes p \
           WHERE p.id = v.pass_id AND p.number = v.pass_number AND p.plate = v.plate AND p.kind = 'vehicle')"
    };
}

/// The vaccination check up to the second dose's interval (see
/// [`Invariant::VaccineDosesKeepIntervals`]).
macro_rules! vaccine_intervals_sql {
    () => {
        "SELECT '接种记录#' || d.id AS label FROM vaccine_doses d \
         WHERE d.dose_kind = 'second' AND CAST($1 AS BIGINT) IS NOT NULL AND NOT EXISTS ( \
           SELECT 1 FROM vaccine_doses f WHERE f.resident_id = d.resident_id \
           AND f.dose_kind = 'first' AND "
    };
}

/// The middle of the vaccination check: the booster's interval follows.
macro_rules! vaccine_intervals_middle {
    () => {
        ") UNION SELECT '接种记录#' || b.id FROM vaccine_doses b \
         WHERE b.dose_kind = 'booster' AND NOT EXISTS ( \
           SELECT 1 FROM vaccine_doses p WHERE p.resident_id = b.resident_id \
           AND (p.dose_kind = 'second' OR (p.dose_kind = 'first' AND p.product = 'ad5')) AND "
    };
}

impl Invariant {
    pub const ALL: [Invariant; 22] = [
        Invariant::OpenCaseIsRed,
        Invariant::CloseContactIsHandled,
        Invariant::DischargedCaseDoesNotWait,
        Invariant::ControlledPersonsLeadIsLanded,
        Invariant::HospitalisedHasBed,
        Invariant::RiskAreaClockCountsLatestInfection,
        Invariant::InitialScreenCaseHasRecheck,
        Invariant::PushedPersonHasCodeFact,
        Invariant::OpenLeadFollowsMove,
        Invariant::MeasureFollowsMove,
        Invariant::RoundSwabbedWithinTarget,
        Invariant::SituationCountersMatchRecords,
        Invariant::CaseDaysMatchCases,
        Invariant::CommandStateMatchesLastSwitch,
        Invariant::PositivePoolRaisedAlert,
        Invariant::SentinelCountersMatchRecords,
        Invariant::ReserveStockMatchesLedger,
        Invariant::SupplyPassesNumberedAndChecked,
        Invariant::DeliveryFollowsItsSteps,
        Invariant::VaccineDosesKeepIntervals,
        Invariant::ColdChainPositiveRaisedAlert,
        Invariant::AnalyticsFindingsLanded,
    ];

    /// A query with one column, `label`, one row per record breaking the invariant; `$1` is the
    /// cutoff (records that changed at or after it are still being carried by the passes).
    /// (The curve's days are Beijing dates, written per backend: `postgres`.)
    fn violations_sql(self, postgres: bool) -> &'static str {
        match self {
            // Counters move in the case's own transaction: no cutoff (`$1` only keeps the shape).
            Invariant::CaseDaysMatchCases if postgres => {
                "SELECT d.region_code || ' ' || d.basis || ' ' || d.day || ' ' || d.kind AS label FROM ( \
                   SELECT region_code, basis, day, kind, n FROM case_day_counts \
                   UNION ALL SELECT region_code, 'onset', COALESCE(NULLIF(onset_date, ''), \
                     to_char(to_timestamp(COALESCE(first_positive_at, found_at) + 28800) AT TIME ZONE 'UTC', 'YYYY-MM-DD') COLLATE \"C\"), \
                     kind, -1 FROM cases WHERE status <> 'excluded' AND CAST($1 AS BIGINT) IS NOT NULL \
                   UNION ALL SELECT region_code, 'report', \
                     to_char(to_timestamp(COALESCE(reported_at, found_at) + 28800) AT TIME ZONE 'UTC', 'YYYY-MM-DD') COLLATE \"C\", \
                     kind, -1 FROM cases WHERE status <> 'excluded' \
                 ) d GROUP BY d.region_code, d.basis, d.day, d.kind HAVING SUM(d.n) <> 0"
            }
            Invariant::CaseDaysMatchCases => {
                "SELECT d.region_code || ' ' || d.basis || ' ' || d.day || ' ' || d.kind AS label FROM ( \
                   SELECT region_code, basis, day, kind, n FROM case_day_counts \
                   UNION ALL SELECT region_code, 'onset', COALESCE(NULLIF(onset_date, ''), \
                     date(COALESCE(first_positive_at, found_at) + 28800, 'unixepoch')), \
                     kind, -1 FROM cases WHERE status <> 'excluded' AND CAST($1 AS BIGINT) IS NOT NULL \
                   UNION ALL SELECT region_code, 'report', \
                     date(COALESCE(reported_at, found_at) + 28800, 'unixepoch'), \
                     kind, -1 FROM cases WHERE status <> 'excluded' \
                 ) d GROUP BY d.region_code, d.basis, d.day, d.kind HAVING SUM(d.n) <> 0"
            }
            Invariant::OpenCaseIsRed => {
                "SELECT c.case_number AS label FROM cases c \
                 LEFT JOIN health_codes h ON h.id_number = c.id_number AND h.id_type = c.id_type \
                 WHERE c.status = 'active' AND c.id_number <> '' AND c.created_at < $1 \
                 AND COALESCE(h.colour, '') <> 'red'"
            }
            Invariant::CloseContactIsHandled => {
                "SELECT '密接#' || ct.id || '（' || c.case_number || '）' AS label \
                 FROM contacts ct JOIN cases c ON c.id = ct.case_id \
                 WHERE ct.category = 'close' AND ct.status = 'active' AND ct.created_at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM isolation_measures m \
                     WHERE ct.id_number <> '' AND m.id_number = ct.id_number AND m.id_type = ct.id_type) \
                 AND NOT EXISTS (SELECT 1 FROM leads l \
                     WHERE (ct.id_number <> '' AND l.id_number = ct.id_number AND l.id_type = ct.id_type) \
                        OR (ct.id_number = '' AND ct.phone IS NOT NULL AND l.phone = ct.phone))"
            }
            Invariant::DischargedCaseDoesNotWait => {
                "SELECT c.case_number AS label FROM cases c \
                 JOIN isolation_measures m ON m.id_number = c.id_number AND m.id_type = c.id_type \
                 WHERE c.status = 'discharged' AND c.id_number <> '' AND COALESCE(c.status_at, 0) < $1 \
                 AND m.status = 'awaiting_hospital'"
            }
            Invariant::ControlledPersonsLeadIsLanded => concat!(
                "SELECT '线索#' || l.id AS label FROM leads l \
                 WHERE l.status IN ('pending', 'unrouted') AND l.id_number <> '' \
                 AND EXISTS (SELECT 1 FROM isolation_measures m \
                     WHERE m.id_number = l.id_number AND m.id_type = l.id_type \
                     AND m.status_since < $1 AND m.status IN ",
                crate::under_control_statuses!(),
                ")"
            ),
            Invariant::HospitalisedHasBed => {
                "SELECT '管控#' || m.id AS label FROM isolation_measures m \
                 WHERE m.status = 'hospitalised' AND m.status_since < $1 \
                 AND NOT EXISTS (SELECT 1 FROM hospital_admissions a \
                     WHERE a.measure_id = m.id AND a.discharged_at IS NULL)"
            }
            Invariant::RiskAreaClockCountsLatestInfection => {
                // Areas drawn as a whole region only: a compound or building names its village as
                // its region, and a case elsewhere in the village is not inside it.
                "SELECT r.place_name AS label FROM risk_areas r \
                 WHERE r.lifted_at IS NULL AND r.unit IN ('county', 'township', 'village') \
                 AND EXISTS (SELECT 1 FROM cases c \
                     WHERE c.status <> 'excluded' AND c.kind IN ('confirmed', 'asymptomatic') \
                     AND substr(c.grid_code, 1, length(r.region_code)) = r.region_code \
                     AND c.found_at >= r.designated_at AND c.created_at < $1 \
                     AND c.found_at > COALESCE(r.last_infection_at, 0))"
            }
            Invariant::InitialScreenCaseHasRecheck => {
                "SELECT c.case_number AS label FROM cases c \
                 WHERE c.status = 'active' AND c.kind = 'initial_screen_positive' \
                 AND c.found_by = 'mass_testing' AND c.id_number <> '' AND c.created_at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM recheck_tasks t \
                     WHERE t.id_number = c.id_number AND t.id_type = c.id_type \
                     AND (t.reason = 'single_positive' OR t.status = 'positive'))"
            }
            Invariant::PushedPersonHasCodeFact => {
                "SELECT '线索#' || l.id AS label FROM leads l \
                 WHERE l.channel = 'big_data_push' AND l.id_number <> '' AND l.created_at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM code_facts f \
                     WHERE f.id_number = l.id_number AND f.id_type = l.id_type \
                     AND f.source = '大数据推送：线索 ' || l.id)"
            }
            Invariant::OpenLeadFollowsMove => {
                // A move settled before the cutoff and not followed by any step of the lead (a
                // forward after the move is a grid worker's decision, not a miss).
                "SELECT '线索#' || l.id AS label FROM leads l \
                 JOIN residents r ON r.id = l.resident_id \
                     OR (l.resident_id IS NULL AND l.id_number <> '' \
                         AND r.id_number = l.id_number AND r.id_type = l.id_type) \
                 WHERE l.status = 'pending' AND l.grid_code <> r.grid_code \
                 AND EXISTS (SELECT 1 FROM person_events e \
                     WHERE e.kind = 'resident_moved' AND e.resident_id = r.id AND e.at < $1 \
                     AND e.at >= (SELECT MAX(s.at) FROM lead_steps s WHERE s.lead_id = l.id))"
            }
            Invariant::MeasureFollowsMove => {
                "SELECT '管控#' || m.id AS label FROM isolation_measures m \
                 JOIN residents r ON r.id = m.resident_id \
                 WHERE m.status <> 'released' AND m.grid_code <> r.grid_code \
                 AND EXISTS (SELECT 1 FROM person_events e \
                     WHERE e.kind = 'resident_moved' AND e.resident_id = r.id AND e.at < $1 \
                     AND e.at >= m.created_at)"
            }
            Invariant::RoundSwabbedWithinTarget => {
                // Residents of a grid outside the round's region swabbed in it are counted there
                // (`outside`) against no target; routine testing counts every day's swab.
                "SELECT '轮次#' || p.round_id || ' 网格 ' || p.grid_code AS label \
                 FROM round_grid_progress p JOIN test_rounds t ON t.id = p.round_id \
                 WHERE t.closed_at IS NULL AND t.kind <> 'routine' AND t.opened_at < $1 \
                 AND p.sampled - p.outside > p.target"
            }
            // Counters move in the sale's or the visit's transaction: no settling ($1 keeps the
            // shape). A visit counts on the Beijing day of its registration, per backend.
            Invariant::SentinelCountersMatchRecords if postgres => concat!(
                sentinel_counters_sql!(),
                "to_char(to_timestamp(registered_at + 28800) AT TIME ZONE 'UTC', 'YYYY-MM-DD') COLLATE \"C\"",
                sentinel_counters_tail!()
            ),
            Invariant::SentinelCountersMatchRecords => concat!(
                sentinel_counters_sql!(),
                "date(registered_at + 28800, 'unixepoch')",
                sentinel_counters_tail!()
            ),
            Invariant::ReserveStockMatchesLedger => {
                // The stock moves in the transaction of its ledger line: no settling applies.
                "SELECT CAST(warehouse_id AS TEXT) || ' ' || item_code AS label FROM ( \
                   SELECT warehouse_id, item_code, on_hand AS n FROM reserve_stocks \
                   UNION ALL SELECT warehouse_id, item_code, -SUM(delta) FROM reserve_movements \
                   GROUP BY warehouse_id, item_code \
                 ) d GROUP BY warehouse_id, item_code \
                 HAVING SUM(n) <> 0 AND CAST($1 AS BIGINT) IS NOT NULL"
            }
            // A pass, its serial and its counter move in one transaction; a passage is written
            // once: no settling ($1 keeps the shape).
            Invariant::SupplyPassesNumberedAndChecked if postgres => concat!(
                "SELECT '编号 ' || p.number AS label FROM supply_passes p \
                 WHERE p.number <> p.county_code || lpad(CAST(p.serial AS TEXT), 6, '0') \
                 AND CAST($1 AS BIGINT) IS NOT NULL UNION ALL ",
                supply_pass_serials_sql!()
            ),
            Invariant::SupplyPassesNumberedAndChecked => concat!(
                "SELECT '编号 ' || p.number AS label FROM supply_passes p \
                 WHERE p.number <> p.county_code || printf('%06d', p.serial) \
                 AND CAST($1 AS BIGINT) IS NOT NULL UNION ALL ",
                supply_pass_serials_sql!()
            ),
            Invariant::DeliveryFollowsItsSteps => {
                // A request and its step are written in one transaction: no settling ($1 keeps
                // the shape).
                "SELECT '配送需求 ' || CAST(r.id AS TEXT) AS label FROM delivery_requests r \
                 WHERE CAST($1 AS BIGINT) IS NOT NULL AND ( \
                   r.status <> COALESCE((SELECT s.status FROM delivery_steps s WHERE s.request_id = r.id \
                     ORDER BY s.id DESC LIMIT 1), '') \
                   OR (r.status IN ('allocated', 'out') AND (r.point_id IS NULL OR r.slot_start IS NULL)))"
            }
            // A dose is written with its own checks in one transaction: no settling ($1 keeps the
            // shape). Three calendar months are at least 89 days whatever the month.
            Invariant::VaccineDosesKeepIntervals if postgres => concat!(
                vaccine_intervals_sql!(),
                "d.given_on::date - f.given_on::date >= 21",
                vaccine_intervals_middle!(),
                "b.given_on::date - p.given_on::date >= 89",
                ")"
            ),
            Invariant::VaccineDosesKeepIntervals => concat!(
                vaccine_intervals_sql!(),
                "julianday(d.given_on) - julianday(f.given_on) >= 21",
                vaccine_intervals_middle!(),
                "julianday(b.given_on) - julianday(p.given_on) >= 89",
                ")"
            ),
            Invariant::CommandStateMatchesLastSwitch => {
                // A switch writes its row, the state and the checklist in one transaction: no
                // settling applies.
                "SELECT s.region_code AS label FROM command_states s \
                 WHERE CAST($1 AS BIGINT) IS NOT NULL AND ( \
                   s.switch_id <> (SELECT MAX(w.id) FROM command_switches w WHERE w.region_code = s.region_code) \
                   OR s.state <> (SELECT w.to_state FROM command_switches w WHERE w.id = s.switch_id) \
                   OR (s.state = 'emergency' AND NOT EXISTS ( \
                     SELECT 1 FROM emergency_tasks t WHERE t.switch_id = s.switch_id))) \
                 UNION SELECT w.region_code FROM command_switches w WHERE NOT EXISTS ( \
                   SELECT 1 FROM command_states s WHERE s.region_code = w.region_code)"
            }
            Invariant::AnalyticsFindingsLanded => {
                "SELECT '分析任务#' || j.id AS label FROM analytics_jobs j \
                 WHERE j.status = 'finished' AND j.started_at < $1 AND ( \
                   j.people_found <> (SELECT COUNT(*) FROM analytics_results r WHERE r.job_id = j.id) \
                   OR j.leads_created + j.leads_existed <> (SELECT COUNT(*) FROM analytics_results r \
                     WHERE r.job_id = j.id AND r.outcome IN ('lead_created', 'lead_existed')) \
                   OR j.alarms_raised <> (SELECT COUNT(*) FROM analytics_results r \
                     WHERE r.job_id = j.id AND r.outcome IN ('alarm_raised', 'alarm_existed'))) \
                 UNION SELECT '分析结果#' || r.id FROM analytics_results r \
                 WHERE (r.outcome IN ('lead_created', 'lead_existed') AND NOT EXISTS ( \
                   SELECT 1 FROM leads l WHERE l.id = r.lead_id AND l.channel = 'big_data_push')) \
                 OR (r.outcome IN ('alarm_raised', 'alarm_existed') AND NOT EXISTS ( \
                   SELECT 1 FROM door_alarms a WHERE a.id = r.alarm_id AND a.kind = 'e_fence'))"
            }
            Invariant::ColdChainPositiveRaisedAlert => {
                "SELECT '冷链检测#' || t.id AS label FROM cold_chain_tests t \
                 WHERE t.result = 'positive' AND t.created_at < $1 AND NOT EXISTS ( \
                   SELECT 1 FROM cold_chain_test_alerts a JOIN warning_alerts w ON w.id = a.alert_id \
                   WHERE a.test_id = t.id)"
            }
            Invariant::PositivePoolRaisedAlert => {
                "SELECT DISTINCT e.source AS label FROM person_events e \
                 WHERE e.kind = 'pool_positive' AND e.grid_code <> '' AND e.at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM warning_alerts a WHERE a.evidence_key = 'pool:' || e.source)"
            }
            Invariant::SituationCountersMatchRecords => {
                // Counters move in the writing transaction, so no settling applies ($1 only
                // keeps the one signature of these queries).
                "SELECT what || ' ' || k AS label FROM ( \
                   SELECT '管控计数' AS what, grid_code || ' ' || category || ' ' || status AS k, \
                          SUM(n) AS n FROM ( \
                     SELECT grid_code, category, status, n FROM measure_counts \
                     UNION ALL SELECT grid_code, category, status, -COUNT(*) FROM isolation_measures \
                     GROUP BY grid_code, category, status) m GROUP BY 1, 2 \
                   UNION ALL \
                   SELECT '赋码计数', grid_code || ' ' || colour || ' ' || popup, SUM(n) FROM ( \
                     SELECT grid_code, colour, popup, n FROM code_counts \
                     UNION ALL SELECT grid_code, colour, CASE WHEN popup IS NULL THEN 0 ELSE 1 END, \
                     -COUNT(*) FROM health_codes GROUP BY 1, 2, 3) c GROUP BY 1, 2 \
                   UNION ALL \
                   SELECT '卡口计数', region_code || ' ' || day || ' ' || decision, SUM(n) FROM ( \
                     SELECT region_code, day, decision, n FROM passage_counts \
                     UNION ALL SELECT k.region_code, (p.at + 28800) / 86400, p.decision, -COUNT(*) \
                     FROM passages p JOIN checkpoints k ON k.id = p.checkpoint_id GROUP BY 1, 2, 3) p \
                   GROUP BY 1, 2 \
                 ) d WHERE n <> 0 AND CAST($1 AS BIGINT) IS NOT NULL"
            }
        }
    }
}

/// How many records break one invariant, and the first few of them by label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations {
    pub count: i64,
    pub examples: Vec<String>,
}

/// Labels shown per invariant: enough to start looking, short enough to read.
const EXAMPLES: i64 = 10;

impl Store {
    /// The records breaking `invariant` that changed before `settled_before` (unix seconds).
    pub async fn invariant_violations(
        &self,
        invariant: Invariant,
        settled_before: i64,
    ) -> StoreResult<Violations> {
        let listing = invariant.violations_sql(matches!(self, Store::Postgres(_)));
        let count_sql = format!("SELECT COUNT(*) FROM ({listing}) broken");
        let examples_sql = format!("SELECT label FROM ({listing}) broken ORDER BY label LIMIT $2");
        let (count, examples) = with_pool!(self, pool => {
            let count: i64 = sqlx::query_scalar(AssertSqlSafe(count_sql))
                .bind(settled_before)
                .fetch_one(pool)
                .await?;
            let examples: Vec<String> = sqlx::query_scalar(AssertSqlSafe(examples_sql))
                .bind(settled_before)
                .bind(EXAMPLES)
                .fetch_all(pool)
                .await?;
            (count, examples)
        });
        Ok(Violations { count, examples })
    }
}
