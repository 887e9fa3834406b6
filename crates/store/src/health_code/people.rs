//! One person's checkpoint passages and venue visits, with the places' names (一人一档).

use super::*;

/// A check of a person at a checkpoint, as their file lists it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct PersonPassage {
    pub id: i64,
    pub at: i64,
    pub checkpoint_id: i64,
    pub checkpoint_name: String,
    pub method: String,
    #[sqlx(try_from = "StoredOptionalCode<CodeColour>")]
    pub colour: Option<CodeColour>,
    pub temperature: Option<f64>,
    /// A post's `Decision` code, or "rejected" for a check refused before any decision.
    pub decision: String,
    pub reasons: String,
}

/// A venue-code scan of a person, as their file lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct PersonVenueVisit {
    pub id: i64,
    pub at: i64,
    pub venue_id: i64,
    pub venue_name: String,
    #[sqlx(try_from = "StoredCode<CodeColour>")]
    pub colour: CodeColour,
}

impl Store {
    /// A person's newest passages (at most `limit`), newest first.
    pub async fn passages_of_person(
        &self,
        person: &CodePerson,
        limit: i64,
    ) -> StoreResult<Vec<PersonPassage>> {
        if person.id_number.is_empty() {
            return Ok(Vec::new());
        }
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT p.id, p.at, p.checkpoint_id, c.name AS checkpoint_name, p.method, p.colour, \
                 p.temperature, p.decision, p.reasons \
                 FROM passages p JOIN checkpoints c ON c.id = p.checkpoint_id \
                 WHERE p.id_number = $1 AND p.id_type = $2 ORDER BY p.at DESC, p.id DESC LIMIT $3",
            )
            .bind(person.id_number.as_str())
            .bind(&person.id_type)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// A person's newest venue visits (at most `limit`), newest first.
    pub async fn venue_visits_of_person(
        &self,
        person: &CodePerson,
        limit: i64,
    ) -> StoreResult<Vec<PersonVenueVisit>> {
        if person.id_number.is_empty() {
            return Ok(Vec::new());
        }
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT v.id, v.at, v.venue_id, n.name AS venue_name, v.colour \
                 FROM venue_visits v JOIN venues n ON n.id = v.venue_id \
                 WHERE v.id_number = $1 AND v.id_type = $2 ORDER BY v.at DESC, v.id DESC LIMIT $3",
            )
            .bind(person.id_number.as_str())
            .bind(&person.id_type)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
