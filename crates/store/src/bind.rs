//! Binding a list of values as an SQL list, written once for every `IN (…)` in the store.
//!
//! The placeholders are whatever the backend's [`QueryBuilder`] writes (`?` for SQLite, `$N` for
//! PostgreSQL), numbered after those already pushed, so no call site counts placeholders itself.

use sqlx::{Database, Encode, QueryBuilder, Type};

/// `push_list` on a query being built.
pub(crate) trait PushList {
    type Db: Database;

    /// Pushes `(v1, v2, …)`, each value bound. An empty list becomes `(NULL)`, which `IN` matches
    /// with no row on either backend (an empty `()` is a syntax error on PostgreSQL); as `NOT IN`
    /// it would match none either, so callers wanting "all" for an empty list must leave the
    /// condition out.
    fn push_list<'t, T, I>(&mut self, values: I) -> &mut Self
    where
        I: IntoIterator<Item = T>,
        T: Encode<'t, Self::Db> + Type<Self::Db>;
}

impl<DB: Database> PushList for QueryBuilder<DB> {
    type Db = DB;

    fn push_list<'t, T, I>(&mut self, values: I) -> &mut Self
    where
        I: IntoIterator<Item = T>,
        T: Encode<'t, DB> + Type<DB>,
    {
        self.push("(");
        let mut list = self.separated(", ");
        let mut empty = true;
        for value in values {
            list.push_bind(value);
            empty = false;
        }
        if empty {
            self.push("NULL");
        }
        self.push(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Postgres, Sqlite};

    #[test]
    fn placeholders_continue_after_the_ones_already_pushed_on_postgresql() {
        let mut builder = QueryBuilder::<Postgres>::new("SELECT 1 WHERE a = ");
        builder.push_bind(7_i64).push(" AND b IN ");
        builder
            .push_list(["x", "y", "z"])
            .push(" LIMIT ")
            .push_bind(3_i64);
        assert_eq!(
            builder.sql().as_str(),
            "SELECT 1 WHERE a = $1 AND b IN ($2, $3, $4) LIMIT $5"
        );
    }

    #[tokio::test]
    async fn an_empty_list_is_valid_sql_that_matches_no_row() {
        let mut builder = QueryBuilder::<Sqlite>::new("SELECT 1 WHERE 1 IN ");
        builder.push_list(Vec::<i64>::new());
        assert_eq!(builder.sql().as_str(), "SELECT 1 WHERE 1 IN (NULL)");
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let rows: Vec<(i64,)> = builder.build_query_as().fetch_all(&pool).await.unwrap();
        assert!(rows.is_empty());
        let mut listed = QueryBuilder::<Sqlite>::new("SELECT 1 WHERE 2 IN ");
        listed.push_list([1_i64, 2]);
        let rows: Vec<(i64,)> = listed.build_query_as().fetch_all(&pool).await.unwrap();
        assert_eq!(rows, vec![(1,)]);
    }
}
