//! Conformance over the EU DCC test vectors (`dgc-testdata`, `*/2DCode/raw/*.json`).
//!
//! Each flag of EXPECTEDRESULTS that is present is checked against the step of the same name in
//! [`inspect_dcc`]: `true` means the step ran and passed, `false` that it ran and failed.
//! Not checked: EXPECTEDPICTUREDECODE (we decode no PNG, the PREFIX text is the input),
//! EXPECTEDENCODE and EXPECTEDVALIDOBJECT (about producing a certificate, not reading one), and
//! the stray EXPECTEDRESULTS flag of three ES files.

use std::path::{Path, PathBuf};

use fangkong_signed_code::{DccStep, DscTrustList, inspect_dcc, parse_clock, verify_dcc};
use serde_json::Value;

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/dcc-testdata"
);

fn vector_files() -> Vec<PathBuf> {
    let root = Path::new(DATA);
    assert!(
        root.is_dir(),
        "DCC test vectors missing: expected the dgc-testdata checkout at {} (the repository is checked out beside `shared/`)",
        root.display()
    );
    let mut files = Vec::new();
    for country in std::fs::read_dir(root).unwrap() {
        let raw = country.unwrap().path().join("2DCode/raw");
        if !raw.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&raw).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// `EXPTECTEDEXPIRED` (sic) is the BG/ES files' name for the expiration check.
const FLAGS: [(&str, DccStep); 9] = [
    ("EXPECTEDUNPREFIX", DccStep::Unprefix),
    ("EXPECTEDB45DECODE", DccStep::Base45),
    ("EXPECTEDCOMPRESSION", DccStep::Compression),
    ("EXPECTEDDECODE", DccStep::Decode),
    ("EXPECTEDVERIFY", DccStep::Verify),
    ("EXPECTEDEXPIRATIONCHECK", DccStep::Expiration),
    ("EXPTECTEDEXPIRED", DccStep::Expiration),
    ("EXPECTEDKEYUSAGE", DccStep::KeyUsage),
    ("EXPECTEDSCHEMAVALIDATION", DccStep::Schema),
];

fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn eu_dcc_test_vectors() {
    let files = vector_files();
    assert!(
        files.len() >= 160,
        "only {} vector files found under {DATA}",
        files.len()
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut notes = Vec::new();
    for path in &files {
        let name = path
            .strip_prefix(DATA)
            .unwrap_or(path)
            .display()
            .to_string();
        let case: Value = match std::fs::read_to_string(path).map(|t| serde_json::from_str(&t)) {
            Ok(Ok(v)) => v,
            other => {
                failures.push(format!("{name}: unreadable ({other:?})"));
                continue;
            }
        };
        let ctx = &case["TESTCTX"];
        let expected = &case["EXPECTEDRESULTS"];
        let mut trust = DscTrustList::new();
        if let Some(cert) = ctx["CERTIFICATE"].as_str()
            && let Err(e) = trust.add_certificate_base64(cert)
        {
            failures.push(format!("{name}: certificate refused: {e}"));
        }
        let clock = ctx["VALIDATIONCLOCK"].as_str().unwrap_or_default();
        let Some(now) = parse_clock(clock) else {
            failures.push(format!("{name}: VALIDATIONCLOCK {clock:?} unreadable"));
            continue;
        };
        let text = case["PREFIX"].as_str().unwrap_or_default();
        let inspection = inspect_dcc(&trust, text, now);
        let verdict = verify_dcc(&trust, text, now);
        assert_eq!(
            verdict.as_ref().err(),
            inspection.first_rejection(),
            "{name}: verify_dcc and inspect_dcc disagree"
        );

        for (flag, step) in FLAGS {
            let Some(want) = expected[flag].as_bool() else {
                continue;
            };
            checked += 1;
            match (want, inspection.outcome(step)) {
                (true, Some(Ok(()))) | (false, Some(Err(_))) => {}
                // The file expects this step to fail; it never ran because an earlier one
                // failed (CBO2: "wrong CWT structure" is not CBOR at all).
                (false, None) if inspection.first_rejection().is_some() => {
                    notes.push(format!(
                        "{name}: {flag}=false met by an earlier step: {}",
                        inspection.first_rejection().map_or("", |e| e.code())
                    ));
                }
                (_, got) => failures.push(format!(
                    "{name}: {flag}={want} but step {step:?} {}; first rejection: {:?}",
                    match got {
                        None => "did not run".to_owned(),
                        Some(Ok(())) => "passed".to_owned(),
                        Some(Err(e)) => format!("failed ({})", e.code()),
                    },
                    inspection.first_rejection().map(|e| e.code())
                )),
            }
        }
        if expected["EXPECTEDVALIDJSON"].as_bool() == Some(true) {
            checked += 1;
            match (&inspection.payload, case.get("JSON")) {
                (Some(got), Some(want)) if same_json(got, want) => {}
                // Known data error: the signed CBOR of this file says dr 14:45:01Z and sc
                // 14:34:56Z, its JSON says 12:45:01Z and 12:34:56Z (the generator shifted local
                // time +02:00 twice). We must show what was signed, so the JSON cannot match.
                (Some(got), Some(_))
                    if name.ends_with("FR/2DCode/raw/test_pcr_ok.json")
                        && got["t"][0]["dr"] == "2021-05-17T14:45:01Z"
                        && got["t"][0]["sc"] == "2021-05-16T14:34:56Z" =>
                {
                    notes.push(format!(
                        "{name}: EXPECTEDVALIDJSON not comparable: the file's JSON disagrees with its own signed CBOR (dr/sc shifted 2 h)"
                    ));
                }
                (got, want) => failures.push(format!(
                    "{name}: EXPECTEDVALIDJSON=true but payload differs:\n  got  {}\n  want {}",
                    got.as_ref().map_or("nothing".into(), |g| g.to_string()),
                    want.map_or("nothing".into(), |w| w.to_string())
                )),
            }
        }
        // A file that expects everything to pass must give a certificate.
        let all_true = FLAGS
            .iter()
            .all(|(f, _)| expected[*f].as_bool() != Some(false));
        if all_true
            && expected["EXPECTEDVERIFY"].as_bool() == Some(true)
            && expected["EXPECTEDEXPIRATIONCHECK"].as_bool() == Some(true)
            && expected["EXPECTEDSCHEMAVALIDATION"].as_bool() == Some(true)
            && let Err(e) = &verdict
        {
            failures.push(format!(
                "{name}: all flags true but verify_dcc refused: {}",
                e.code()
            ));
        }
    }
    eprintln!(
        "{} DCC vector files, {checked} expected results checked",
        files.len()
    );
    for line in &notes {
        eprintln!("{line}");
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} expected results not met:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
