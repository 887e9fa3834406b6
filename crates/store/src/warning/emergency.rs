//! A region's command state (常态 / 应急), its switches and the emergency checklist: a switch is
//! one transaction guarded by the state it expects (the history row, the state, the checklist and
//! the audit record together); the reads that let a module's own records close a task.

use fangkong_domain::region::RegionCode;
use fangkong_domain::warning::emergency::{ClosesOn, CommandState, TaskStatus};

use crate::typed::{StoredCode, StoredOptionalCode, StoredRegion};
use crate::{AuditRecord, Store, StoreResult, begin_locked, with_pool};

/// Serialises switches (PostgreSQL's advisory lock; SQLite's write lock at BEGIN), so two
/// commanders switching one region at once cannot both read its old state.
const SWITCH_LOCK: i64 = 577_215;

/// A region's state now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct StateRecord {
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    #[sqlx(try_from = "StoredCode<CommandState>")]
    pub state: CommandState,
    pub since: i64,
    pub switch_id: i64,
}

/// One switch as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct SwitchRecord {
    pub id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    #[sqlx(try_from = "StoredCode<CommandState>")]
    pub from_state: CommandState,
    #[sqlx(try_from = "StoredCode<CommandState>")]
    pub to_state: CommandState,
    pub at: i64,
    pub by_user: String,
    pub reason: String,
    pub alert_id: Option<i64>,
    pub conditions: String,
}

/// A switch to write: the state it expects and the state it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchWrite {
    pub region_code: RegionCode,
    pub from_state: CommandState,
    pub to_state: CommandState,
    pub at: i64,
    pub by_user: String,
    pub reason: String,
    pub alert_id: Option<i64>,
    /// JSON of the conditions met (a switch back), '' otherwise.
    pub conditions: String,
}

/// A checklist task to open with a switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskWrite {
    pub code: String,
    pub title: String,
    pub owner: String,
    pub due_at: i64,
    pub closes_on: Option<ClosesOn>,
}

/// One task of a checklist.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct TaskRecord {
    pub id: i64,
    pub switch_id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub code: String,
    pub title: String,
    pub owner: String,
    pub due_at: i64,
    #[sqlx(try_from = "StoredOptionalCode<ClosesOn>")]
    pub closes_on: Option<ClosesOn>,
    #[sqlx(try_from = "StoredCode<TaskStatus>")]
    pub status: TaskStatus,
    pub done_at: Option<i64>,
    pub done_by: Option<String>,
    pub done_how: String,
}

const TASK_COLUMNS: &str = "id, switch_id, region_code, code, title, owner, due_at, closes_on, \
     status, done_at, done_by, done_how";
const SWITCH_COLUMNS: &str =
    "id, region_code, from_state, to_state, at, by_user, reason, alert_id, conditions";

