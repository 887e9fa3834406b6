//! The current status rows of the residents a register list shows (a household, a grid's people
//! under watch, search results): one query per list, never one per row. Each row says which module
//! it comes from and its code; `domain::person_status` turns them into badges.

use super::*;
use crate::bind::PushList;

/// Which residents a list shows.
#[derive(Debug, Clone, Copy)]
pub enum StatusScope<'a> {
    /// The members of one household.
    Household(&'a str),
    /// Everyone registered in one grid.
    Grid(&'a str),
    /// These residents (a page of search results).
    Residents(&'a [i64]),
}

/// One current fact about a resident: an active case (`case`, its kind), an active close or
/// secondary contact (`contact`, its category), a measure not released (`measure`, its status), a
/// non-green code (`code`, its colour) or an open lead (`lead`, its status).
/// The row carries the resident's name, household and relation, so a list of only the people
/// with a status (a grid's people under watch) needs no second query.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ResidentStatusRow {
    pub resident_id: i64,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub household_number: String,
    pub relation: String,
    #[sqlx(try_from = "crate::typed::StoredCode<fangkong_domain::person_status::StatusSource>")]
    pub source: fangkong_domain::person_status::StatusSource,
    /// The module's own code (a case's kind, a lead's status …), read by `domain::person_status`.
    pub code: String,
}

/// The five sources, each joined to the listed residents through its (id_number, id_type) index.
/// A hospitalised measure whose admissions were all discharged is no longer a status.
const STATUS_BRANCHES: &str = "\
    SELECT p.id AS resident_id, p.name, p.household_number, p.relation, 'case' AS source, c.kind AS code FROM people p \
    JOIN cases c ON c.id_number = p.id_number AND c.id_type = p.id_type WHERE c.status = 'active' \
    UNION ALL \
    SELECT p.id, p.name, p.household_number, p.relation, 'contact', k.category FROM people p \
    JOIN contacts k ON k.id_number = p.id_number AND k.id_type = p.id_type \
    WHERE k.status = 'active' AND k.category IN ('close', 'secondary') \
    UNION ALL \
    SELECT p.id, p.name, p.household_number, p.relation, 'measure', m.status FROM people p \
    JOIN isolation_measures m ON m.id_number = p.id_number AND m.id_type = p.id_type \
    WHERE m.status <> 'released' AND NOT (m.status = 'hospitalised' \
    AND EXISTS (SELECT 1 FROM hospital_admissions a WHERE a.measure_id = m.id) \
    AND NOT EXISTS (SELECT 1 FROM hospital_admissions a WHERE a.measure_id = m.id AND a.discharged_at IS NULL)) \
    UNION ALL \
    SELECT p.id, p.name, p.household_number, p.relation, 'code', h.colour FROM people p \
    JOIN health_codes h ON h.id_number = p.id_number AND h.id_type = p.id_type WHERE h.colour <> 'green' \
    UNION ALL \
    SELECT p.id, p.name, p.household_number, p.relation, 'lead', l.status FROM people p \
    JOIN leads l ON l.id_number = p.id_number AND l.id_type = p.id_type \
    WHERE l.status IN ('pending', 'unrouted')";

impl Store {
    /// The current status rows of the residents in `scope`, in one query (residents without any
    /// have no row).
    pub async fn resident_statuses(
        &self,
        scope: StatusScope<'_>,
    ) -> StoreResult<Vec<ResidentStatusRow>> {
        let people = match scope {
            StatusScope::Household(_) => {
                "SELECT id, id_type, id_number, name, household_number, relation FROM residents WHERE household_number = "
            }
            StatusScope::Grid(_) => {
                "SELECT id, id_type, id_number, name, household_number, relation FROM residents WHERE grid_code = "
            }
            StatusScope::Residents([]) => return Ok(Vec::new()),
            StatusScope::Residents(_) => {
                "SELECT id, id_type, id_number, name, household_number, relation FROM residents WHERE id IN "
            }
        };
        let rows = with_pool!(self, pool => {
            let mut query = QueryBuilder::new(format!("WITH people AS ({people}"));
            match scope {
                StatusScope::Household(key) | StatusScope::Grid(key) => {
                    query.push_bind(key);
                }
                StatusScope::Residents(ids) => {
                    query.push_list(ids.iter().copied());
                }
            }
            query.push(") ");
            query.push(STATUS_BRANCHES);
            query.push(" ORDER BY household_number, resident_id");
            query.build_query_as().fetch_all(pool).await?
        });
        Ok(rows)
    }
}
