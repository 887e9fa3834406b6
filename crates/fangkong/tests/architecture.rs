//! The architecture invariants of ARCHITECTURE.md, checked on the source tree.
//! Longer than 800 lines: the Debug allow-list names every type with its reason, one entry per type.

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
    // leaf used by app (signing, checking) and the binary (offline `verify`); pings (the Parquet
    // day files and the big-data kernels) is a pure leaf used by app (the jobs) and the binary
    // (`fangkong pings`, the demo's day files, the benchmark).
    let allowed: [(&str, &[&str]); 10] = [
        // The test kit builds worlds from the layers it tests and is only ever a dev-dependency
        // (checked below): nothing it holds reaches a build outside tests.
        (
            "testkit",
            &[
                "fangkong-domain",
                "fangkong-store",
                "fangkong-app",
                "fangkong-web",
                "fangkong-seed",
            ],
        ),
        ("domain", &[]),
        ("signed_code", &[]),
        ("pings", &[]),
        ("sim", &["fangkong-domain"]),
        ("store", &["fangkong-domain"]),
        (
            "app",
            &[
                "fangkong-domain",
                "fangkong-signed-code",
                "fangkong-store",
                "fangkong-pings",
            ],
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
                "fangkong-pings",
            ],
        ),
    ];
    let crates: BTreeSet<String> = std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    let listed: BTreeSet<String> = allowed.iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(crates, listed, "every crate has its allowed layers here");
    for (krate, _) in allowed {
        assert!(
            !normal_dependencies(krate).contains("fangkong-testkit"),
            "{krate} uses the test kit outside its tests"
        );
    }
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
        "pings",
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

