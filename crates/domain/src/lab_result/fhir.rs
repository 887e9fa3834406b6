//! Results exported by a lab's LIS as HL7 FHIR R4 JSON.
//!
//! Mapping from an `Observation` to a [`LabResultRow`]:
//!
//! - what was tested: `code.coding[]` must hold a SARS-CoV-2 nucleic-acid test of [`NaaCodes`]
//!   (LOINC presence tests and panels, plus a lab's local codes). An Observation with another code
//!   (a blood culture, an oxygen saturation, an antigen test, the influenza row of a multiplex
//!   panel) is one problem "不是新冠病毒核酸检测结果" and nothing else is read from it. In a
//!   panel Observation (another code, or a SARS-CoV-2 panel without a value of its own) the
//!   result is that of the `component[]`s whose code is accepted (several must agree). A panel
//!   whose `hasMember[]` are in the same Bundle is only a grouping: it gives no row, its members
//!   are read one by one and inherit its specimen when they have none.
//! - tube barcode: `specimen.identifier.value`; else the first
//!   `identifier[].value` (then `accessionIdentifier.value`) of the `Specimen`
//!   that `specimen.reference` points to: `#id` for one in `contained`,
//!   `Specimen/id` or the entry's `fullUrl` for one in the same Bundle; else an
//!   `identifier[]` of the Observation whose `system` ends in `tube` or
//!   `barcode`.
//! - result: `valueCodeableConcept.coding[]` — SNOMED CT 260385009 negative,
//!   260415000 not detected → 阴性; 10828004 positive, 260373001 detected →
//!   阳性; 455371000124106 invalid result, 125154007 specimen unsatisfactory →
//!   无效; LOINC LA6577-6 / LA11883-8 → 阴性, LA6576-8 / LA11882-0 → 阳性,
//!   LA15841-2 → 无效; then `valueCodeableConcept.text`, `coding[].display`
//!   and `valueString` read with [`TestResult::parse`]. If these disagree the
//!   entry is refused rather than guessed. Only when none of them gives a
//!   result: `interpretation[].coding[].code` N/NEG/ND → 阴性, POS/A/DET →
//!   阳性. Inconclusive, equivocal and presumptive-positive codes are refused
//!   on purpose: a person decides what they mean, not this code.
//! - `status` must be final, amended or corrected.
//! - tested_at: `effectiveDateTime` (also `effectiveInstant`,
//!   `effectivePeriod.start`), RFC 3339 or without offset meaning Beijing time;
//!   if it is only a date, `issued`; neither → `None`.
//! - lab_name: `performer[0].display`.
//! - ct_value: the `valueQuantity.value` of `component[]`s whose code says Ct
//!   (a word "Ct"/"CT" or "cycle threshold" in its text or display, LOINC
//!   94509-7/94510-5/94511-3, or unit `{Ct_value}`); several are joined as
//!   "ORF1ab 33.1; N 34.0".

use serde_json::Value;

use super::{
    CT_VALUE_MAX, LAB_NAME_MAX, LabResultRow, NaaCodes, ParsedTime, ResultProblem, TestResult,
    TimeSource, parse_time, quote,
};

const SNOMED: &str = "http://snomed.info/sct";
const LOINC: &str = "http://loinc.org";
/// E, N, ORF1ab gene and RNA Ct values.
const CT_LOINC_CODES: [&str; 5] = ["94509-7", "94510-5", "94511-3", "94745-7", "94746-5"];
/// The words of the problem every other test gets.
pub const NOT_NAA: &str = "不是新冠病毒核酸检测结果";
const CT_LABEL_MAX: usize = 16;