impl Store {
    pub async fn command_state(&self, region: &str) -> StoreResult<Option<StateRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT region_code, state, since, switch_id FROM command_states WHERE region_code = $1",
            )
            .bind(region)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// The regions of the subtree `range` in emergency, and the ancestors of `region` in
    /// emergency (a county's emergency covers its townships).
    pub async fn emergencies_over(
        &self,
        region: &str,
        range: (&str, &str),
    ) -> StoreResult<Vec<StateRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT region_code, state, since, switch_id FROM command_states \
                 WHERE state = 'emergency' AND ((region_code >= $1 AND region_code < $2) \
                 OR $3 LIKE region_code || '%') ORDER BY region_code",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(region)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Switches `switch.region_code` from `from_state` to `to_state`: the history row, the state,
    /// the checklist's tasks (a switch to emergency), the open tasks closed as ended (a switch
    /// back), an accepted proposal's alert closed, and the audit record — one transaction.
    /// `None` (nothing written) when the region is no longer in `from_state`.
    pub async fn switch_command_state(
        &self,
        switch: &SwitchWrite,
        tasks: &[TaskWrite],
        audit: &AuditRecord,
    ) -> StoreResult<Option<i64>> {
        let id = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, SWITCH_LOCK);
            let current: Option<String> = sqlx::query_scalar(
                "SELECT state FROM command_states WHERE region_code = $1",
            )
            .bind(switch.region_code.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if current.as_deref().unwrap_or("normal") != switch.from_state.code() {
                return Ok(None);
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO command_switches (region_code, from_state, to_state, at, by_user, reason, \
                 alert_id, conditions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(switch.region_code.as_str())
            .bind(switch.from_state.code())
            .bind(switch.to_state.code())
            .bind(switch.at)
            .bind(&switch.by_user)
            .bind(&switch.reason)
            .bind(switch.alert_id)
            .bind(&switch.conditions)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO command_states (region_code, state, since, switch_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (region_code) DO UPDATE SET state = excluded.state, since = excluded.since, \
                 switch_id = excluded.switch_id",
            )
            .bind(switch.region_code.as_str())
            .bind(switch.to_state.code())
            .bind(switch.at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            for task in tasks {
                sqlx::query(
                    "INSERT INTO emergency_tasks (switch_id, region_code, code, title, owner, due_at, \
                     closes_on, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open')",
                )
                .bind(id)
                .bind(switch.region_code.as_str())
                .bind(&task.code)
                .bind(&task.title)
                .bind(&task.owner)
                .bind(task.due_at)
                .bind(task.closes_on.map_or("", ClosesOn::code))
                .execute(&mut *tx)
                .await?;
            }
            if switch.to_state == CommandState::Normal {
                sqlx::query(
                    "UPDATE emergency_tasks SET status = 'done', done_at = $1, done_by = $2, \
                     done_how = 'ended' WHERE region_code = $3 AND status = 'open'",
                )
                .bind(switch.at)
                .bind(&switch.by_user)
                .bind(switch.region_code.as_str())
                .execute(&mut *tx)
                .await?;
            }
            if let Some(alert) = switch.alert_id {
                sqlx::query(
                    "UPDATE warning_alerts SET status = 'verified', closed_at = $1, closed_by = $2, \
                     note = $3 WHERE id = $4 AND status = 'open'",
                )
                .bind(switch.at)
                .bind(&switch.by_user)
                .bind(format!("已据此转入应急状态（切换 #{id}）"))
                .bind(alert)
                .execute(&mut *tx)
                .await?;
            }
            crate::audit::write_audit!(&mut *tx, audit, format!("switch:{id}"));
            tx.commit().await?;
            Some(id)
        });
        Ok(id)
    }

    /// The switches of `region`, newest first.
    pub async fn switches_of(&self, region: &str, limit: i64) -> StoreResult<Vec<SwitchRecord>> {
        let sql = format!(
            "SELECT {SWITCH_COLUMNS} FROM command_switches WHERE region_code = $1 \
             ORDER BY id DESC LIMIT $2"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(region).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub async fn tasks_of_switch(&self, switch_id: i64) -> StoreResult<Vec<TaskRecord>> {
        let sql =
            format!("SELECT {TASK_COLUMNS} FROM emergency_tasks WHERE switch_id = $1 ORDER BY id");
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(switch_id).fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub async fn emergency_task(&self, id: i64) -> StoreResult<Option<TaskRecord>> {
        self.row_by(TASK_COLUMNS, "emergency_tasks", "id", id).await
    }

    /// Open tasks that a module's records may close, oldest first.
    pub async fn open_auto_tasks(&self, limit: i64) -> StoreResult<Vec<TaskRecord>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM emergency_tasks WHERE status = 'open' AND closes_on <> '' \
             ORDER BY id LIMIT $1"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Open tasks of the subtree due before `due_before`, earliest first.
    pub async fn open_tasks_due(
        &self,
        range: (&str, &str),
        due_before: i64,
        limit: i64,
    ) -> StoreResult<Vec<TaskRecord>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM emergency_tasks WHERE status = 'open' AND due_at <= $3 \
             AND region_code >= $1 AND region_code < $2 ORDER BY due_at, id LIMIT $4"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(due_before)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Marks open task `id` done; with `audit` (a task ticked by hand) the record is written in
    /// the same transaction. False when it was no longer open.
    pub async fn close_emergency_task(
        &self,
        id: i64,
        at: i64,
        by: &str,
        how: &str,
        audit: Option<&AuditRecord>,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE emergency_tasks SET status = 'done', done_at = $1, done_by = $2, done_how = $3 \
                 WHERE id = $4 AND status = 'open'",
            )
            .bind(at)
            .bind(by)
            .bind(how)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if changed {
                if let Some(audit) = audit {
                    crate::audit::write_audit!(&mut *tx, audit, format!("emergency_task:{id}"));
                }
                tx.commit().await?;
            }
            changed
        });
        Ok(changed)
    }

    /// The first testing round opened at or after `since` over `region` (a round of the region's
    /// subtree, or of a region holding it): (id, opened at).
    pub async fn round_opened_since(
        &self,
        region: &str,
        range: (&str, &str),
        since: i64,
    ) -> StoreResult<Option<(i64, i64)>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, opened_at FROM test_rounds WHERE opened_at >= $4 AND kind <> 'routine' \
                 AND ((region_code >= $1 AND region_code < $2) OR $3 LIKE region_code || '%') \
                 ORDER BY opened_at, id LIMIT 1",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(region)
            .bind(since)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// The office's first bulletin published at or after `since`: (id, published at).
    pub async fn bulletin_published_since(
        &self,
        office: &str,
        since: i64,
    ) -> StoreResult<Option<(i64, i64)>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, published_at FROM bulletins WHERE region_code = $1 AND status = 'published' \
                 AND published_at >= $2 ORDER BY published_at, id LIMIT 1",
            )
            .bind(office)
            .bind(since)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// The office's first incident report filed at or after `since`: (id, filed at).
    pub async fn incident_filed_since(
        &self,
        office: &str,
        since: i64,
    ) -> StoreResult<Option<(i64, i64)>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, filed_at FROM incidents WHERE office_code = $1 AND filed_at >= $2 \
                 ORDER BY filed_at, id LIMIT 1",
            )
            .bind(office)
            .bind(since)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// A duty roster row of the office for `day` (`YYYY-MM-DD`): its id.
    pub async fn duty_rostered_on(&self, office: &str, day: &str) -> StoreResult<Option<i64>> {
        let row = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM duty_roster WHERE office_code = $1 AND duty_date = $2 ORDER BY id LIMIT 1",
            )
            .bind(office)
            .bind(day)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// What the conditions back to normal look at, in the subtree `range`: the last Beijing day
    /// with an infection reported, the risk areas in force, the people in a centralised site.
    pub async fn return_facts(
        &self,
        range: (&str, &str),
    ) -> StoreResult<(Option<String>, i64, i64)> {
        let facts = with_pool!(self, pool => {
            let last: Option<String> = sqlx::query_scalar(
                "SELECT MAX(day) FROM case_day_counts WHERE region_code >= $1 AND region_code < $2 \
                 AND basis = 'report' AND kind <> 'suspected' AND n > 0",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_one(pool)
            .await?;
            let areas: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM risk_areas WHERE region_code >= $1 AND region_code < $2 \
                 AND lifted_at IS NULL",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_one(pool)
            .await?;
            let centralised: Option<i64> = sqlx::query_scalar(
                "SELECT CAST(SUM(n) AS BIGINT) FROM measure_counts WHERE grid_code >= $1 \
                 AND grid_code < $2 AND status IN ('in_site', 'allocated')",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_one(pool)
            .await?;
            (last, areas, centralised.unwrap_or(0))
        });
        Ok(facts)
    }
}