/// Background work is supervised (`app::jobs`, run by `serve` and `demo`): no request path of `app`
/// spawns a task of its own. The exceptions, each with its reason: the supervisors in `jobs.rs` (the
/// jobs run in a `JoinSet`; a group-commit writer and its supervisor are two tasks, started with the
/// `App`), the statistics refresh the scan writer starts between its groups, and the pool test of
/// `blocking.rs`.
#[test]
fn app_spawns_tasks_only_in_the_supervisor_and_the_writers() {
    let allowed: &[(&str, usize)] = &[
        ("jobs.rs", 2),
        ("mass_testing/mod.rs", 1),
        ("blocking.rs", 1),
    ];
    let app_src = workspace().join("crates/app/src");
    for file in rust_files(&app_src) {
        let name = file
            .strip_prefix(&app_src)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let spawns = text.matches("tokio::spawn(").count();
        let most = allowed
            .iter()
            .find(|(allowed, _)| *allowed == name)
            .map(|(_, most)| *most)
            .unwrap_or(0);
        assert!(
            spawns <= most,
            "{} spawns {spawns} task(s); background work belongs in app::jobs",
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
        let login = usize::from(
            file.ends_with("platform/auth.rs") && text.contains("Form(form): Form<LoginForm>"),
        );
        assert_eq!(
            plain_forms,
            login,
            "{} reads a page form without its token; take a `CsrfForm<T>`",
            file.display()
        );
    }
}

/// The names a backticked glossary entry stands for: `A::{B, C}` is `A::B` and `A::C`, `f()` is `f`;
/// documents (`*.md`) are not code, and a `*` in a data path keeps the part before it.
fn glossary_names(span: &str) -> Vec<String> {
    if span.ends_with(".md") {
        return Vec::new();
    }
    if let Some((head, rest)) = span.split_once("::{") {
        return rest
            .trim_end_matches('}')
            .split(',')
            .map(|variant| format!("{head}::{}", variant.trim()))
            .collect();
    }
    let name = span.split('*').next().unwrap_or(span);
    vec![name.trim_end_matches("()").to_string()]
}

/// Every code name the glossary gives (the backticked ones) exists in the code, so the glossary
/// cannot keep a name the code has dropped. Comment lines do not count: a name only mentioned in a
/// comment is not in the code.
#[test]
fn every_code_name_in_the_glossary_exists_in_the_code() {
    let glossary = std::fs::read_to_string(workspace().join("docs/glossary.md")).unwrap();
    let code: String = rust_files(&workspace().join("crates"))
        .iter()
        .filter(|f| !f.components().any(|c| c.as_os_str() == "target"))
        .map(|f| std::fs::read_to_string(f).unwrap())
        .flat_map(|text| {
            text.lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .map(|l| format!("{l}\n"))
                .collect::<Vec<_>>()
        })
        .collect();
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    // Text found as is; an identifier must stand as a whole word (`cases`, not `test_cases`).
    let found_in = |text: &str, name: &str| {
        let identifier = name.chars().all(|c| is_word(c) || c == ':');
        text.match_indices(name).any(|(at, _)| {
            !identifier
                || (!text[..at].ends_with(is_word) && !text[at + name.len()..].starts_with(is_word))
        })
    };
    let occurs = |name: &str| {
        if found_in(&code, name) {
            return true;
        }
        let Some((head, last)) = name.split_once("::") else {
            return false;
        };
        // `domain::person_event`: a module of a crate of ours.
        let module = workspace().join("crates").join(head).join("src").join(last);
        if module.with_extension("rs").exists() || module.join("mod.rs").exists() {
            return true;
        }
        // `ExemptionKind::Bedridden`: a variant the code never spells with its enum's name.
        code.match_indices(&format!("enum {head} {{"))
            .any(|(at, _)| {
                let indent = code[..at]
                    .rsplit('\n')
                    .next()
                    .unwrap_or("")
                    .trim_end_matches("pub ");
                let body = &code[at..];
                let end = body.find(&format!("\n{indent}}}\n")).unwrap_or(body.len());
                found_in(&body[..end], last)
            })
    };
    let mut checked = 0;
    let mut missing = Vec::new();
    for (i, span) in glossary.split('`').enumerate() {
        if i % 2 == 0 {
            continue; // outside backticks
        }
        for name in glossary_names(span) {
            checked += 1;
            if !occurs(&name) {
                missing.push(name);
            }
        }
    }
    assert!(checked > 100, "the glossary's names were found ({checked})");
    assert!(
        missing.is_empty(),
        "docs/glossary.md names what the code does not have: {missing:?}"
    );
}

/// Files stay small enough to read: a source or test file over 800 lines says why at its top, in a
/// line `//! Longer than 800 lines: …` among its first 40 lines (a capability grows into a folder
/// along its sections instead; ARCHITECTURE.md's recipe).
#[test]
fn no_file_is_over_800_lines_without_its_reason_at_the_top() {
    let mut unexplained = Vec::new();
    for file in rust_files(&workspace().join("crates")) {
        if file.components().any(|c| c.as_os_str() == "target") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let lines = text.lines().count();
        let explained = text
            .lines()
            .take(40)
            .any(|line| line.starts_with("//! Longer than 800 lines: ") && line.len() > 40);
        if lines > 800 && !explained {
            unexplained.push(format!("{} ({lines} lines)", file.display()));
        }
    }
    assert!(
        unexplained.is_empty(),
        "over 800 lines without a reason at the top: {unexplained:#?}"
    );
}

/// Personal data cannot reach a log line through `Debug`, by construction: the fields that hold it
/// are domain types whose `Debug` masks (`IdDocument`, `PhoneNumber`, and `personal`'s `PersonName`,
/// `Address`, `DocumentNumber`), so rows, forms and events simply derive `Debug`. A hand-written
/// `Debug` belongs to the types that do the masking and to the few listed here with their reason;
/// a struct that derives `Debug` holds no ID number or phone as plain text, nor, when it holds one
/// of those, the person's name or address.
#[test]
fn debug_masks_personal_data_by_construction() {
    // (file under crates/, type): why its `Debug` is written by hand.
    let by_hand: &[(&str, &str, &str)] = &[
        (
            "domain/src/personal.rs",
            "$name",
            "the masking text types themselves",
        ),
        (
            "domain/src/ids.rs",
            "IdCardNumber",
            "the masking type itself",
        ),
        ("domain/src/ids.rs", "IdDocument", "the masking type itself"),
        (
            "domain/src/mass_testing/binding.rs",
            "ScannedPerson",
            "borrows the scanned document for one binding decision: prints its type only",
        ),
        (
            "domain/src/mass_testing/binding.rs",
            "RegisteredPerson",
            "the register's name loaded for one binding decision: prints the id only",
        ),
        (
            "domain/src/mass_testing/binding.rs",
            "Binding",
            "a binding decision with the name to store: prints everything but the name and grid",
        ),
        (
            "domain/src/phone.rs",
            "PhoneNumber",
            "the masking type itself",
        ),
        (
            "domain/src/resident_row.rs",
            "RawResidentRow",
            "an unchecked sheet row: every cell is raw text",
        ),
        (
            "domain/src/leads.rs",
            "LeadPerson",
            "raw text from a sender's push, checked later",
        ),
        (
            "signed_code/src/code.rs",
            "CodeSigner",
            "holds a signing key",
        ),
        (
            "signed_code/src/dcc.rs",
            "DscTrustList",
            "thousands of certificates: prints a count",
        ),
        (
            "app/src/health_code/mod.rs",
            "CodeRuntime",
            "holds the code keys",
        ),
        ("app/src/auth.rs", "UserChange", "may carry a new password"),
        ("app/src/jobs.rs", "Job", "a boxed step: prints its name"),
        (
            "app/src/leads/mod.rs",
            "$name",
            "lead forms and views of raw text from senders (one macro)",
        ),
        (
            "app/src/population/mod.rs",
            "ResidentView",
            "a page's view: the name and address as shown",
        ),
        (
            "app/src/isolation/views.rs",
            "RevealedPerson",
            "the audited full reveal: prints nothing",
        ),
        (
            "store/src/users.rs",
            "UserRecord",
            "holds the password hash",
        ),
        (
            "store/src/imports.rs",
            "ImportProblemRecord",
            "the raw text of a rejected row",
        ),
        (
            "store/src/investigation/mod.rs",
            "CaseWrite",
            "its event detail is JSON with the person's data",
        ),
        (
            "store/src/investigation/mod.rs",
            "ContactWrite",
            "its event detail is JSON with the person's data",
        ),
        (
            "store/src/mass_testing/mod.rs",
            "PersonEventRecord",
            "its detail is JSON with the person's data",
        ),
        (
            "store/src/health_code/mod.rs",
            "PassageRecord",
            "a vehicle's plate",
        ),
        (
            "store/src/isolation/mod.rs",
            "CheckInRecord",
            "symptoms are health data",
        ),
        (
            "app/src/warning/pharmacies.rs",
            "SaleInput",
            "a buyer's name, ID and phone as a pharmacy typed them (perhaps invalid): prints the sale's key only",
        ),
        (
            "app/src/supplies/vaccination.rs",
            "DoseForm",
            "a person's ID as the vaccination point typed it (perhaps invalid): prints the dose only",
        ),
        (
            "app/src/supplies/vaccination.rs",
            "ContraindicationForm",
            "a person's ID as typed (perhaps invalid): prints the reason only",
        ),
        (
            "store/src/warning/pharmacies.rs",
            "SaleWrite",
            "a buyer's name, ID and phone as the pharmacy gave them (a flagged ID is kept as typed)",
        ),
        (
            "store/src/warning/pharmacies.rs",
            "SaleRow",
            "a buyer's name, ID and phone (a flagged ID as typed): prints ids and status only",
        ),
        (
            "app/src/supplies/deliveries.rs",
            "DeliveryForm",
            "an ID: shows the category",
        ),
        (
            "app/src/supplies/deliveries.rs",
            "RequestDelivery",
            "an ID: shows the category",
        ),
        (
            "app/src/supplies/gatherings.rs",
            "GatheringForm",
            "IDs, a phone: shows kind, size",
        ),
        (
            "store/src/supplies/gatherings.rs",
            "GatheringRecord",
            "a name, a phone: shows ids",
        ),
        (
            "store/src/supplies/deliveries.rs",
            "DeliveryRecord",
            "name, phone: shows ids",
        ),
        (
            "store/src/warning/pharmacies.rs",
            "OpenRequirement",
            "a buyer's name, ID and phone for the lead: prints the sale and deadline only",
        ),
        (
            "store/src/supplies/passes.rs",
            "SupplyPersonRecord",
            "a supply driver's or staff member's name, ID and phone: prints ids and role only",
        ),
        (
            "store/src/supplies/passes.rs",
            "PassPersonRow",
            "a person on a pass with name and ID for the checkpoint: prints the person's id only",
        ),
        (
            "sim/src/generate.rs",
            "SimResident",
            "synthetic people, masked by hand like real ones",
        ),
        (
            "sim/src/plan.rs",
            "GridPlan",
            "a synthetic worker's phone, masked by hand",
        ),
    ];
    let identifying = |field: &str| {
        field == "id_number"
            || field == "phone"
            || field.starts_with("id_card")
            || field.ends_with("_phone")
            || field.ends_with("_id_number")
    };
    let describing = |field: &str| {
        matches!(field, "name" | "address" | "person_name" | "occupant_name")
            || field.ends_with("_address")
    };
    let plain_text = |ty: &str| {
        matches!(
            ty,
            "String" | "Option<String>" | "Vec<String>" | "&str" | "&'a str" | "Option<&str>"
        )
    };
    let crates = workspace().join("crates");
    let mut found_by_hand = Vec::new();
    let mut leaks = Vec::new();
    for krate in std::fs::read_dir(&crates).unwrap() {
        let path = krate.unwrap().path();
        let src = path.join("src");
        // The test kit's rows are invented people, built only inside tests.
        if !src.is_dir() || path.ends_with("testkit") {
            continue;
        }
        for file in rust_files(&src) {
            let name = file
                .strip_prefix(&crates)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&file).unwrap();
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            let mut derives_debug = false;
            for (i, line) in lines.iter().enumerate() {
                if line.starts_with("impl") && line.contains("Debug for ") {
                    let ty = line.split("Debug for ").nth(1).unwrap();
                    let ty = ty.split([' ', '<', '{']).next().unwrap().to_string();
                    found_by_hand.push((name.clone(), ty));
                }
                if line.starts_with("#[derive(") {
                    derives_debug |= line.contains("Debug");
                    continue;
                }
                if line.starts_with("#[") || line.starts_with("//") {
                    continue;
                }
                let declared = line
                    .trim_start_matches("pub(crate) ")
                    .trim_start_matches("pub(super) ")
                    .trim_start_matches("pub ");
                if derives_debug && declared.starts_with("struct ") && line.ends_with('{') {
                    let fields: Vec<(&str, &str)> = lines[i + 1..]
                        .iter()
                        .take_while(|l| **l != "}")
                        .filter(|l| !l.starts_with("//") && !l.starts_with("#["))
                        .filter_map(|l| l.split_once(": "))
                        .map(|(field, ty)| {
                            let field = field.rsplit(' ').next().unwrap();
                            (field, ty.trim_end_matches(','))
                        })
                        .collect();
                    let holds_a_person = fields.iter().any(|(field, _)| identifying(field));
                    for (field, ty) in &fields {
                        if plain_text(ty)
                            && (identifying(field) || (holds_a_person && describing(field)))
                        {
                            leaks.push(format!("{name}:{}: {declared} … {field}: {ty}", i + 1));
                        }
                    }
                }
                derives_debug = false;
            }
        }
    }
    let unlisted: Vec<_> = found_by_hand
        .iter()
        .filter(|(file, ty)| !by_hand.iter().any(|(f, t, _)| f == file && t == ty))
        .collect();
    assert!(
        unlisted.is_empty(),
        "hand-written Debug outside the list (give the fields a masking domain type and derive \
         Debug, or list the type with its reason): {unlisted:#?}"
    );
    let stale: Vec<_> = by_hand
        .iter()
        .filter(|(f, t, _)| !found_by_hand.iter().any(|(file, ty)| f == file && t == ty))
        .collect();
    assert!(
        stale.is_empty(),
        "listed but no longer written by hand: {stale:#?}"
    );
    assert!(
        leaks.is_empty(),
        "derived Debug prints personal data as plain text (use IdDocument, PhoneNumber, \
         DocumentNumber, PersonName or Address): {leaks:#?}"
    );
}