/// Parses a FHIR R4 JSON document: a single `Observation`, or a `Bundle` of
/// any type whose `entry[].resource` are Observations. Other resources in
/// the bundle are skipped (a `Specimen` may supply a barcode). Returns one
/// item per Observation, in order; a refused one is named by its position
/// in `entry[]` counted from 1 ("第3条 Observation：…"), so it can be found
/// in the file. A document that is not JSON, or is neither an Observation
/// nor a Bundle, is one error for the whole document. A Bundle without
/// Observations gives an empty list.
pub fn parse_observations(
    json: &[u8],
    codes: &NaaCodes,
) -> Result<Vec<Result<LabResultRow, ResultProblem>>, String> {
    let json = json.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(json);
    let doc: Value = serde_json::from_slice(json).map_err(|e| {
        format!(
            "文件不是有效的 JSON（第{}行第{}列附近出错），请确认上传的是检测机构导出的 FHIR JSON 文件",
            e.line(),
            e.column()
        )
    })?;
    if !doc.is_object() {
        return Err(
            "文件内容不是 FHIR 资源：应为 Observation 或 Bundle（resourceType）".to_string(),
        );
    }
    match doc.get("resourceType").and_then(Value::as_str) {
        Some("Observation") => Ok(vec![observation_to_row(&doc, 1, &[], codes, None)]),
        Some("Bundle") => parse_bundle(&doc, codes),
        Some(other) => Err(format!(
            "文件中的资源类型是 {}，应为 Observation 或 Bundle",
            quote(other)
        )),
        None => {
            Err("文件缺少 resourceType，不是 FHIR 资源：应为 Observation 或 Bundle".to_string())
        }
    }
}

/// A Specimen that sits in the bundle next to the Observations.
struct BundledSpecimen<'a> {
    full_url: Option<&'a str>,
    resource: &'a Value,
}

fn parse_bundle(
    doc: &Value,
    codes: &NaaCodes,
) -> Result<Vec<Result<LabResultRow, ResultProblem>>, String> {
    let entries = match doc.get("entry") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err("Bundle 的 entry 应为数组，文件格式不对".to_string()),
    };
    let specimens: Vec<BundledSpecimen> = entries
        .iter()
        .filter_map(|entry| match resource_of(entry) {
            Some(("Specimen", resource)) => Some(BundledSpecimen {
                full_url: entry.get("fullUrl").and_then(Value::as_str),
                resource,
            }),
            _ => None,
        })
        .collect();
    // Panels grouping members of this bundle (hasMember): member entry → panel entry.
    let mut parent_of: Vec<Option<usize>> = vec![None; entries.len()];
    let mut is_grouping = vec![false; entries.len()];
    for (p, entry) in entries.iter().enumerate() {
        let Some(("Observation", panel)) = resource_of(entry) else {
            continue;
        };
        if has_value(panel) {
            continue;
        }
        for member in array_at(panel, "hasMember") {
            let Some(reference) = text_at(member, "reference") else {
                continue;
            };
            let reference = without_history(reference);
            for (m, candidate) in entries.iter().enumerate() {
                if m != p
                    && parent_of[m].is_none()
                    && matches!(resource_of(candidate), Some(("Observation", _)))
                    && refers_to(reference, candidate, "Observation")
                {
                    parent_of[m] = Some(p);
                    is_grouping[p] = true;
                }
            }
        }
    }
    Ok(entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| match resource_of(entry) {
            Some(("Observation", resource)) if !is_grouping[i] => {
                let parent = parent_of[i].and_then(|p| entries[p].get("resource"));
                Some(observation_to_row(
                    resource,
                    i + 1,
                    &specimens,
                    codes,
                    parent,
                ))
            }
            _ => None,
        })
        .collect())
}

/// Whether bundle `entry` is what `reference` points to: its `fullUrl`, or `Type/id`.
fn refers_to(reference: &str, entry: &Value, kind: &str) -> bool {
    if entry
        .get("fullUrl")
        .and_then(Value::as_str)
        .is_some_and(|url| without_history(url) == reference)
    {
        return true;
    }
    entry
        .get("resource")
        .and_then(|r| text_at(r, "id"))
        .is_some_and(|id| {
            let relative = format!("{kind}/{id}");
            reference == relative || reference.ends_with(&format!("/{relative}"))
        })
}

/// Whether the Observation states a result of its own (any `value[x]`).
fn has_value(obs: &Value) -> bool {
    obs.as_object()
        .is_some_and(|o| o.keys().any(|k| k.starts_with("value")))
}

/// What an Observation's `code` says was tested.
enum Tested<'a> {
    /// A SARS-CoV-2 nucleic-acid test with its own value.
    Itself,
    /// A panel: the accepted components carry the result.
    Components(Vec<&'a Value>),
    /// Another test, described for the message.
    Other(String),
}

