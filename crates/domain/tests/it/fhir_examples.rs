//! FHIR R4 documents in the shapes of public material (HL7 R4 specification examples, US
//! public-health ELR bundles, German DEMIS notifications, multiplex panels; see
//! `tests/data/fhir/README.md`): only SARS-CoV-2 nucleic-acid results reach a tube, everything
//! else is the problem "不是新冠病毒核酸检测结果".

use fangkong_domain::lab_result::fhir::{NOT_NAA, parse_observations};
use fangkong_domain::lab_result::{
    LabResultRow, LocalTestCode, NaaCodes, ResultProblem, TestResult,
};

fn read(name: &str) -> Vec<Result<LabResultRow, ResultProblem>> {
    read_with(name, &NaaCodes::standard())
}

fn read_with(name: &str, codes: &NaaCodes) -> Vec<Result<LabResultRow, ResultProblem>> {
    let path = format!("{}/tests/data/fhir/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_observations(&bytes, codes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn not_naa(item: &Result<LabResultRow, ResultProblem>) -> bool {
    matches!(item, Err(p) if p.column == "code" && p.message.contains(NOT_NAA))
}

#[test]
fn the_standard_list_is_loaded_and_holds_only_nucleic_acid_presence_tests() {
    let codes = NaaCodes::standard();
    assert!(codes.len() >= 20, "{}", codes.len());
    for code in [
        "94500-6", "94309-2", "94533-7", "94534-5", "94306-8", "94759-8",
    ] {
        assert!(codes.accepts("http://loinc.org", code), "{code}");
        assert!(codes.accepts("http://loinc.org/", code), "{code}");
    }
    // Antigen, Ct, viral load, another coronavirus, and the right code in the wrong system.
    for code in [
        "94558-4", "94745-7", "94746-5", "94819-0", "88627-5", "600-7",
    ] {
        assert!(!codes.accepts("http://loinc.org", code), "{code}");
    }
    assert!(!codes.accepts("http://snomed.info/sct", "94500-6"));
}

#[test]
fn hl7_specification_examples_are_not_covid_results() {
    for name in [
        "hl7-body-weight.json",
        "hl7-oxygen-saturation.json",
        "hl7-blood-culture.json",
        "antigen-test.json",
    ] {
        let items = read(name);
        assert_eq!(items.len(), 1, "{name}");
        assert!(not_naa(&items[0]), "{name}: {:?}", items[0]);
    }
    let saturation = read("hl7-oxygen-saturation.json");
    let message = &saturation[0].as_ref().unwrap_err().message;
    assert!(
        message.contains("2708-6"),
        "names what was tested: {message}"
    );
}

#[test]
fn a_us_public_health_elr_bundle_gives_the_positive_of_its_specimen() {
    let items = read("us-elr-sars-cov-2-bundle.json");
    assert_eq!(items.len(), 1);
    let row = items[0].as_ref().unwrap();
    assert_eq!(row.tube_barcode, "130182000014");
    assert_eq!(row.result, TestResult::Positive);
    assert_eq!(row.lab_name.as_deref(), Some("Example Reference Lab"));
}

#[test]
fn a_demis_notification_keeps_sars_cov_2_and_refuses_anthrax() {
    let items = read("demis-notification.json");
    assert_eq!(items.len(), 2);
    let covid = items[0].as_ref().unwrap();
    assert_eq!(covid.tube_barcode, "130182000015");
    assert_eq!(covid.result, TestResult::Positive);
    assert!(not_naa(&items[1]), "{:?}", items[1]);
    assert!(
        items[1]
            .as_ref()
            .unwrap_err()
            .message
            .starts_with("第5条 Observation（id=bacd-pcr）"),
        "{:?}",
        items[1]
    );
}

#[test]
fn a_multiplex_panel_gives_the_sars_cov_2_member_not_the_influenza_row_before_it() {
    let items = read("multiplex-panel-bundle.json");
    // The panel is a grouping (no row); four members, one of them SARS-CoV-2.
    assert_eq!(items.len(), 4);
    let rows: Vec<&LabResultRow> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
    assert_eq!(rows.len(), 1, "{items:?}");
    assert_eq!(
        rows[0].tube_barcode, "130182000017",
        "inherited from the panel"
    );
    assert_eq!(rows[0].result, TestResult::Positive);
    assert_eq!(items.iter().filter(|i| not_naa(i)).count(), 3);
}

#[test]
fn a_panel_with_components_takes_the_sars_cov_2_component() {
    let items = read("component-panel.json");
    assert_eq!(items.len(), 1);
    let row = items[0].as_ref().unwrap();
    assert_eq!(row.tube_barcode, "130182000019");
    assert_eq!(row.result, TestResult::Positive);
    assert_eq!(row.ct_value.as_deref(), Some("24.1"));
}

#[test]
fn panel_components_that_disagree_are_refused() {
    let json = r#"{"resourceType":"Observation","status":"final",
      "code":{"coding":[{"system":"http://loinc.org","code":"94306-8"}]},
      "specimen":{"identifier":{"value":"T9"}},
      "component":[
        {"code":{"coding":[{"system":"http://loinc.org","code":"94533-7"}]},"valueString":"阳性"},
        {"code":{"coding":[{"system":"http://loinc.org","code":"94534-5"}]},"valueString":"阴性"}]}"#;
    let items = parse_observations(json.as_bytes(), &NaaCodes::standard()).unwrap();
    let problem = items[0].as_ref().unwrap_err();
    assert!(problem.message.contains("不一致"), "{problem:?}");
}

#[test]
fn a_labs_local_code_is_accepted_once_configured() {
    let json = r#"{"resourceType":"Observation","status":"final",
      "code":{"coding":[{"system":"urn:lis:gaocheng","code":"XG-NAT"}],"text":"新型冠状病毒核酸检测"},
      "specimen":{"identifier":{"value":"T10"}},
      "valueString":"阴性"}"#;
    let standard = parse_observations(json.as_bytes(), &NaaCodes::standard()).unwrap();
    assert!(not_naa(&standard[0]), "{standard:?}");
    let local = NaaCodes::standard().with_local(&[LocalTestCode {
        system: "urn:lis:gaocheng".into(),
        code: "XG-NAT".into(),
        display: "新冠核酸".into(),
    }]);
    let items = parse_observations(json.as_bytes(), &local).unwrap();
    assert_eq!(items[0].as_ref().unwrap().result, TestResult::Negative);
}

#[test]
fn an_observation_without_a_code_is_not_guessed() {
    let json = r#"{"resourceType":"Observation","status":"final",
      "specimen":{"identifier":{"value":"T11"}},"valueString":"阴性"}"#;
    let items = parse_observations(json.as_bytes(), &NaaCodes::standard()).unwrap();
    assert!(not_naa(&items[0]), "{items:?}");
}
