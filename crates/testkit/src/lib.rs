//! The test kit: what every crate's tests share — one PostgreSQL bootstrap ([`ScratchDatabase`]),
//! the application on a fresh database with a tiny world ([`world`]: `fresh_app(backend)`, regions,
//! grids, users per role, a known population, the `story!` macro that runs a story on SQLite and on
//! PostgreSQL), a real server on a free port ([`server::TestServer`]) and the browser driver
//! ([`webdriver::Driver`], which ends chromedriver and its browser on drop, panic included).
//!
//! A story on PostgreSQL runs when `FANGKONG_TEST_POSTGRES` holds the URL of a server (`.ci/run`
//! sets it); it gets a brand-new database of its own, dropped when the story ends, panic included.
//! Dev-only: `app`, `web` and `store` take it as a dev-dependency (a cycle Cargo allows for tests).

pub mod server;
pub mod webdriver;
pub mod world;

use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the PostgreSQL server the PostgreSQL stories run on.
pub const POSTGRES_ENV: &str = "FANGKONG_TEST_POSTGRES";

/// The PostgreSQL URL when the PostgreSQL stories should run.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A brand-new database on the server of [`postgres_url`], dropped (with its connections) on drop.
#[derive(Debug)]
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

impl ScratchDatabase {
    /// Creates the database. Panics (the test fails) when `FANGKONG_TEST_POSTGRES` is not set or
    /// the server cannot be reached: callers decide beforehand whether a PostgreSQL story runs.
    pub async fn create() -> ScratchDatabase {
        use sqlx::Connection;
        let admin_url = postgres_url().unwrap_or_else(|| panic!("{POSTGRES_ENV} is not set"));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "fangkong_test_{}_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::SeqCst),
            nanos
        );
        let mut connection = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!("{POSTGRES_ENV} is set but PostgreSQL at {admin_url} cannot be reached: {e}")
            });
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        connection
            .close()
            .await
            .expect("close the admin connection");
        let url = url_with_database(&admin_url, &name);
        ScratchDatabase {
            admin_url,
            name,
            url,
        }
    }

    /// The URL of the new database (same user, host and options as the server's URL).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Best effort, on a thread with its own runtime: Drop cannot await, and it may run inside
        // the test's runtime.
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                use sqlx::Connection;
                let mut connection = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut connection)
                .await?;
                connection.close().await?;
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            })?;
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if let Ok(Err(e)) = outcome {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

/// The URL of database `name` on the server of `url` (same user, host and options).
pub fn url_with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let without_db = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{without_db}/{name}?{query}"),
        None => format!("{without_db}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::url_with_database;

    #[test]
    fn the_database_is_swapped_and_the_options_kept() {
        assert_eq!(
            url_with_database("postgres://u@h:5432/postgres", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            url_with_database("postgres://u@h/postgres?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
        assert_eq!(
            url_with_database("postgres://u@h", "t1"),
            "postgres://u@h/t1"
        );
    }
}
