//! Tests of reading FHIR documents: a realistic LIS bundle, single observations, result codes,
//! statuses, barcodes, times and garbage.

use super::*;
use crate::lab_result::JAN10_0800_BEIJING;

fn parse(json: &[u8]) -> Result<Vec<Result<LabResultRow, ResultProblem>>, String> {
    parse_observations(json, &NaaCodes::standard())
}

// ---- FHIR ----

/// A realistic LIS export: a batch of one county lab's results with the
/// patient, a bundled Specimen and Observations in several shapes.
const LAB_BUNDLE: &str = r##"{
  "resourceType": "Bundle",
  "id": "batch-20220110-001",
  "type": "collection",
  "timestamp": "2022-01-10T12:30:00+08:00",
  "entry": [
    {
      "fullUrl": "urn:uuid:6f1c2d5e-0001-4000-8000-000000000001",
      "resource": {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{ "text": "王秀英" }]
      }
    },
    {
      "fullUrl": "urn:uuid:6f1c2d5e-0002-4000-8000-000000000002",
      "resource": {
        "resourceType": "Specimen",
        "id": "spec-0002",
        "identifier": [{ "system": "http://fangkong.example/tube", "value": "130182000002" }],
        "type": { "text": "鼻咽拭子" }
      }
    },
    {
      "fullUrl": "urn:uuid:6f1c2d5e-0003-4000-8000-000000000003",
      "resource": {
        "resourceType": "Observation",
        "id": "obs-1",
        "contained": [
          {
            "resourceType": "Specimen",
            "id": "tube",
            "identifier": [{ "system": "http://fangkong.example/tube", "value": "130182000001" }]
          }
        ],
        "status": "final",
        "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory" }] }],
        "code": {
          "coding": [{ "system": "http://loinc.org", "code": "94500-6", "display": "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA with probe detection" }],
          "text": "新型冠状病毒核酸检测"
        },
        "subject": { "reference": "urn:uuid:6f1c2d5e-0001-4000-8000-000000000001" },
        "effectiveDateTime": "2022-01-10T08:00:00+08:00",
        "issued": "2022-01-10T11:02:13.512+08:00",
        "performer": [{ "reference": "Organization/lab-17", "display": "藁城区疾病预防控制中心实验室" }],
        "valueCodeableConcept": {
          "coding": [{ "system": "http://snomed.info/sct", "code": "260385009", "display": "Negative" }],
          "text": "阴性"
        },
        "specimen": { "reference": "#tube" },
        "component": [
          {
            "code": { "coding": [{ "system": "http://loinc.org", "code": "94511-3" }], "text": "ORF1ab Ct值" },
            "valueQuantity": { "value": 38.2, "system": "http://unitsofmeasure.org", "code": "{Ct_value}" }
          }
        ]
      }
    },
    {
      "fullUrl": "urn:uuid:6f1c2d5e-0004-4000-8000-000000000004",
      "resource": {
        "resourceType": "Observation",
        "id": "obs-2",
        "status": "corrected",
        "code": { "coding": [{ "system": "http://loinc.org", "code": "94500-6" }] },
        "effectiveDateTime": "2022-01-10T08:30:00",
        "performer": [{ "display": "藁城区疾病预防控制中心实验室" }],
        "valueCodeableConcept": {
          "coding": [{ "system": "http://loinc.org", "code": "LA6576-8", "display": "Positive" }]
        },
        "specimen": { "reference": "urn:uuid:6f1c2d5e-0002-4000-8000-000000000002" },
        "component": [
          {
            "code": { "text": "ORF1ab", "coding": [{ "system": "http://loinc.org", "code": "94511-3" }] },
            "valueQuantity": { "value": 28.4 }
          },
          {
            "code": { "text": "N", "coding": [{ "system": "http://loinc.org", "code": "94510-5" }] },
            "valueQuantity": { "value": 27.9 }
          },
          {
            "code": { "text": "内标" },
            "valueString": "通过"
          }
        ]
      }
    },
    {
      "resource": {
        "resourceType": "Observation",
        "id": "obs-3",
        "status": "preliminary",
        "code": { "coding": [{ "system": "http://loinc.org", "code": "94309-2" }] },
        "valueString": "阴性",
        "specimen": { "identifier": { "value": "130182000003" } }
      }
    },
    {
      "resource": {
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "information", "code": "informational" }]
      }
    },
    {
      "resource": {
        "resourceType": "Observation",
        "id": "obs-4",
        "status": "final",
        "code": { "text": "新冠核酸", "coding": [{ "system": "http://loinc.org/", "code": "94759-8" }] },
        "issued": "2022-01-10T01:00:00Z",
        "valueCodeableConcept": {
          "coding": [{ "system": "http://snomed.info/sct", "code": "455371000124106", "display": "Invalid result" }]
        },
        "specimen": { "reference": "Specimen/spec-0002" }
      }
    }
  ]
}"##;