fn code_accepted(code: Option<&Value>, codes: &NaaCodes) -> bool {
    code.map_or(&[][..], |c| array_at(c, "coding"))
        .iter()
        .any(|coding| {
            let system = text_at(coding, "system").unwrap_or("");
            text_at(coding, "code").is_some_and(|code| codes.accepts(system, code))
        })
}

fn what_was_tested<'a>(obs: &'a Value, codes: &NaaCodes) -> Tested<'a> {
    let components: Vec<&Value> = array_at(obs, "component")
        .iter()
        .filter(|c| code_accepted(c.get("code"), codes))
        .collect();
    let accepted = code_accepted(obs.get("code"), codes);
    if accepted && (has_value(obs) || components.is_empty()) {
        return Tested::Itself;
    }
    if !components.is_empty() {
        return Tested::Components(components);
    }
    let code = obs.get("code");
    let described = code
        .and_then(|c| array_at(c, "coding").first().map(describe_coding))
        .or_else(|| code.and_then(|c| text_at(c, "text")).map(str::to_string));
    Tested::Other(match described {
        Some(d) => format!("检测项目为 {}", quote(&d)),
        None => "没有注明检测项目（code）".to_string(),
    })
}

/// The result of a panel's accepted components: all must say the same.
fn components_result(components: &[&Value]) -> Result<TestResult, String> {
    let mut found: Vec<TestResult> = Vec::new();
    for component in components {
        found.push(observed_result(component)?);
    }
    match found.first() {
        Some(first) if found.iter().all(|r| r == first) => Ok(*first),
        Some(_) => {
            let said: Vec<&str> = found.iter().map(|r| r.label_zh()).collect();
            Err(format!(
                "同一检测中新冠核酸各项结果不一致（{}），请与检测机构核实",
                said.join("、")
            ))
        }
        None => Err("没有检测结果".to_string()),
    }
}

/// An entry's resource with its type; entries without one (a DELETE in a
/// transaction, a response) have nothing for us.
fn resource_of(entry: &Value) -> Option<(&str, &Value)> {
    let resource = entry.get("resource")?;
    Some((resource.get("resourceType")?.as_str()?, resource))
}

