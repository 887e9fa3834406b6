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