#[test]
fn a_realistic_bundle_is_read_entry_by_entry() {
    let items = parse(LAB_BUNDLE.as_bytes()).unwrap();
    assert_eq!(
        items.len(),
        4,
        "Patient, Specimen and OperationOutcome are skipped"
    );

    // Contained Specimen, SNOMED negative, Ct by LOINC code.
    let first = items[0].as_ref().unwrap();
    assert_eq!(
        first,
        &LabResultRow {
            tube_barcode: "130182000001".into(),
            result: TestResult::Negative,
            tested_at: Some(JAN10_0800_BEIJING),
            lab_name: Some("藁城区疾病预防控制中心实验室".into()),
            ct_value: Some("38.2".into()),
        }
    );

    // Bundled Specimen through fullUrl, LOINC positive, offset-less Beijing time,
    // two labelled Ct values and a non-Ct component left out.
    let second = items[1].as_ref().unwrap();
    assert_eq!(second.tube_barcode, "130182000002");
    assert_eq!(second.result, TestResult::Positive);
    assert_eq!(second.tested_at, Some(JAN10_0800_BEIJING + 30 * 60));
    assert_eq!(second.ct_value.as_deref(), Some("ORF1ab 28.4; N 27.9"));

    // Preliminary: refused and named by its place in entry[].
    let third = items[2].as_ref().unwrap_err();
    assert_eq!(third.column, "status");
    assert_eq!(
        third.message,
        "第5条 Observation（id=obs-3）：结果尚未最终确认（status=preliminary）"
    );

    // Bundled Specimen through Specimen/id, SNOMED invalid, time from `issued`.
    let fourth = items[3].as_ref().unwrap();
    assert_eq!(fourth.tube_barcode, "130182000002");
    assert_eq!(fourth.result, TestResult::Invalid);
    assert_eq!(fourth.tested_at, Some(JAN10_0800_BEIJING + 3600));
    assert_eq!(fourth.lab_name, None);
    assert_eq!(fourth.ct_value, None);
}

#[test]
fn a_single_observation_is_one_item() {
    let json = r#"{
      "resourceType": "Observation",
      "status": "final",
      "code": { "coding": [{ "system": "http://loinc.org", "code": "94500-6" }] },
      "identifier": [{ "system": "urn:lab:sample", "value": "LAB-1" },
                     { "system": "http://fangkong.example/ns/Barcode/", "value": "130182000009" }],
      "effectiveDateTime": "2022-01-10 08:00:00",
      "valueCodeableConcept": { "coding": [{ "system": "http://snomed.info/sct/", "code": "10828004" }] }
    }"#;
    let items = parse(json.as_bytes()).unwrap();
    assert_eq!(
        items,
        [Ok(LabResultRow {
            tube_barcode: "130182000009".into(),
            result: TestResult::Positive,
            tested_at: Some(JAN10_0800_BEIJING),
            lab_name: None,
            ct_value: None,
        })]
    );
    // With a BOM in front, as Windows tools write it.
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), json.as_bytes()].concat();
    assert_eq!(parse(&with_bom).unwrap(), items);
}

