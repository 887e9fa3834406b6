//! The test kit: what every crate's tests share — one PostgreSQL bootstrap ([`ScratchDatabase`]),
//! the application on a fresh database with a tiny world ([`world`]: `fresh_app(backend)`, regions,
//! grids, users per role, a known population, the `story!` macro that runs a story on SQLite and on
//! PostgreSQL), a real server on a free port ([`server::TestServer`]) and the browser driver
//! ([`webdriver::Driver`], which ends chromedriver and its browser on drop, panic included).
//!
//! A story on PostgreSQL runs when `FANGKONG_TEST_POSTGRES` holds the URL of a server (`.ci/run`
//! sets it); it gets a brand-new database of its own, dropped when the story ends, panic included —
//! a copy of a migrated template ([`ScratchDatabase::migrated`]) rather than every migration run
//! again.
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
        ScratchDatabase::create_from(None).await
    }

    async fn create_from(template: Option<&str>) -> ScratchDatabase {
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
        let create = match template {
            Some(template) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
            None => format!("CREATE DATABASE \"{name}\""),
        };
        // Two copies of one template at the same moment can meet PostgreSQL's "source database is
        // being accessed by other users": wait a moment and try again.
        let mut attempt = 0;
        loop {
            match sqlx::raw_sql(sqlx::AssertSqlSafe(create.clone()))
                .execute(&mut connection)
                .await
            {
                Ok(_) => break,
                Err(e)
                    if attempt < 20 && e.to_string().contains("being accessed by other users") =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{create}: {e}"),
            }
        }
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

    /// A brand-new database already holding the schema: a copy of this build's migrated template
    /// (`CREATE DATABASE … TEMPLATE`, well under a second, where running every migration on an empty
    /// database took about five on this machine). The template is made once per migration set and
    /// kept on the server between runs; a changed migration gets a template of its own.
    pub async fn migrated() -> ScratchDatabase {
        let template = migrated_template().await;
        ScratchDatabase::create_from(Some(template)).await
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

/// The name of this build's migrated template database on the server of [`postgres_url`], made on
/// first use: migrated under a name of this process's own, then renamed into place, so a concurrent
/// test process never copies a half-migrated template (the loser of a race drops its own).
async fn migrated_template() -> &'static str {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            use sqlx::Connection;
            let admin_url = postgres_url().unwrap_or_else(|| panic!("{POSTGRES_ENV} is not set"));
            let name = format!(
                "fangkong_template_{}",
                fangkong_store::Store::postgres_migrations_fingerprint()
            );
            let mut connection = sqlx::PgConnection::connect(&admin_url)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} cannot be reached: {e}"));
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                    .bind(&name)
                    .fetch_optional(&mut connection)
                    .await
                    .expect("look for the template");
            if exists.is_none() {
                let building = ScratchDatabase::create().await;
                let store = fangkong_store::Store::open_postgres(building.url())
                    .await
                    .unwrap_or_else(|e| panic!("migrate the template database: {e}"));
                store.close().await;
                let renamed = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "ALTER DATABASE \"{}\" RENAME TO \"{name}\"",
                    building.name
                )))
                .execute(&mut connection)
                .await;
                match renamed {
                    // The database is the template now: nothing is left for the guard to drop.
                    Ok(_) => std::mem::forget(building),
                    Err(e) if e.to_string().contains("already exists") => drop(building),
                    Err(e) => panic!("publish the template database {name}: {e}"),
                }
            }
            connection
                .close()
                .await
                .expect("close the admin connection");
            name
        })
        .await
        .as_str()
}

/// Opens a store in `dir` (its file `fangkong.sqlite`) that starts as a copy of this build's
/// migrated SQLite template: the same schema the migrations make, without making it again for every
/// story. The template is a file in the system's temporary directory named by the migrations'
/// fingerprint, built once under a name of this process's own and renamed into place.
pub async fn sqlite_store_in(dir: &std::path::Path) -> fangkong_store::Store {
    use fangkong_store::Store;
    static TEMPLATE: tokio::sync::OnceCell<std::path::PathBuf> = tokio::sync::OnceCell::const_new();
    let template = TEMPLATE
        .get_or_init(|| async {
            let template = std::env::temp_dir().join(format!(
                "fangkong-template-{}.sqlite",
                Store::sqlite_migrations_fingerprint()
            ));
            if !template.exists() {
                let building = tempfile::tempdir().expect("temporary directory");
                let store = Store::open_sqlite_dir(building.path())
                    .await
                    .unwrap_or_else(|e| panic!("migrate the SQLite template: {e}"));
                // Closing the last connection checkpoints the write-ahead log into the file.
                store.close().await;
                let built = building.path().join("fangkong.sqlite");
                let staged = template.with_extension(format!("{}.part", std::process::id()));
                std::fs::copy(&built, &staged).expect("stage the SQLite template");
                std::fs::rename(&staged, &template).expect("publish the SQLite template");
            }
            template
        })
        .await;
    std::fs::create_dir_all(dir).expect("the store's directory");
    std::fs::copy(template, dir.join("fangkong.sqlite")).expect("copy the SQLite template");
    Store::open_sqlite_dir(dir)
        .await
        .unwrap_or_else(|e| panic!("open the SQLite copy: {e}"))
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