#[test]
fn every_audit_action_app_writes_has_chinese_words() {
    // The action is an argument of each audit call: `audit(app, actor, username, addr, ACTION, …)`,
    // `audit_by(app, actor, ACTION, …)`, `audit_record(app, actor, ACTION, …)`. The audit log page
    // shows its words, never the code. A standalone record (`audit`, `audit_by`: written on its
    // own, not inside a change's transaction) is only for what writes nothing else.
    const STANDALONE: [&str; 10] = [
        "reveal",
        "view_person_file",
        "view_health_code",
        "query_itinerary",
        "read_itinerary",
        "export",
        "login",
        "login_failed",
        "logout",
        // The summary of a contact-list upload whose every row was written with its own record.
        "import_contacts",
    ];
    // Files whose standalone call passes its action through: the helpers themselves.
    const PASSED_THROUGH: [&str; 1] = ["lib.rs"];
    let mut checked = 0;
    for file in rust_files(&workspace().join("crates/app/src")) {
        let text = std::fs::read_to_string(&file).unwrap();
        let relative = file
            .strip_prefix(workspace().join("crates/app/src"))
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for (name, position) in [("audit(", 4), ("audit_by(", 2), ("audit_record(", 2)] {
            for (at, _) in text.match_indices(name) {
                let before = text[..at].chars().last().unwrap_or(' ');
                if before.is_alphanumeric() || before == '_' || text[..at].ends_with("fn ") {
                    continue;
                }
                // The call's arguments, split at the commas outside nested brackets.
                let mut arguments = vec![String::new()];
                let mut depth = 0;
                for c in text[at + name.len()..].chars().take(600) {
                    match c {
                        '(' | '[' | '{' => depth += 1,
                        ')' | ']' | '}' if depth == 0 => break,
                        ')' | ']' | '}' => depth -= 1,
                        ',' if depth == 0 => {
                            arguments.push(String::new());
                            continue;
                        }
                        _ => {}
                    }
                    arguments.last_mut().unwrap().push(c);
                }
                let Some(argument) = arguments.get(position).map(|a| a.trim().to_string()) else {
                    continue;
                };
                let standalone = name != "audit_record(";
                let Some(action) = argument.strip_prefix('"').and_then(|a| a.strip_suffix('"'))
                else {
                    assert!(
                        !standalone || PASSED_THROUGH.contains(&relative.as_str()),
                        "{relative}: a standalone audit record whose action is not written out"
                    );
                    continue;
                };
                checked += 1;
                assert_ne!(
                    fangkong_app::audit::audit_action_label(action),
                    "其他操作",
                    "{relative}: audit action {action} has no words in app::audit::AUDIT_ACTIONS"
                );
                assert!(
                    !standalone || STANDALONE.contains(&action),
                    "{relative}: the change {action} writes its audit record on its own; pass it to the \
                     store write (audit_record) so both commit together"
                );
            }
        }
    }
    assert!(checked > 30, "only {checked} audit calls found");
}