fn text_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn array_at<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn observation_to_row(
    obs: &Value,
    position: usize,
    bundled: &[BundledSpecimen],
    codes: &NaaCodes,
    parent: Option<&Value>,
) -> Result<LabResultRow, ResultProblem> {
    let id = text_at(obs, "id")
        .map(|id| format!("（id={}）", quote(id)))
        .unwrap_or_default();
    let tested = what_was_tested(obs, codes);
    if let Tested::Other(what) = &tested {
        return Err(ResultProblem {
            column: "code".to_string(),
            message: format!("第{position}条 Observation{id}：{NOT_NAA}（{what}），未导入"),
        });
    }
    let mut problems: Vec<(&'static str, String)> = Vec::new();

    match obs.get("status").and_then(Value::as_str) {
        Some("final" | "amended" | "corrected") => {}
        Some(s @ ("preliminary" | "registered")) => {
            problems.push(("status", format!("结果尚未最终确认（status={s}）")));
        }
        Some("cancelled") => problems.push((
            "status",
            "检测已取消（status=cancelled），没有可导入的结果".to_string(),
        )),
        Some("entered-in-error") => problems.push((
            "status",
            "检测机构已将此结果标为录入错误（status=entered-in-error），不能导入".to_string(),
        )),
        Some(other) => problems.push((
            "status",
            format!(
                "结果状态“{}”不是最终结果（应为 final、amended 或 corrected）",
                quote(other)
            ),
        )),
        None => problems.push((
            "status",
            "缺少结果状态（status），无法确认是否为最终结果".to_string(),
        )),
    }

    let own_barcode = match parent {
        Some(panel) if obs.get("specimen").is_none() => tube_barcode(panel, bundled),
        _ => tube_barcode(obs, bundled),
    };
    let tube_barcode = match own_barcode {
        Ok(barcode) => Some(barcode),
        Err(message) => {
            problems.push(("specimen.identifier", message));
            None
        }
    };

    let result = match &tested {
        Tested::Components(components) => components_result(components),
        _ => observed_result(obs),
    };
    let result = match result {
        Ok(result) => Some(result),
        Err(message) => {
            problems.push(("valueCodeableConcept", message));
            None
        }
    };

    let tested_at = match tested_at(obs) {
        Ok(t) => t,
        Err((column, message)) => {
            problems.push((column, message));
            None
        }
    };

    let lab_name = array_at(obs, "performer")
        .first()
        .and_then(|p| text_at(p, "display"));
    if let Some(name) = lab_name
        && name.chars().count() > LAB_NAME_MAX
    {
        problems.push((
            "performer",
            format!(
                "检测机构名称太长：最多{LAB_NAME_MAX}个字，实际为{}个字",
                name.chars().count()
            ),
        ));
    }

    let ct_value = ct_value(obs);
    if let Some(ct) = &ct_value
        && ct.chars().count() > CT_VALUE_MAX
    {
        problems.push((
            "component",
            format!("CT值太长：最多{CT_VALUE_MAX}个字（{}）", quote(ct)),
        ));
    }

    match (tube_barcode, result) {
        (Some(tube_barcode), Some(result)) if problems.is_empty() => Ok(LabResultRow {
            tube_barcode,
            result,
            tested_at,
            lab_name: lab_name.map(str::to_string),
            ct_value,
        }),
        _ => {
            let mut columns: Vec<&str> = Vec::new();
            for (column, _) in &problems {
                if !columns.contains(column) {
                    columns.push(column);
                }
            }
            let messages: Vec<&str> = problems.iter().map(|(_, m)| m.as_str()).collect();
            Err(ResultProblem {
                column: columns.join("、"),
                message: format!("第{position}条 Observation{id}：{}", messages.join("；")),
            })
        }
    }
}

/// The barcode of a Specimen resource: its first identifier with a value,
/// else its accession identifier.
fn specimen_barcode(specimen: &Value) -> Option<String> {
    array_at(specimen, "identifier")
        .iter()
        .find_map(|id| text_at(id, "value"))
        .or_else(|| {
            specimen
                .get("accessionIdentifier")
                .and_then(|a| text_at(a, "value"))
        })
        .map(str::to_string)
}

/// `Specimen/abc/_history/2` → `Specimen/abc`.
fn without_history(reference: &str) -> &str {
    reference
        .find("/_history/")
        .map_or(reference, |i| &reference[..i])
}

fn find_specimen<'a>(
    obs: &'a Value,
    reference: &str,
    bundled: &'a [BundledSpecimen],
) -> Option<&'a Value> {
    if let Some(local) = reference.strip_prefix('#') {
        return array_at(obs, "contained").iter().find(|r| {
            r.get("resourceType").and_then(Value::as_str) == Some("Specimen")
                && r.get("id").and_then(Value::as_str) == Some(local)
        });
    }
    let reference = without_history(reference);
    bundled
        .iter()
        .find(|s| {
            if s.full_url
                .is_some_and(|url| without_history(url) == reference)
            {
                return true;
            }
            text_at(s.resource, "id").is_some_and(|id| {
                let relative = format!("Specimen/{id}");
                reference == relative || reference.ends_with(&format!("/{relative}"))
            })
        })
        .map(|s| s.resource)
}

fn tube_barcode(obs: &Value, bundled: &[BundledSpecimen]) -> Result<String, String> {
    let specimen = obs.get("specimen");
    if let Some(value) = specimen
        .and_then(|s| s.get("identifier"))
        .and_then(|id| text_at(id, "value"))
    {
        return Ok(value.to_string());
    }
    let mut why = String::new();
    if let Some(reference) = specimen.and_then(|s| text_at(s, "reference")) {
        match find_specimen(obs, reference, bundled) {
            Some(found) => match specimen_barcode(found) {
                Some(barcode) => return Ok(barcode),
                None => why = format!("：引用的标本 {} 没有编号", quote(reference)),
            },
            None => why = format!("：引用的标本 {} 在文件中找不到", quote(reference)),
        }
    }
    let by_system = array_at(obs, "identifier").iter().find_map(|id| {
        let system = text_at(id, "system")?
            .trim_end_matches('/')
            .to_ascii_lowercase();
        if system.ends_with("tube") || system.ends_with("barcode") {
            text_at(id, "value")
        } else {
            None
        }
    });
    match by_system {
        Some(value) => Ok(value.to_string()),
        None => Err(format!("没有管码（specimen.identifier）{why}")),
    }
}