/// An Observation of a SARS-CoV-2 PCR test (94500-6) unless `body` names its own code.
fn observation(body: &str) -> Result<LabResultRow, ResultProblem> {
    let code = if body.contains(r#""code":{"coding""#) {
        ""
    } else {
        r#""code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"#
    };
    let json = format!(r#"{{"resourceType":"Observation",{code}{body}}}"#);
    let mut items = parse(json.as_bytes()).unwrap();
    assert_eq!(items.len(), 1);
    items.remove(0)
}

const TUBE: &str = r#""specimen":{"identifier":{"value":"T1"}}"#;

#[test]
fn result_codes_texts_and_interpretations() {
    let cases = [
        (
            r#""valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260415000"}]}"#,
            TestResult::Negative,
        ),
        (
            r#""valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260373001"}]}"#,
            TestResult::Positive,
        ),
        (
            r#""valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"125154007"}]}"#,
            TestResult::Invalid,
        ),
        (
            r#""valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6577-6"}]}"#,
            TestResult::Negative,
        ),
        (
            r#""valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA11882-0"}]}"#,
            TestResult::Positive,
        ),
        (
            r#""valueCodeableConcept":{"text":"Not detected"}"#,
            TestResult::Negative,
        ),
        (r#""valueString":"阳性""#, TestResult::Positive),
        (
            r#""interpretation":[{"coding":[{"code":"NEG"}]}]"#,
            TestResult::Negative,
        ),
        (
            r#""interpretation":[{"coding":[{"code":"ND"}]}]"#,
            TestResult::Negative,
        ),
        (
            r#""interpretation":[{"coding":[{"code":"DET"}]}]"#,
            TestResult::Positive,
        ),
        (
            r#""interpretation":[{"coding":[{"code":"A"}]}]"#,
            TestResult::Positive,
        ),
        // Interpretation is only a fallback: the value wins.
        (
            r#""valueString":"阴性","interpretation":[{"coding":[{"code":"A"}]}]"#,
            TestResult::Negative,
        ),
    ];
    for (value, expected) in cases {
        let r = observation(&format!(r#""status":"final",{TUBE},{value}"#));
        assert_eq!(r.map(|r| r.result), Ok(expected), "{value}");
    }
}

#[test]
fn unusable_or_contradicting_results_are_refused_quoting_what_was_there() {
    let p = observation(&format!(
        r#""status":"final",{TUBE},"valueCodeableConcept":{{"coding":[{{"system":"http://snomed.info/sct","code":"419984006","display":"Inconclusive"}}]}}"#
    ))
    .unwrap_err();
    assert_eq!(p.column, "valueCodeableConcept");
    assert!(
        p.message
            .contains("http://snomed.info/sct|419984006（Inconclusive）"),
        "{}",
        p.message
    );

    let p = observation(&format!(
        r#""status":"final",{TUBE},"valueCodeableConcept":{{"coding":[{{"system":"http://snomed.info/sct","code":"260385009"}}],"text":"阳性"}}"#
    ))
    .unwrap_err();
    assert!(p.message.contains("前后矛盾"), "{}", p.message);

    let p = observation(&format!(r#""status":"final",{TUBE}"#)).unwrap_err();
    assert!(p.message.contains("没有检测结果"), "{}", p.message);

    let p = observation(&format!(
        r#""status":"final",{TUBE},"valueQuantity":{{"value":1}}"#
    ))
    .unwrap_err();
    assert!(p.message.contains("valueQuantity"), "{}", p.message);
}

#[test]
fn statuses_other_than_final_amended_corrected_are_refused() {
    for ok in ["final", "amended", "corrected"] {
        assert!(observation(&format!(r#""status":"{ok}",{TUBE},"valueString":"阴性""#)).is_ok());
    }
    for (status, words) in [
        ("registered", "结果尚未最终确认（status=registered）"),
        ("cancelled", "已取消"),
        ("entered-in-error", "录入错误"),
        ("unknown", "不是最终结果"),
    ] {
        let p = observation(&format!(
            r#""status":"{status}",{TUBE},"valueString":"阴性""#
        ))
        .unwrap_err();
        assert_eq!(p.column, "status");
        assert!(p.message.contains(words), "{}", p.message);
    }
    let p = observation(&format!(r#"{TUBE},"valueString":"阴性""#)).unwrap_err();
    assert!(p.message.contains("缺少结果状态"), "{}", p.message);
}

#[test]
fn a_missing_barcode_is_reported_with_everything_else_wrong() {
    let p = observation(r#""id":"x9","status":"preliminary","valueString":"阴性""#).unwrap_err();
    assert_eq!(p.column, "status、specimen.identifier");
    assert_eq!(
        p.message,
        "第1条 Observation（id=x9）：结果尚未最终确认（status=preliminary）；没有管码（specimen.identifier）"
    );

    let p = observation(
        r#""status":"final","valueString":"阴性","specimen":{"reference":"Specimen/nowhere"}"#,
    )
    .unwrap_err();
    assert_eq!(p.column, "specimen.identifier");
    assert!(
        p.message.contains("Specimen/nowhere 在文件中找不到"),
        "{}",
        p.message
    );
    assert!(
        p.message.starts_with("第1条 Observation："),
        "{}",
        p.message
    );
}

#[test]
fn times_in_fhir() {
    let time = |extra: &str| {
        observation(&format!(
            r#""status":"final",{TUBE},"valueString":"阴性",{extra}"#
        ))
    };
    assert_eq!(
        time(r#""effectiveDateTime":"2022-01-10T00:00:00Z""#)
            .unwrap()
            .tested_at,
        Some(JAN10_0800_BEIJING)
    );
    // A date only: `issued` gives the time, else there is none.
    assert_eq!(
        time(r#""effectiveDateTime":"2022-01-10","issued":"2022-01-10T08:00:00+08:00""#)
            .unwrap()
            .tested_at,
        Some(JAN10_0800_BEIJING)
    );
    assert_eq!(
        time(r#""effectiveDateTime":"2022-01""#).unwrap().tested_at,
        None
    );
    assert_eq!(
        time(r#""effectivePeriod":{"start":"2022-01-10T08:00:00"}"#)
            .unwrap()
            .tested_at,
        Some(JAN10_0800_BEIJING)
    );
    let p = time(r#""effectiveDateTime":"yesterday""#).unwrap_err();
    assert_eq!(p.column, "effectiveDateTime");
    assert!(p.message.contains("“yesterday”无法识别"), "{}", p.message);
}

#[test]
fn garbage_and_wrong_documents_are_one_error() {
    let err = parse(b"{not json").unwrap_err();
    assert!(err.contains("不是有效的 JSON"), "{err}");
    let err = parse("管码,结果\nT1,阴性".as_bytes()).unwrap_err();
    assert!(err.contains("不是有效的 JSON"), "{err}");
    let err = parse(br#"{"resourceType":"Patient"}"#).unwrap_err();
    assert!(err.contains("Patient"), "{err}");
    let err = parse(br#"[1,2]"#).unwrap_err();
    assert!(err.contains("不是 FHIR 资源"), "{err}");
    let err = parse(br#"{"status":"final"}"#).unwrap_err();
    assert!(err.contains("缺少 resourceType"), "{err}");
    let err = parse(br#"{"resourceType":"Bundle","entry":{}}"#).unwrap_err();
    assert!(err.contains("entry"), "{err}");
    assert_eq!(
        parse(br#"{"resourceType":"Bundle","type":"searchset","total":0}"#),
        Ok(vec![])
    );
}
