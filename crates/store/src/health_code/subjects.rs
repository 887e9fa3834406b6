//! Code subjects: the HMAC pseudonym of a document that the signed QR carries.

use super::*;

impl Store {
    /// The pseudonymous subject of a person's signed code, issuing `candidate` on first use.
    pub async fn code_subject(
        &self,
        person: &CodePerson,
        resident_id: Option<i64>,
        candidate: &str,
        now: i64,
    ) -> StoreResult<String> {
        with_pool!(self, pool => {
            // Read first: a resident's code page refreshes every minute, and a write per view would
            // queue behind the checkpoints' passages for the write lock.
            let found: Option<(String,)> = sqlx::query_as(
                "SELECT subject FROM code_subjects WHERE id_number = $1 AND id_type = $2",
            )
            .bind(person.id_number.as_str())
            .bind(&person.id_type)
            .fetch_optional(pool)
            .await?;
            if let Some((subject,)) = found {
                return Ok(subject);
            }
            sqlx::query(
                "INSERT INTO code_subjects (subject, id_type, id_number, resident_id, issued_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(candidate)
            .bind(&person.id_type)
            .bind(person.id_number.as_str())
            .bind(resident_id)
            .bind(now)
            .execute(pool)
            .await?;
            let (subject,): (String,) = sqlx::query_as(
                "SELECT subject FROM code_subjects WHERE id_number = $1 AND id_type = $2",
            )
            .bind(person.id_number.as_str())
            .bind(&person.id_type)
            .fetch_one(pool)
            .await?;
            Ok(subject)
        })
    }

    /// Issues many subjects at once (benchmarks and the demo): `(subject, person, resident id)`.
    pub async fn issue_code_subjects(
        &self,
        rows: &[(String, CodePerson, Option<i64>)],
        now: i64,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO code_subjects (subject, id_type, id_number, resident_id, issued_at) ",
                );
                builder.push_values(chunk, |mut b, (subject, person, resident_id)| {
                    b.push_bind(subject)
                        .push_bind(&person.id_type)
                        .push_bind(person.id_number.as_str())
                        .push_bind(*resident_id)
                        .push_bind(now);
                });
                builder.push(" ON CONFLICT DO NOTHING");
                builder.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The person behind a QR subject, with their register entry and name when registered.
    pub async fn person_of_subject(&self, subject: &str) -> StoreResult<Option<SubjectOwner>> {
        let row: Option<(String, String, Option<i64>, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.id_type, s.id_number, s.resident_id, r.name FROM code_subjects s \
                 LEFT JOIN residents r ON r.id = s.resident_id WHERE s.subject = $1",
            )
            .bind(subject)
            .fetch_optional(pool)
            .await?
        });
        Ok(
            row.map(|(id_type, id_number, resident_id, name)| SubjectOwner {
                person: CodePerson {
                    id_type,
                    id_number: id_number.into(),
                },
                resident_id,
                name: name.map(PersonName::from),
            }),
        )
    }
}