fn coded_result(system: &str, code: &str) -> Option<TestResult> {
    match (system.trim_end_matches('/'), code.trim()) {
        (SNOMED, "260385009" | "260415000") => Some(TestResult::Negative),
        (SNOMED, "10828004" | "260373001") => Some(TestResult::Positive),
        (SNOMED, "455371000124106" | "125154007") => Some(TestResult::Invalid),
        (LOINC, "LA6577-6" | "LA11883-8") => Some(TestResult::Negative),
        (LOINC, "LA6576-8" | "LA11882-0") => Some(TestResult::Positive),
        (LOINC, "LA15841-2") => Some(TestResult::Invalid),
        _ => None,
    }
}

fn interpretation_result(code: &str) -> Option<TestResult> {
    match code.trim().to_ascii_uppercase().as_str() {
        "N" | "NEG" | "ND" => Some(TestResult::Negative),
        "POS" | "A" | "DET" => Some(TestResult::Positive),
        _ => None,
    }
}

/// "system|code（display）" for quoting a coding back.
fn describe_coding(coding: &Value) -> String {
    let system = text_at(coding, "system").unwrap_or("");
    let code = text_at(coding, "code").unwrap_or("");
    let mut text = if system.is_empty() {
        code.to_string()
    } else {
        format!("{system}|{code}")
    };
    if let Some(display) = text_at(coding, "display") {
        text.push_str(&format!("（{display}）"));
    }
    text
}

/// Every reading of the result the Observation offers must agree: a coded
/// negative with the text 阳性 is a lab-side error worth a phone call, not
/// a coin toss.
fn observed_result(obs: &Value) -> Result<TestResult, String> {
    let concept = obs.get("valueCodeableConcept");
    let codings = concept.map_or(&[][..], |c| array_at(c, "coding"));
    let mut found: Vec<(TestResult, String)> = Vec::new();
    for coding in codings {
        if let (Some(system), Some(code)) = (text_at(coding, "system"), text_at(coding, "code"))
            && let Some(r) = coded_result(system, code)
        {
            found.push((r, describe_coding(coding)));
        }
    }
    let mut texts: Vec<(&str, &str)> = Vec::new();
    if let Some(text) = concept.and_then(|c| text_at(c, "text")) {
        texts.push(("text", text));
    }
    for coding in codings {
        if let Some(display) = text_at(coding, "display") {
            texts.push(("display", display));
        }
    }
    if let Some(text) = text_at(obs, "valueString") {
        texts.push(("valueString", text));
    }
    for (_, text) in &texts {
        if let Some(r) = TestResult::parse(text) {
            found.push((r, format!("“{}”", quote(text))));
        }
    }

    if found.is_empty() {
        for interpretation in array_at(obs, "interpretation") {
            for coding in array_at(interpretation, "coding") {
                if let Some(code) = text_at(coding, "code")
                    && let Some(r) = interpretation_result(code)
                {
                    found.push((r, format!("interpretation {code}")));
                }
            }
        }
    }

    if let Some((first, _)) = found.first() {
        if found.iter().all(|(r, _)| r == first) {
            return Ok(*first);
        }
        let said: Vec<String> = found
            .iter()
            .map(|(r, source)| format!("{source} 表示{}", r.label_zh()))
            .collect();
        return Err(format!(
            "检测结果前后矛盾：{}，请与检测机构核实",
            said.join("，")
        ));
    }

    // Nothing usable: quote what was there.
    let mut seen: Vec<String> = codings.iter().map(describe_coding).collect();
    seen.extend(
        texts
            .iter()
            .map(|(what, t)| format!("{what}“{}”", quote(t))),
    );
    if !seen.is_empty() {
        return Err(format!(
            "看不出检测结果是阴性、阳性还是无效：{}",
            seen.join("、")
        ));
    }
    if let Some(reason) = obs.get("dataAbsentReason") {
        let text = text_at(reason, "text")
            .map(str::to_string)
            .or_else(|| array_at(reason, "coding").first().map(describe_coding))
            .unwrap_or_default();
        return Err(format!(
            "没有检测结果（dataAbsentReason：{}）",
            quote(&text)
        ));
    }
    let other_value = obs
        .as_object()
        .and_then(|o| o.keys().find(|k| k.starts_with("value")));
    match other_value {
        Some(key) => Err(format!(
            "检测结果是 {key}，应为表示阴性、阳性或无效的编码（valueCodeableConcept）"
        )),
        None => Err("没有检测结果（valueCodeableConcept、valueString 都没有）".to_string()),
    }
}

