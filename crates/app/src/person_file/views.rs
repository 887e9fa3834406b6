//! What the person file's page and API show: one struct per section, every personal number masked,
//! every time both as unix seconds (the API) and as Beijing time in words (the page).

use super::*;

/// A person's whole file (一人一档).
#[derive(Debug, Clone, Serialize)]
pub struct PersonFile {
    /// The key of the file's address (`/people/{key}`): the resident id for a registered person,
    /// else the record it was reached through (`case-5`, `contact-7`, `lead-3`, `measure-9`).
    pub key: String,
    pub person: PersonSummary,
    /// The badges of what holds now (case, contact, measure, code, open lead).
    pub badges: Vec<BadgeView>,
    /// The other members of the household, each with their badges.
    pub household: Vec<MemberEntry>,
    /// `None` when the person has no document (a contact known only by phone).
    pub code: Option<CodeEntry>,
    pub tests: Vec<TestEntry>,
    pub antigen: Vec<AntigenEntry>,
    pub rechecks: Vec<RecheckEntry>,
    pub cases: Vec<CaseEntry>,
    pub contacts: Vec<ContactEntry>,
    pub leads: Vec<LeadEntry>,
    pub measures: Vec<MeasureEntry>,
    pub passages: Vec<PassageEntry>,
    pub venue_visits: Vec<VisitEntry>,
    pub appeals: Vec<AppealEntry>,
}

/// Who the person is: the register entry, or what the record that names them says.
#[derive(Debug, Clone, Serialize)]
pub struct PersonSummary {
    pub name: PersonName,
    pub resident_id: Option<i64>,
    pub in_register: bool,
    pub id_type_label: String,
    pub id_number_masked: String,
    pub sex_label: String,
    pub birth_date: String,
    pub age: Option<u32>,
    pub phone_masked: String,
    pub address: Address,
    pub household_number: String,
    pub relation: String,
    pub grid_code: String,
    pub key_groups_label: String,
}

/// One status badge as lists and the file draw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BadgeView {
    pub code: &'static str,
    pub label: &'static str,
    /// `bad`, `warn` or `info`.
    pub tone: &'static str,
}

impl From<StatusBadge> for BadgeView {
    fn from(badge: StatusBadge) -> BadgeView {
        BadgeView {
            code: badge.code(),
            label: badge.label_zh(),
            tone: badge.tone(),
        }
    }
}

/// Another member of the household.
#[derive(Debug, Clone, Serialize)]
pub struct MemberEntry {
    pub resident_id: i64,
    pub name: PersonName,
    pub relation: String,
    pub age: u32,
    pub badges: Vec<BadgeView>,
}

