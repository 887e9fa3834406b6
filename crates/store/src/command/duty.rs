//! Duty (值班值守): roster lines, handover notes and spot checks, each write with its audit record
//! in one transaction. Offices are region codes; dates are 'YYYY-MM-DD' Beijing dates.

use sqlx::{AssertSqlSafe, QueryBuilder};

use fangkong_domain::command::duty::{DutyRole, Shift};
use fangkong_domain::region::RegionCode;

use crate::bind::PushList;
use crate::rows::Row;
use crate::typed::{StoredCode, StoredRegion};

use crate::audit::write_audit;
use crate::{AuditRecord, Store, StoreResult, with_pool};

/// One roster line (排班).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RosterRecord {
    pub id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub office_code: RegionCode,
    pub duty_date: String,
    #[sqlx(try_from = "StoredCode<Shift>")]
    pub shift: Shift,
    pub post: String,
    #[sqlx(try_from = "StoredCode<DutyRole>")]
    pub role: DutyRole,
    pub user_id: i64,
    pub person_name: String,
    pub duty_line: String,
    pub created_by: String,
    pub created_at: i64,
}

/// A roster line to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRosterLine {
    pub office_code: RegionCode,
    pub duty_date: String,
    pub shift: Shift,
    pub post: String,
    pub role: DutyRole,
    pub user_id: i64,
    pub person_name: String,
    pub duty_line: String,
    pub created_by: String,
    pub created_at: i64,
}

/// A handover note (交接班记录).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct HandoverRecord {
    pub id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub office_code: RegionCode,
    pub duty_date: String,
    #[sqlx(try_from = "StoredCode<Shift>")]
    pub shift: Shift,
    pub author_id: i64,
    pub author_name: String,
    pub note: String,
    pub written_at: i64,
}

/// A spot check (抽查) as called and, once recorded, its result.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct SpotCheckRecord {
    pub id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub office_code: RegionCode,
    pub duty_date: String,
    #[sqlx(try_from = "StoredCode<Shift>")]
    pub shift: Shift,
    pub called_at: i64,
    pub deadline_at: i64,
    pub called_by: String,
    #[sqlx(try_from = "StoredRegion")]
    pub checker_office: RegionCode,
    pub recorded: bool,
    pub answered_at: Option<i64>,
    pub answered_by_user_id: Option<i64>,
    pub answered_by_name: String,
    pub knew_situation: bool,
    pub passed: bool,
    /// Accountability kinds' codes joined by ','.
    pub failures: String,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: Option<i64>,
}

/// A spot check to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSpotCheck {
    pub office_code: RegionCode,
    pub duty_date: String,
    pub shift: Shift,
    pub called_at: i64,
    pub deadline_at: i64,
    pub called_by: String,
    pub checker_office: RegionCode,
}

/// A spot check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotResultWrite {
    pub id: i64,
    pub answered_at: Option<i64>,
    pub answered_by_user_id: Option<i64>,
    pub answered_by_name: String,
    pub knew_situation: bool,
    pub passed: bool,
    pub failures: String,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: i64,
}

const ROSTER_COLUMNS: &str = "id, office_code, duty_date, shift, post, role, user_id, person_name, \
     duty_line, created_by, created_at";
const HANDOVER_COLUMNS: &str =
    "id, office_code, duty_date, shift, author_id, author_name, note, written_at";
const SPOT_COLUMNS: &str = "id, office_code, duty_date, shift, called_at, deadline_at, called_by, \
     checker_office, recorded, answered_at, answered_by_user_id, answered_by_name, knew_situation, \
     passed, failures, note, recorded_by, recorded_at";