#[test]
fn typed_beijing_times_are_read_only_by_domain_time() {
    // A time with an hour typed by a user (a form, a sheet, the command line) is read by one of
    // domain::time's named readings, so a date typed alone means the same thing everywhere it
    // is meant to. The files below read times of their own kind.
    const OWN_READERS: [(&str, &str); 4] = [
        ("domain/src/time.rs", "the one reader"),
        (
            "domain/src/lab_result/mod.rs",
            "lab results: FHIR instants with offsets, partial dates",
        ),
        ("domain/src/health_code/test_helpers.rs", "tests' fixtures"),
        ("domain/src/risk_area.rs", "its tests' fixtures"),
    ];
    let crates = workspace().join("crates");
    let mut found = Vec::new();
    for krate in ["domain", "store", "app", "web", "fangkong", "seed", "sim"] {
        for file in rust_files(&crates.join(krate).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            let relative = file
                .strip_prefix(&crates)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let reads_a_time = text.match_indices("parse_from_str(").any(|(at, _)| {
                let call: String = text[at..].chars().take(160).collect();
                call.contains("%H")
            });
            if (reads_a_time || text.contains("fn parse_beijing"))
                && !OWN_READERS.iter().any(|(path, _)| *path == relative)
            {
                found.push(relative);
            }
        }
    }
    assert!(
        found.is_empty(),
        "a Beijing time read outside domain::time (use or add a named reading there): {found:?}"
    );
}