/// The health code now, why, and its history.
#[derive(Debug, Clone, Serialize)]
pub struct CodeEntry {
    pub code: CodeView,
    /// When the code took its present colour (the newest change to it), if it ever changed.
    pub since: Option<i64>,
    pub since_label: String,
    pub facts: Vec<FactEntry>,
    pub changes: Vec<ChangeEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FactEntry {
    pub fact: FactView,
    pub anchor_label: String,
    pub ended_label: String,
    pub withdrawn: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeEntry {
    pub at: i64,
    pub at_label: String,
    pub from_colour: String,
    pub from_label: String,
    pub to_colour: String,
    pub to_label: String,
    pub summary: String,
}

/// A swab with its tube's result.
#[derive(Debug, Clone, Serialize)]
pub struct TestEntry {
    pub round_id: i64,
    pub round_name: String,
    pub tube_barcode: String,
    /// 单管 or 5混1 …
    pub pool_label: String,
    pub sampled_at: i64,
    pub sampled_label: String,
    pub result: Option<String>,
    pub result_label: String,
    pub lab_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AntigenEntry {
    pub tested_at: i64,
    pub tested_label: String,
    pub result: String,
    pub result_label: String,
    pub reporter: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecheckEntry {
    pub id: i64,
    pub reason_label: String,
    pub status: String,
    pub status_label: String,
    pub created_label: String,
    pub sampled_label: String,
}

/// Another case named from this one (infector or infectee). Its number is always shown; its
/// name and its link only when it lies inside the viewer's jurisdiction.
#[derive(Debug, Clone, Serialize)]
pub struct CaseLink {
    pub case_id: i64,
    pub case_number: String,
    pub kind_label: String,
    pub within: bool,
    /// Empty outside the jurisdiction.
    pub name: PersonName,
    /// The key of that person's file (`/people/{key}`), inside the jurisdiction only.
    pub person_key: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseEntry {
    pub id: i64,
    pub case_number: String,
    pub kind: String,
    pub kind_label: String,
    pub status: String,
    pub status_label: String,
    pub found_by_label: String,
    pub found_label: String,
    pub onset_date: String,
    pub severity_label: String,
    pub hospital: String,
    /// The case page may be opened (inside the jurisdiction).
    pub within: bool,
    pub infector: Option<CaseLink>,
    pub infector_note: String,
    pub infectees: Vec<CaseLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactEntry {
    pub id: i64,
    pub category: String,
    pub category_label: String,
    pub exposure_label: String,
    pub last_exposure_label: String,
    pub reason: String,
    pub status: String,
    pub status_label: String,
    /// The case the person was exposed to.
    pub case: CaseLink,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeadEntry {
    pub id: i64,
    pub channel_label: String,
    pub category_label: String,
    pub status: String,
    pub status_label: String,
    pub open: bool,
    pub overdue: bool,
    pub received_label: String,
    pub deadline_label: String,
    pub closed_label: String,
    pub measure_label: String,
    pub reason: String,
    pub within: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MeasureEntry {
    pub id: i64,
    pub category_label: String,
    pub status: String,
    pub status_label: String,
    pub day1: String,
    pub centralised_end: String,
    pub end_date: String,
    pub site_name: String,
    pub room_number: String,
    pub hospital_name: String,
    pub released_label: String,
    pub within: bool,
    pub tests: Vec<MeasureTestEntry>,
    pub check_ins: Vec<CheckInEntry>,
    pub transfers: Vec<TransferEntry>,
    pub admissions: Vec<AdmissionEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MeasureTestEntry {
    pub due_date: String,
    pub day: i64,
    pub result_label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckInEntry {
    pub at: i64,
    pub at_label: String,
    pub place_label: &'static str,
    /// "36.5℃".
    pub temperature: String,
    pub fever: bool,
    pub symptoms: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransferEntry {
    pub id: i64,
    pub plate: String,
    pub vehicle_label: String,
    pub destination: String,
    pub status_label: String,
    pub created_label: String,
    pub handed_over_label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdmissionEntry {
    pub hospital_name: String,
    pub admitted_label: String,
    pub discharged_label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PassageEntry {
    pub at: i64,
    pub at_label: String,
    pub checkpoint_name: String,
    pub colour_label: String,
    pub temperature: String,
    pub decision_label: String,
    pub reasons: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VisitEntry {
    pub at: i64,
    pub at_label: String,
    pub venue_name: String,
    pub colour_label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppealEntry {
    pub id: i64,
    pub filed_label: String,
    pub colour_label: String,
    pub reason: String,
    pub status: String,
    pub status_label: &'static str,
    pub decision: String,
}

/// The staff JSON of a person's code (`GET /api/people/{key}/code`).
#[derive(Debug, Clone, Serialize)]
pub struct PersonCodeBrief {
    pub key: String,
    pub id_number_masked: String,
    pub colour: String,
    pub colour_label: &'static str,
    pub popup: Option<String>,
    pub reasons: Vec<ReasonEntry>,
    pub summary: String,
    /// When the code took its present colour, if it ever changed.
    pub since: Option<i64>,
    /// When it turns green if nothing else happens.
    pub until: Option<i64>,
    pub until_label: String,
    pub badge_label: &'static str,
    pub policy_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReasonEntry {
    pub kind: String,
    pub kind_label: &'static str,
    pub colour: String,
    pub words: String,
    pub until: Option<i64>,
    pub popup: bool,
}

// ---------------------------------------------------------------------------------------------
// Building the entries from records
// ---------------------------------------------------------------------------------------------

/// Beijing time as every page writes it ("2022-11-20 14:30"); "—" for none.
pub(super) fn at_label(unix: Option<i64>) -> String {
    unix.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| {
            t.with_timezone(&china_offset())
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "—".into())
}

/// The Chinese label of a stored code, or the code itself when it is not one of the enum's.
pub(super) fn label_of<T>(
    code: &str,
    lookup: impl Fn(&str) -> Option<T>,
    label: impl Fn(T) -> &'static str,
) -> String {
    lookup(code)
        .map(|v| label(v).to_string())
        .unwrap_or_else(|| code.to_string())
}

pub(super) fn change_entry(change: &CodeChangeRecord) -> ChangeEntry {
    ChangeEntry {
        at: change.at,
        at_label: at_label(Some(change.at)),
        from_colour: change.from_colour.code().to_string(),
        from_label: change.from_colour.label_zh().to_string(),
        to_colour: change.to_colour.code().to_string(),
        to_label: change.to_colour.label_zh().to_string(),
        summary: change.summary.clone(),
    }
}

pub(super) fn fact_entry(record: &FactRecord) -> FactEntry {
    FactEntry {
        fact: fact_view(record),
        anchor_label: at_label(Some(record.anchor)),
        ended_label: at_label(record.ended_at),
        withdrawn: record.withdrawn_at.is_some(),
    }
}

pub(super) fn test_entry(result: &PersonResult) -> TestEntry {
    TestEntry {
        round_id: result.round_id,
        round_name: result.round_name.clone(),
        tube_barcode: result.tube_barcode.clone(),
        pool_label: if result.capacity <= 1 {
            "单管".into()
        } else {
            format!("{}混1", result.capacity)
        },
        sampled_at: result.sampled_at,
        sampled_label: at_label(Some(result.sampled_at)),
        result: result.result.map(|r| r.code().to_string()),
        result_label: result
            .result
            .map_or_else(|| "待出结果".into(), |r| r.label_zh().to_string()),
        lab_name: result.lab_name.clone().unwrap_or_default(),
    }
}

pub(super) fn antigen_entry(report: &AntigenReportRecord) -> AntigenEntry {
    AntigenEntry {
        tested_at: report.tested_at,
        tested_label: at_label(Some(report.tested_at)),
        result: report.result.code().to_string(),
        result_label: report.result.label_zh().to_string(),
        reporter: report.reporter.clone(),
    }
}

pub(super) fn recheck_entry(task: &RecheckTaskRecord) -> RecheckEntry {
    RecheckEntry {
        id: task.id,
        reason_label: task.reason.label_zh().to_string(),
        status: task.status.code().to_string(),
        status_label: task.status.label_zh().to_string(),
        created_label: at_label(Some(task.created_at)),
        sampled_label: at_label(task.sampled_at),
    }
}

pub(super) fn lead_entry(lead: &LeadRecord, within: bool, now: i64) -> LeadEntry {
    let open = lead.status.is_open();
    LeadEntry {
        id: lead.id,
        channel_label: lead.channel.label_zh().into(),
        category_label: lead.category.label_zh().into(),
        status: lead.status.code().into(),
        status_label: lead.status.label_zh().into(),
        open,
        overdue: open && lead.deadline < now,
        received_label: at_label(Some(lead.received_at)),
        deadline_label: at_label(Some(lead.deadline)),
        closed_label: at_label(lead.closed_at),
        measure_label: lead.measure.map_or("", ControlMeasure::label_zh).into(),
        reason: lead.reason.clone(),
        within,
    }
}

pub(super) fn check_in_entry(check_in: &CheckInRecord) -> CheckInEntry {
    CheckInEntry {
        at: check_in.at,
        at_label: at_label(Some(check_in.at)),
        place_label: if check_in.place == "home" {
            "居家"
        } else {
            "隔离点"
        },
        temperature: format!("{}.{}℃", check_in.tenths / 10, check_in.tenths % 10),
        fever: check_in.fever,
        symptoms: check_in.symptoms.clone(),
    }
}

pub(super) fn transfer_entry(transfer: &TransferRecord) -> TransferEntry {
    TransferEntry {
        id: transfer.id,
        plate: transfer.plate.clone(),
        vehicle_label: transfer.vehicle_kind.label_zh().into(),
        destination: transfer.destination.clone(),
        status_label: transfer.status.label_zh().into(),
        created_label: at_label(Some(transfer.created_at)),
        handed_over_label: at_label(transfer.handed_over_at),
    }
}

pub(super) fn passage_entry(passage: &PersonPassage) -> PassageEntry {
    PassageEntry {
        at: passage.at,
        at_label: at_label(Some(passage.at)),
        checkpoint_name: passage.checkpoint_name.clone(),
        colour_label: passage
            .colour
            .map_or_else(|| "—".into(), |c| c.label_zh().to_string()),
        temperature: passage
            .temperature
            .map(|t| format!("{t:.1}℃"))
            .unwrap_or_else(|| "—".into()),
        decision_label: if passage.decision == "rejected" {
            "码无法识别".into()
        } else {
            label_of(&passage.decision, Decision::from_code, Decision::label_zh)
        },
        reasons: passage.reasons.clone(),
    }
}

pub(super) fn visit_entry(visit: &PersonVenueVisit) -> VisitEntry {
    VisitEntry {
        at: visit.at,
        at_label: at_label(Some(visit.at)),
        venue_name: visit.venue_name.clone(),
        colour_label: visit.colour.label_zh().to_string(),
    }
}

pub(super) fn appeal_entry(appeal: &AppealRecord) -> AppealEntry {
    AppealEntry {
        id: appeal.id,
        filed_label: at_label(Some(appeal.filed_at)),
        colour_label: appeal.colour.label_zh().to_string(),
        reason: appeal.reason.clone(),
        status: appeal.status.clone(),
        status_label: match appeal.status.as_str() {
            "open" => "处理中",
            "accepted" => "已核实，已转绿",
            "rejected" => "未通过",
            _ => "未知",
        },
        decision: appeal.decision.clone().unwrap_or_default(),
    }
}

pub(super) fn reason_entry(reason: &CodeReason) -> ReasonEntry {
    ReasonEntry {
        kind: reason.kind.code().to_string(),
        kind_label: reason.kind.label_zh(),
        colour: reason.colour.code().to_string(),
        words: reason.words.clone(),
        until: reason.until.map(|t| t.timestamp()),
        popup: reason.popup,
    }
}