impl Store {
    /// Writes a roster line and its audit record (target: the new id); a unique violation when
    /// the person, the leader or the post's A role is already on that shift.
    pub async fn insert_roster_line(
        &self,
        line: &NewRosterLine,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO duty_roster (office_code, duty_date, shift, post, role, user_id, \
                 person_name, duty_line, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(line.office_code.as_str())
            .bind(&line.duty_date)
            .bind(line.shift.code())
            .bind(&line.post)
            .bind(line.role.code())
            .bind(line.user_id)
            .bind(&line.person_name)
            .bind(&line.duty_line)
            .bind(&line.created_by)
            .bind(line.created_at)
            .fetch_one(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, format!("duty_roster:{id}"));
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Removes a roster line with its audit record; false when it was gone already.
    pub async fn delete_roster_line(&self, id: i64, audit: &AuditRecord) -> StoreResult<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let gone = sqlx::query("DELETE FROM duty_roster WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if gone == 0 {
                return Ok(false);
            }
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn roster_line(&self, id: i64) -> StoreResult<Option<RosterRecord>> {
        self.row_by(ROSTER_COLUMNS, "duty_roster", "id", id).await
    }

    /// The roster lines of `offices` from `from` to `to` (dates, both included), by office, date,
    /// shift, role and post.
    pub async fn roster_lines(
        &self,
        offices: &[String],
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<RosterRecord>> {
        self.duty_rows(
            ROSTER_COLUMNS,
            "duty_roster",
            (offices, from, to),
            "office_code, duty_date, shift, CASE role WHEN 'leader' THEN 0 WHEN 'a' THEN 1 ELSE 2 END, \
             post, id LIMIT 5000",
        )
        .await
    }

    /// The offices inside `range` (a subtree) with someone rostered on `date`'s `shift`.
    pub async fn rostered_offices(
        &self,
        range: (&str, &str),
        date: &str,
        shift: &str,
    ) -> StoreResult<Vec<String>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT DISTINCT office_code FROM duty_roster WHERE duty_date = $1 AND shift = $2 \
                 AND office_code >= $3 AND office_code < $4 ORDER BY office_code LIMIT 5000",
            )
            .bind(date)
            .bind(shift)
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Writes a handover note with its audit record, unless this author already wrote one for the
    /// office's shift: then nothing is written and the answer is false.
    pub async fn insert_handover(
        &self,
        note: &HandoverRecord,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let written = sqlx::query(
                "INSERT INTO duty_handovers (office_code, duty_date, shift, author_id, author_name, \
                 note, written_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (office_code, duty_date, shift, author_id) DO NOTHING",
            )
            .bind(note.office_code.as_str())
            .bind(&note.duty_date)
            .bind(note.shift.code())
            .bind(note.author_id)
            .bind(&note.author_name)
            .bind(&note.note)
            .bind(note.written_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if written == 0 {
                return Ok(false);
            }
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The handover notes of `offices` from `from` to `to` (dates), newest first.
    pub async fn handovers(
        &self,
        offices: &[String],
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<HandoverRecord>> {
        self.duty_rows(
            HANDOVER_COLUMNS,
            "duty_handovers",
            (offices, from, to),
            "written_at DESC, id DESC LIMIT 200",
        )
        .await
    }

    /// Calls the spot checks with their audit records (target: each new id), in one transaction.
    pub async fn insert_spot_checks(
        &self,
        checks: &[NewSpotCheck],
        audit: &AuditRecord,
    ) -> StoreResult<Vec<i64>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut ids = Vec::with_capacity(checks.len());
            for check in checks {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO duty_spot_checks (office_code, duty_date, shift, called_at, \
                     deadline_at, called_by, checker_office) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     RETURNING id",
                )
                .bind(check.office_code.as_str())
                .bind(&check.duty_date)
                .bind(check.shift.code())
                .bind(check.called_at)
                .bind(check.deadline_at)
                .bind(&check.called_by)
                .bind(check.checker_office.as_str())
                .fetch_one(&mut *tx)
                .await?;
                let mut record = audit.clone();
                record.detail = format!("{}；{}", check.office_code, audit.detail);
                write_audit!(&mut *tx, &record, format!("spot_check:{id}"));
                ids.push(id);
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// Records a spot check's result with its audit record, unless one was recorded already: then
    /// nothing is written and the answer is false.
    pub async fn record_spot_check(
        &self,
        result: &SpotResultWrite,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE duty_spot_checks SET recorded = TRUE, answered_at = $2, \
                 answered_by_user_id = $3, answered_by_name = $4, knew_situation = $5, passed = $6, \
                 failures = $7, note = $8, recorded_by = $9, recorded_at = $10 \
                 WHERE id = $1 AND recorded = FALSE",
            )
            .bind(result.id)
            .bind(result.answered_at)
            .bind(result.answered_by_user_id)
            .bind(&result.answered_by_name)
            .bind(result.knew_situation)
            .bind(result.passed)
            .bind(&result.failures)
            .bind(&result.note)
            .bind(&result.recorded_by)
            .bind(result.recorded_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn spot_check(&self, id: i64) -> StoreResult<Option<SpotCheckRecord>> {
        self.row_by(SPOT_COLUMNS, "duty_spot_checks", "id", id)
            .await
    }

    /// Spot checks of offices inside `range`, newest first; `failed_only` keeps the recorded
    /// failures (the accountability list's source).
    pub async fn spot_checks_in(
        &self,
        range: (&str, &str),
        failed_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<SpotCheckRecord>> {
        let failed = if failed_only {
            " AND recorded = TRUE AND passed = FALSE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {SPOT_COLUMNS} FROM duty_spot_checks WHERE office_code >= $1 AND office_code < $2\
             {failed} ORDER BY called_at DESC, id DESC LIMIT $3"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// The users whose jurisdiction is exactly `office` (the office's own staff), by name:
    /// (id, display name, role, disabled).
    pub async fn office_users(
        &self,
        office: &str,
    ) -> StoreResult<Vec<(i64, String, String, bool)>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, display_name, role, disabled FROM users WHERE jurisdiction = $1 \
                 ORDER BY display_name, id LIMIT 500",
            )
            .bind(office)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}

/// Offices and an inclusive range of duty dates: what the duty lists are filtered by.
type OfficesBetween<'a> = (&'a [String], &'a str, &'a str);

impl Store {
    /// `columns` of `table`'s rows of `offices` with a duty date from `from` to `to` (both
    /// included), in `order` (which carries the list's limit): the roster and the handover lists
    /// are this one query over their own tables.
    async fn duty_rows<R: Row>(
        &self,
        columns: &str,
        table: &str,
        (offices, from, to): OfficesBetween<'_>,
        order: &str,
    ) -> StoreResult<Vec<R>> {
        if offices.is_empty() {
            return Ok(Vec::new());
        }
        let rows = with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(format!(
                "SELECT {columns} FROM {table} WHERE duty_date >= "
            ));
            builder.push_bind(from).push(" AND duty_date <= ").push_bind(to);
            builder.push(" AND office_code IN ").push_list(offices.iter());
            builder.push(format!(" ORDER BY {order}"));
            builder.build_query_as().fetch_all(pool).await?
        });
        Ok(rows)
    }
}