/// The first full date-time among the effective[x] elements, then
/// `issued`. A date without a time falls through to the next; a value that
/// is not a date at all is an error.
fn tested_at(obs: &Value) -> Result<Option<i64>, (&'static str, String)> {
    let candidates: [(&'static str, Option<&str>); 4] = [
        ("effectiveDateTime", text_at(obs, "effectiveDateTime")),
        ("effectiveInstant", text_at(obs, "effectiveInstant")),
        (
            "effectivePeriod",
            obs.get("effectivePeriod").and_then(|p| text_at(p, "start")),
        ),
        ("issued", text_at(obs, "issued")),
    ];
    for (column, text) in candidates {
        let Some(text) = text else { continue };
        match parse_time(text, TimeSource::Fhir) {
            Some(ParsedTime::At(t)) => return Ok(Some(t)),
            Some(ParsedTime::DateOnly) => continue,
            Some(ParsedTime::ExcelDay(_)) | None => {
                return Err((
                    column,
                    format!("检测时间“{}”无法识别（{column}）", quote(text)),
                ));
            }
        }
    }
    Ok(None)
}

fn is_ct_component(component: &Value) -> bool {
    let code = component.get("code");
    let codings = code.map_or(&[][..], |c| array_at(c, "coding"));
    let mut labels: Vec<&str> = code.and_then(|c| text_at(c, "text")).into_iter().collect();
    labels.extend(codings.iter().filter_map(|c| text_at(c, "display")));
    let says_ct = labels.iter().any(|label| {
        label
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| word == "Ct" || word == "CT" || word == "ct")
            || label.to_ascii_lowercase().contains("cycle threshold")
    });
    let ct_loinc = codings.iter().any(|c| {
        text_at(c, "system").map(|s| s.trim_end_matches('/')) == Some(LOINC)
            && text_at(c, "code").is_some_and(|code| CT_LOINC_CODES.contains(&code))
    });
    let ct_unit = component
        .get("valueQuantity")
        .and_then(|q| text_at(q, "code"))
        .is_some_and(|unit| unit.eq_ignore_ascii_case("{Ct_value}"));
    says_ct || ct_loinc || ct_unit
}

fn component_value(component: &Value) -> Option<String> {
    match component.get("valueQuantity").and_then(|q| q.get("value")) {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => text_at(component, "valueString").map(str::to_string),
    }
}

/// A short name for one Ct value among several ("ORF1ab", "N"): the code's
/// text if short, else none (LOINC displays are a sentence long).
fn component_label(component: &Value) -> Option<&str> {
    let code = component.get("code")?;
    text_at(code, "text")
        .or_else(|| {
            array_at(code, "coding")
                .iter()
                .find_map(|c| text_at(c, "display"))
        })
        .filter(|label| label.chars().count() <= CT_LABEL_MAX)
}

fn ct_value(obs: &Value) -> Option<String> {
    let cts: Vec<(Option<&str>, String)> = array_at(obs, "component")
        .iter()
        .filter(|c| is_ct_component(c))
        .filter_map(|c| Some((component_label(c), component_value(c)?)))
        .collect();
    match cts.as_slice() {
        [] => None,
        [(_, value)] => Some(value.clone()),
        many => {
            let labelled: Vec<String> = many
                .iter()
                .map(|(label, value)| match label {
                    Some(label) => format!("{label} {value}"),
                    None => value.clone(),
                })
                .collect();
            let labelled = labelled.join("; ");
            if labelled.chars().count() <= CT_VALUE_MAX {
                Some(labelled)
            } else {
                let values: Vec<&str> = many.iter().map(|(_, v)| v.as_str()).collect();
                Some(values.join("; "))
            }
        }
    }
}

#[cfg(test)]
#[path = "fhir_tests.rs"]
mod tests;
