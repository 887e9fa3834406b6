//! Reads whose shape is the same wherever they stand, only the table and the columns differ: one
//! row by a key, and a page of a code range with the range's total. Written once here so a row type
//! is read the same way everywhere and the list and its count cannot disagree.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Encode, FromRow, Postgres, Sqlite, Type};

use crate::{Store, StoreResult, with_pool};

/// A row type both backends can read.
pub(crate) trait Row:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl<R> Row for R where R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// A value both backends can bind.
pub(crate) trait Key:
    for<'q> Encode<'q, Sqlite> + Type<Sqlite> + for<'q> Encode<'q, Postgres> + Type<Postgres> + Send
{
}

impl<K> Key for K where
    K: for<'q> Encode<'q, Sqlite>
        + Type<Sqlite>
        + for<'q> Encode<'q, Postgres>
        + Type<Postgres>
        + Send
{
}

/// A code range's page: rows and their total.
pub(crate) struct RangePage<'a> {
    /// The column the range is over (a region or county code).
    pub column: &'a str,
    pub range: (&'a str, &'a str),
    /// `ORDER BY` terms.
    pub order: &'a str,
    pub limit: i64,
    pub offset: i64,
}

impl Store {
    /// The row of `table` whose `column` equals `key`, as `columns`.
    pub(crate) async fn row_by<R: Row, K: Key>(
        &self,
        columns: &str,
        table: &str,
        column: &str,
        key: K,
    ) -> StoreResult<Option<R>> {
        let sql = format!("SELECT {columns} FROM {table} WHERE {column} = $1");
        Ok(with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(key).fetch_optional(pool).await?
        }))
    }

    /// `columns` of the rows of `table` inside `page.range`, one page of them in `page.order`,
    /// and how many there are in the range in all.
    pub(crate) async fn range_page<R: Row>(
        &self,
        columns: &str,
        table: &str,
        page: RangePage<'_>,
    ) -> StoreResult<(Vec<R>, i64)> {
        let RangePage {
            column,
            range,
            order,
            limit,
            offset,
        } = page;
        let filter = format!("FROM {table} WHERE {column} >= $1 AND {column} < $2");
        let sql = format!("SELECT {columns} {filter} ORDER BY {order} LIMIT $3 OFFSET $4");
        let count_sql = format!("SELECT COUNT(*) {filter}");
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(AssertSqlSafe(count_sql))
                .bind(range.0)
                .bind(range.1)
                .fetch_one(pool)
                .await?;
            (rows, total)
        }))
    }
}
