//! The architecture invariants of ARCHITECTURE.md, checked on the source tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `fangkong-*` crates (and a few outside crates of interest) a crate depends on, outside tests.
fn normal_dependencies(krate: &str) -> BTreeSet<String> {
    let manifest =
        std::fs::read_to_string(workspace().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let mut in_dependencies = false;
    let mut found = BTreeSet::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if !in_dependencies {
            continue;
        }
        if let Some(name) = line.split(['.', ' ', '=']).next().filter(|n| !n.is_empty()) {
            found.insert(name.to_string());
        }
    }
    found
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn each_crate_depends_only_on_the_layers_the_architecture_allows() {
    // domain ← store ← app ← web ← fangkong; sim → domain; seed → app + sim; signed_code is a pure
    // leaf used by app (signing, checking) and the binary (offline `verify`).
    let allowed: [(&str, &[&str]); 8] = [
        ("domain", &[]),
        ("signed_code", &[]),
        ("sim", &["fangkong-domain"]),
        ("store", &["fangkong-domain"]),
        (
            "app",
            &["fangkong-domain", "fangkong-signed-code", "fangkong-store"],
        ),
        ("web", &["fangkong-domain", "fangkong-app"]),
        ("seed", &["fangkong-domain", "fangkong-app", "fangkong-sim"]),
        (
            "fangkong",
            &[
                "fangkong-domain",
                "fangkong-app",
                "fangkong-web",
                "fangkong-sim",
                "fangkong-seed",
                "fangkong-signed-code",
            ],
        ),
    ];
    for (krate, layers) in allowed {
        let ours: BTreeSet<String> = normal_dependencies(krate)
            .into_iter()
            .filter(|d| d.starts_with("fangkong-"))
            .collect();
        let expected: BTreeSet<String> = layers.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            ours, expected,
            "crate {krate} depends on other fangkong crates than allowed"
        );
    }
}

#[test]
fn only_the_store_speaks_sql_and_the_domain_does_no_io() {
    for krate in [
        "domain",
        "signed_code",
        "sim",
        "app",
        "web",
        "seed",
        "fangkong",
    ] {
        assert!(
            !normal_dependencies(krate).contains("sqlx"),
            "{krate} must not depend on sqlx"
        );
    }
    for krate in ["domain", "signed_code"] {
        let deps = normal_dependencies(krate);
        for io in ["tokio", "sqlx", "axum", "reqwest", "rand"] {
            assert!(
                !deps.contains(io),
                "{krate} must do no IO and hold no randomness, but depends on {io}"
            );
        }
    }
    for file in rust_files(&workspace().join("crates/web/src"))
        .into_iter()
        .chain(rust_files(&workspace().join("crates/app/src")))
    {
        let text = std::fs::read_to_string(&file).unwrap();
        for sql in ["SELECT ", "INSERT INTO", "UPDATE residents", "DELETE FROM"] {
            assert!(
                !text.contains(sql),
                "{} contains SQL ({sql}); SQL lives in the store",
                file.display()
            );
        }
    }
}

#[test]
fn the_domain_reads_no_clock_and_no_files() {
    for file in rust_files(&workspace().join("crates/domain/src"))
        .into_iter()
        .chain(rust_files(&workspace().join("crates/signed_code/src")))
    {
        let text = std::fs::read_to_string(&file).unwrap();
        for forbidden in [
            "Utc::now",
            "Local::now",
            "SystemTime",
            "std::fs",
            "Instant::now",
        ] {
            assert!(
                !text.contains(forbidden),
                "{} uses {forbidden}",
                file.display()
            );
        }
    }
}

/// The jurisdiction boundary holds by construction: `web` reaches data only through `app`'s
/// functions (which take the `Actor` and check role and jurisdiction), never through the store, and
/// acts only as the user a session proves. `Actor` has a private field, so only `app` can write one;
/// the one public constructor, `Actor::seeding`, belongs to the data-loading tools.
#[test]
fn web_reaches_data_only_through_app_and_never_makes_or_changes_an_actor() {
    for file in rust_files(&workspace().join("crates/web/src")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (forbidden, why) in [
            (".store", "reaches the store past app's checks"),
            ("fangkong_store", "names the store crate"),
            ("sqlx", "names the database driver"),
            ("Actor::seeding", "makes an actor no session proves"),
            ("seed_actor", "makes an actor no session proves"),
            (".jurisdiction =", "changes an actor's jurisdiction"),
            (".role =", "changes an actor's role"),
            (".user_id =", "changes an actor's user"),
        ] {
            assert!(
                !text.contains(forbidden),
                "{} {why} ({forbidden}); go through an app function",
                file.display()
            );
        }
    }
    let app_lib = std::fs::read_to_string(workspace().join("crates/app/src/lib.rs")).unwrap();
    assert!(
        !app_lib.contains("pub store:") && !app_lib.contains("pub(crate) store:"),
        "App's store stays private; tools use App::store_for_tools"
    );
    let web_manifest = std::fs::read_to_string(workspace().join("crates/web/Cargo.toml")).unwrap();
    let normal = web_manifest
        .split("[dev-dependencies]")
        .next()
        .unwrap_or_default();
    assert!(
        !normal.contains("fangkong-seed"),
        "web must not depend on the seeding tools outside its tests"
    );
}

/// A target fetched by id goes through the one scoped loader (`app::scope::load_within`), so a new
/// function cannot fetch a record and forget whose it is: the jurisdiction comparison for found
/// records is made only in `scope.rs` (and defined in `lib.rs`).
#[test]
fn app_functions_fetch_targets_by_id_only_through_the_scoped_loader() {
    for file in rust_files(&workspace().join("crates/app/src")) {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        if name == "scope.rs" || name == "lib.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("require_found_within"),
            "{} checks a found record's jurisdiction by hand; use scope::load_within",
            file.display()
        );
    }
}

/// One form pattern in `web` (`web::forms`): a page form's token is checked by the `CsrfForm<T>`
/// extractor before its handler runs, so a new form cannot forget it. Only the login form (no
/// session yet) is a plain `Form`; multipart uploads check the token in `upload.rs`.
#[test]
fn page_forms_check_their_token_only_through_csrf_form() {
    for file in rust_files(&workspace().join("crates/web/src")) {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        if !matches!(name.as_str(), "forms.rs" | "session.rs" | "upload.rs") {
            assert!(
                !text.contains("check_csrf"),
                "{} checks a form token by hand; take a `CsrfForm<T>`",
                file.display()
            );
        }
        let plain_forms = text.matches("): Form<").count();
        let login = usize::from(name == "pages.rs" && text.contains("Form(form): Form<LoginForm>"));
        assert_eq!(
            plain_forms,
            login,
            "{} reads a page form without its token; take a `CsrfForm<T>`",
            file.display()
        );
    }
}
