//! One person, one file (一人一档): everything fangkong knows about a person on one page and in
//! one API answer — the register entry and household, the health code with its reasons and
//! history, swabs, antigen reports and rechecks, cases and contact records with their links,
//! leads, measures with site, room, transfers, hospital and check-ins, checkpoint passages, venue
//! visits and appeals — and the status badges the register's lists show beside each name.
//!
//! A file is reached by the register's resident id, or, for someone not in the register, by a
//! record that names them ([`PersonRef`]). Either way the target is fetched through
//! [`load_within`], and a person registered outside the viewer's jurisdiction answers exactly
//! like a missing one. Numbers are masked; opening a file is audited (`view_person_file`) before
//! anything is returned, as every other view that gathers a person's health data is.
//!
//! Read-only: the file assembles from the stores of the other capabilities and changes nothing.

mod badges;
mod views;

pub use badges::*;
pub use views::*;

use std::collections::HashMap;

use fangkong_domain::checkpoint::Decision;
use fangkong_domain::health_code::CodeReason;
use fangkong_domain::ids::IdType;
use fangkong_domain::investigation::{CaseStatus, ContactStatus};
use fangkong_domain::isolation::MeasureStatus;
use fangkong_domain::leads::ControlMeasure;
use fangkong_domain::person::{Sex, age_on, key_groups_from_codes, key_groups_label_zh};
use fangkong_domain::person_status::{StatusBadge, StatusSource, badges_of};
use fangkong_domain::personal::{Address, DocumentNumber, PersonName};
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::role::Permission;
use fangkong_store::health_code::{PersonPassage, PersonVenueVisit};
use fangkong_store::investigation::{CaseRecord, ContactRecord};
use fangkong_store::population::{ResidentStatusRow, StatusScope};
use fangkong_store::{
    AntigenReportRecord, AppealRecord, CheckInRecord, CodeChangeRecord, CodePerson, FactRecord,
    LeadRecord, MeasureRecord, PersonResult, RecheckTaskRecord, ResidentRecord, TransferRecord,
};
use serde::Serialize;

use crate::health_code::{CodeView, FactView, fact_view};
use crate::population::{mask_document, mask_phone};
use crate::scope::{ensure_within, load_within};
use crate::{Actor, App, AppError, AppResult, audit_by, china_offset};

/// How a person's file is named in its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonRef {
    /// A registered resident (`/people/123`).
    Resident(i64),
    /// The person a case is about (`/people/case-5`).
    Case(i64),
    /// The person of a contact record (`/people/contact-7`).
    Contact(i64),
    /// The person a lead names (`/people/lead-3`).
    Lead(i64),
    /// The person under a measure (`/people/measure-9`).
    Measure(i64),
}

/// What a user calls the target of a file that cannot be found.
const PERSON: &str = "该人员";

impl PersonRef {
    /// Reads a file's key; anything else is not found (as a missing person is).
    pub fn parse(key: &str) -> AppResult<PersonRef> {
        let key = key.trim();
        let number = |text: &str| text.parse::<i64>().ok().filter(|id| *id > 0);
        let parsed = match key.split_once('-') {
            None => number(key).map(PersonRef::Resident),
            Some(("case", id)) => number(id).map(PersonRef::Case),
            Some(("contact", id)) => number(id).map(PersonRef::Contact),
            Some(("lead", id)) => number(id).map(PersonRef::Lead),
            Some(("measure", id)) => number(id).map(PersonRef::Measure),
            Some(_) => None,
        };
        parsed.ok_or(AppError::NotFound(PERSON))
    }

    /// The key of the address (`123`, `case-5` …).
    pub fn key(self) -> String {
        match self {
            PersonRef::Resident(id) => id.to_string(),
            PersonRef::Case(id) => format!("case-{id}"),
            PersonRef::Contact(id) => format!("contact-{id}"),
            PersonRef::Lead(id) => format!("lead-{id}"),
            PersonRef::Measure(id) => format!("measure-{id}"),
        }
    }
}

/// The key of a person's file from a record naming them: the register entry when there is one.
pub fn person_key(resident_id: Option<i64>, or: PersonRef) -> String {
    resident_id.map_or_else(|| or.key(), |id| id.to_string())
}

/// Who a file is about, resolved and checked against the jurisdiction.
struct Subject {
    /// The canonical key: the resident id when registered.
    key: String,
    resident: Option<ResidentRecord>,
    /// The document, when one is known (`None` for a contact or lead known only by phone).
    person: Option<CodePerson>,
    /// What the record it was reached through says (for someone not in the register).
    named: Named,
    /// The record it was reached through, shown even when no document links it to the rest.
    anchor: Anchor,
}

/// A person as a record names them.
#[derive(Default)]
struct Named {
    name: String,
    id_type: String,
    id_number: DocumentNumber,
    phone: Option<PhoneNumber>,
    address: String,
    grid_code: String,
    sex: String,
    birth_date: String,
}

enum Anchor {
    Resident,
    Case(Box<CaseRecord>),
    Contact(Box<ContactRecord>),
    Lead(Box<LeadRecord>),
    Measure(Box<MeasureRecord>),
}

impl App {
    /// Resolves a file's key within `actor`'s jurisdiction: the record it names must lie inside it,
    /// and so must the register entry of the person it names, if any. Outside is not found.
    async fn subject(&self, actor: &Actor, target: PersonRef) -> AppResult<Subject> {
        let (named, anchor, resident_id) = match target {
            PersonRef::Resident(id) => {
                let resident = load_within(actor, self.store.resident(id)).await?;
                let person = Some(CodePerson {
                    id_type: resident.id_type.clone(),
                    id_number: resident.id_number.clone(),
                });
                return Ok(Subject {
                    key: resident.id.to_string(),
                    named: Named::default(),
                    resident: Some(resident),
                    person,
                    anchor: Anchor::Resident,
                });
            }
            PersonRef::Case(id) => {
                let case = load_within(actor, self.store.case(id)).await?;
                let named = Named {
                    name: case.name.to_string(),
                    id_type: case.id_type.clone(),
                    id_number: case.id_number.clone(),
                    phone: case.phone.clone(),
                    address: case.address.to_string(),
                    grid_code: case.grid_code.clone(),
                    sex: case.sex.map_or("", |sex| sex.label_zh()).to_string(),
                    birth_date: case.birth_date.clone(),
                };
                let resident = case.resident_id;
                (named, Anchor::Case(Box::new(case)), resident)
            }
            PersonRef::Contact(id) => {
                let contact = load_within(actor, self.store.contact(id)).await?;
                let named = Named {
                    name: contact.name.to_string(),
                    id_type: contact.id_type.clone(),
                    id_number: contact.id_number.clone(),
                    phone: contact.phone.clone(),
                    address: contact.address.to_string(),
                    grid_code: contact.grid_code.clone(),
                    ..Named::default()
                };
                let resident = contact.resident_id;
                (named, Anchor::Contact(Box::new(contact)), resident)
            }
            PersonRef::Lead(id) => {
                let lead = load_within(actor, self.store.lead(id)).await?;
                let named = Named {
                    name: lead.name.to_string(),
                    id_type: lead.id_type.map_or("", IdType::code).into(),
                    id_number: lead.id_number.clone(),
                    phone: lead.phone.clone(),
                    address: lead.address.to_string(),
                    grid_code: lead.grid_code.clone(),
                    ..Named::default()
                };
                let resident = lead.resident_id;
                (named, Anchor::Lead(Box::new(lead)), resident)
            }
            PersonRef::Measure(id) => {
                let measure = load_within(actor, self.store.isolation_measure(id)).await?;
                let named = Named {
                    name: measure.name.to_string(),
                    id_type: measure.id_type.clone(),
                    id_number: measure.id_number.clone(),
                    phone: measure.phone.clone(),
                    address: measure.address.to_string(),
                    grid_code: measure.grid_code.clone(),
                    birth_date: measure.birth_date.clone(),
                    ..Named::default()
                };
                let resident = measure.resident_id;
                (named, Anchor::Measure(Box::new(measure)), resident)
            }
        };
        // The register entry: by the id the record kept, else by the document.
        let mut resident = match resident_id {
            Some(id) => self.store.resident(id).await?,
            None => None,
        };
        if resident.is_none() && !named.id_number.is_empty() {
            resident = self
                .resident_by_document(&named.id_type, &named.id_number)
                .await?;
        }
        if let Some(resident) = &resident {
            // A person registered elsewhere is not this viewer's to see, whatever named them.
            ensure_within(actor, resident).map_err(|_| AppError::NotFound(PERSON))?;
        }
        let person = match &resident {
            Some(r) => Some(CodePerson {
                id_type: r.id_type.clone(),
                id_number: r.id_number.clone(),
            }),
            None if !named.id_number.is_empty() => Some(CodePerson {
                id_type: named.id_type.clone(),
                id_number: named.id_number.clone(),
            }),
            None => None,
        };
        Ok(Subject {
            key: resident
                .as_ref()
                .map_or_else(|| target.key(), |r| r.id.to_string()),
            resident,
            person,
            named,
            anchor,
        })
    }

    /// A person's whole file, masked, inside the jurisdiction; audited before it is returned.
    pub async fn person_file(&self, actor: &Actor, target: PersonRef) -> AppResult<PersonFile> {
        actor.require(Permission::SearchRegister)?;
        let subject = self.subject(actor, target).await?;
        audit_by(
            self,
            actor,
            "view_person_file",
            &format!("person:{}", subject.key),
            "",
        )
        .await?;
        let now = self.now_unix();
        let today = self.today();

        // Records by document, or only the record it was reached through when none is known.
        let (cases, contacts, leads, measures) = match &subject.person {
            Some(p) => (
                self.store.cases_of_person(&p.id_type, &p.id_number).await?,
                self.store
                    .contacts_of_person(&p.id_type, &p.id_number)
                    .await?,
                self.store.leads_of_person(&p.id_type, &p.id_number).await?,
                self.store
                    .measures_of_person(&p.id_type, &p.id_number)
                    .await?,
            ),
            None => match &subject.anchor {
                Anchor::Case(c) => (vec![(**c).clone()], vec![], vec![], vec![]),
                Anchor::Contact(c) => (vec![], vec![(**c).clone()], vec![], vec![]),
                Anchor::Lead(l) => (vec![], vec![], vec![(**l).clone()], vec![]),
                Anchor::Measure(m) => (vec![], vec![], vec![], vec![(**m).clone()]),
                Anchor::Resident => (vec![], vec![], vec![], vec![]),
            },
        };

        let mut case_entries = Vec::with_capacity(cases.len());
        for case in &cases {
            case_entries.push(self.case_entry(actor, case).await?);
        }
        let mut contact_entries = Vec::with_capacity(contacts.len());
        for contact in &contacts {
            contact_entries.push(self.contact_entry(actor, contact).await?);
        }
        let mut measure_entries = Vec::with_capacity(measures.len());
        let mut open_admission = HashMap::new();
        for measure in &measures {
            let entry = self.measure_entry(actor, measure).await?;
            open_admission.insert(
                measure.id,
                entry.admissions.is_empty()
                    || entry.admissions.iter().any(|a| a.discharged_label == "—"),
            );
            measure_entries.push(entry);
        }
        let lead_entries: Vec<LeadEntry> = leads
            .iter()
            .map(|l| lead_entry(l, ensure_within(actor, l).is_ok(), now))
            .collect();

        let (code, tests, antigen, rechecks, passages, venue_visits, appeals) =
            match &subject.person {
                Some(p) => {
                    let (_, view, facts) = self.current_code(p).await?;
                    let changes = self.store.code_changes_of(p).await?;
                    let code = code_entry(view, &facts, &changes);
                    (
                        Some(code),
                        self.store.person_results(&p.id_type, &p.id_number).await?,
                        self.store
                            .antigen_reports_of(&p.id_type, &p.id_number)
                            .await?,
                        self.store
                            .recheck_tasks_of_person(&p.id_type, &p.id_number)
                            .await?,
                        self.store.passages_of_person(p, 50).await?,
                        self.store.venue_visits_of_person(p, 50).await?,
                        self.store.appeals_of(p).await?,
                    )
                }
                None => (None, vec![], vec![], vec![], vec![], vec![], vec![]),
            };

        // The badges of what holds now, by the same rule the lists use.
        let mut rows: Vec<(StatusSource, &str)> = Vec::new();
        rows.extend(
            cases
                .iter()
                .filter(|c| c.status == CaseStatus::Active)
                .map(|c| (StatusSource::Case, c.kind.code())),
        );
        rows.extend(
            contacts
                .iter()
                .filter(|c| c.status == ContactStatus::Active)
                .map(|c| (StatusSource::Contact, c.category.code())),
        );
        rows.extend(
            measures
                .iter()
                .filter(|m| m.status != MeasureStatus::Hospitalised || open_admission[&m.id])
                .map(|m| (StatusSource::Measure, m.status.code())),
        );
        if let Some(code) = &code {
            rows.push((StatusSource::Code, code.code.colour.as_str()));
        }
        rows.extend(leads.iter().map(|l| (StatusSource::Lead, l.status.code())));
        let badges = badges_of(rows).into_iter().map(BadgeView::from).collect();

        let household = match &subject.resident {
            Some(r) => self.household_entries(r, today).await?,
            None => Vec::new(),
        };

        Ok(PersonFile {
            key: subject.key.clone(),
            person: summary(&subject, today),
            badges,
            household,
            code,
            tests: tests.iter().map(test_entry).collect(),
            antigen: antigen.iter().map(antigen_entry).collect(),
            rechecks: rechecks.iter().map(recheck_entry).collect(),
            cases: case_entries,
            contacts: contact_entries,
            leads: lead_entries,
            measures: measure_entries,
            passages: passages.iter().map(passage_entry).collect(),
            venue_visits: venue_visits.iter().map(visit_entry).collect(),
            appeals: appeals.iter().map(appeal_entry).collect(),
        })
    }

    /// The staff JSON of a person's code: colour, reasons, since when and until when. Needs the
    /// right to view health codes; audited like every staff look-up of a code.
    pub async fn person_code_brief(
        &self,
        actor: &Actor,
        target: PersonRef,
    ) -> AppResult<PersonCodeBrief> {
        actor.require(Permission::ViewHealthCodes)?;
        let subject = self.subject(actor, target).await?;
        // Someone known only by phone has no code (a code belongs to a document).
        let person = subject
            .person
            .as_ref()
            .ok_or(AppError::NotFound("该人员的健康码"))?;
        let masked = mask_document(&person.id_type, &person.id_number);
        audit_by(
            self,
            actor,
            "view_health_code",
            &format!("{}:{masked}", person.id_type),
            &format!("person:{}", subject.key),
        )
        .await?;
        let (state, view, _) = self.current_code(person).await?;
        let changes = self.store.code_changes_of(person).await?;
        Ok(PersonCodeBrief {
            key: subject.key,
            id_number_masked: masked,
            colour: view.colour.clone(),
            colour_label: view.colour_label,
            popup: view.popup.clone(),
            reasons: state.reasons.iter().map(reason_entry).collect(),
            summary: view.summary.clone(),
            since: colour_since(&view.colour, &changes),
            until: view.turns_green_at,
            until_label: view.turns_green_label.clone(),
            badge_label: view.badge_label,
            policy_name: view.policy_name.clone(),
        })
    }

    async fn case_link(&self, actor: &Actor, case: &CaseRecord) -> CaseLink {
        let within = ensure_within(actor, case).is_ok();
        CaseLink {
            case_id: case.id,
            case_number: case.case_number.clone(),
            kind_label: case.kind.label_zh().into(),
            within,
            name: if within {
                case.name.clone()
            } else {
                PersonName::default()
            },
            person_key: if within {
                person_key(case.resident_id, PersonRef::Case(case.id))
            } else {
                String::new()
            },
        }
    }

    async fn case_entry(&self, actor: &Actor, case: &CaseRecord) -> AppResult<CaseEntry> {
        let infector = match case.infector_case_id {
            Some(id) => match self.store.case(id).await? {
                Some(infector) => Some(self.case_link(actor, &infector).await),
                None => None,
            },
            None => None,
        };
        let mut infectees = Vec::new();
        for infectee in self.store.infectees(case.id).await? {
            infectees.push(self.case_link(actor, &infectee).await);
        }
        Ok(CaseEntry {
            id: case.id,
            case_number: case.case_number.clone(),
            kind: case.kind.code().into(),
            kind_label: case.kind.label_zh().into(),
            status: case.status.code().into(),
            status_label: case.status.label_zh().into(),
            found_by_label: case.found_by.label_zh().into(),
            found_label: at_label(Some(case.found_at)),
            onset_date: case.onset_date.clone().unwrap_or_default(),
            severity_label: case.severity.label_zh().into(),
            hospital: case.hospital.clone(),
            within: ensure_within(actor, case).is_ok(),
            infector,
            infector_note: case.infector_note.clone(),
            infectees,
        })
    }

    async fn contact_entry(
        &self,
        actor: &Actor,
        contact: &ContactRecord,
    ) -> AppResult<ContactEntry> {
        let case = match self.store.case(contact.case_id).await? {
            Some(case) => self.case_link(actor, &case).await,
            None => CaseLink {
                case_id: contact.case_id,
                case_number: String::new(),
                kind_label: String::new(),
                within: false,
                name: PersonName::default(),
                person_key: String::new(),
            },
        };
        Ok(ContactEntry {
            id: contact.id,
            category: contact.category.code().into(),
            category_label: contact.category.label_zh().into(),
            exposure_label: contact.exposure_kind.label_zh().into(),
            last_exposure_label: at_label(Some(contact.last_exposure_at)),
            reason: contact.reason.clone(),
            status: contact.status.code().into(),
            status_label: contact.status.label_zh().into(),
            case,
        })
    }

    async fn measure_entry(
        &self,
        actor: &Actor,
        measure: &MeasureRecord,
    ) -> AppResult<MeasureEntry> {
        let (site_name, room_number, hospital_name) = self.placement_of(measure).await?;
        let tests = self
            .store
            .measure_tests_of(measure.id)
            .await?
            .iter()
            .map(|t| MeasureTestEntry {
                due_date: t.due_date.clone(),
                day: t.day,
                result_label: t
                    .result
                    .map(|r| r.label_zh().to_string())
                    .unwrap_or_else(|| "未检".into()),
            })
            .collect();
        let check_ins = self
            .store
            .check_ins_of(measure.id, 14)
            .await?
            .iter()
            .map(check_in_entry)
            .collect();
        let transfers = self
            .store
            .transfers_of_measure(measure.id)
            .await?
            .iter()
            .map(transfer_entry)
            .collect();
        let admissions = self
            .store
            .admissions_of_measure(measure.id)
            .await?
            .into_iter()
            .map(|(a, hospital_name)| AdmissionEntry {
                hospital_name,
                admitted_label: at_label(Some(a.admitted_at)),
                discharged_label: at_label(a.discharged_at),
            })
            .collect();
        Ok(MeasureEntry {
            id: measure.id,
            category_label: measure.category.label_zh().into(),
            status: measure.status.code().into(),
            status_label: measure.status.label_zh().into(),
            day1: measure.day1.clone(),
            centralised_end: measure.centralised_end.clone(),
            end_date: measure.end_date.clone(),
            site_name,
            room_number,
            hospital_name,
            released_label: at_label(measure.released_at),
            within: ensure_within(actor, measure).is_ok(),
            tests,
            check_ins,
            transfers,
            admissions,
        })
    }

    /// The other members of a resident's household with their badges (one status query).
    async fn household_entries(
        &self,
        resident: &ResidentRecord,
        today: chrono::NaiveDate,
    ) -> AppResult<Vec<MemberEntry>> {
        let members = self
            .store
            .household_members(&resident.household_number)
            .await?;
        let badges = badges_by_resident(
            self.store
                .resident_statuses(StatusScope::Household(&resident.household_number))
                .await?,
        );
        Ok(members
            .iter()
            .filter(|m| m.id != resident.id)
            .map(|m| MemberEntry {
                resident_id: m.id,
                name: m.name.clone(),
                relation: m.relation.clone(),
                age: age_of(&m.birth_date, today).unwrap_or(0),
                badges: badges.get(&m.id).cloned().unwrap_or_default(),
            })
            .collect())
    }
}

fn age_of(birth_date: &str, today: chrono::NaiveDate) -> Option<u32> {
    chrono::NaiveDate::parse_from_str(birth_date, "%Y-%m-%d")
        .ok()
        .map(|b| age_on(b, today))
}

fn summary(subject: &Subject, today: chrono::NaiveDate) -> PersonSummary {
    let id_type_label = |code: &str| {
        IdType::parse(code)
            .map(|t| t.label_zh().to_string())
            .unwrap_or_else(|_| code.to_string())
    };
    let sex_label = |code: &str| {
        Sex::parse(code)
            .map(|s| s.label_zh().to_string())
            .unwrap_or_default()
    };
    match &subject.resident {
        Some(r) => PersonSummary {
            name: r.name.clone(),
            resident_id: Some(r.id),
            in_register: true,
            id_type_label: id_type_label(&r.id_type),
            id_number_masked: mask_document(&r.id_type, &r.id_number),
            sex_label: r.sex.label_zh().to_string(),
            birth_date: r.birth_date.clone(),
            age: age_of(&r.birth_date, today),
            phone_masked: mask_phone(r.phone.as_deref()),
            address: r.address.clone(),
            household_number: r.household_number.clone(),
            relation: r.relation.clone(),
            grid_code: r.grid_code.clone(),
            key_groups_label: key_groups_label_zh(&key_groups_from_codes(&r.key_groups)),
        },
        None => {
            let n = &subject.named;
            PersonSummary {
                name: n.name.clone().into(),
                resident_id: None,
                in_register: false,
                id_type_label: if n.id_number.is_empty() {
                    String::new()
                } else {
                    id_type_label(&n.id_type)
                },
                id_number_masked: if n.id_number.is_empty() {
                    String::new()
                } else {
                    mask_document(&n.id_type, &n.id_number)
                },
                sex_label: sex_label(&n.sex),
                birth_date: n.birth_date.clone(),
                age: age_of(&n.birth_date, today),
                phone_masked: mask_phone(n.phone.as_deref()),
                address: n.address.clone().into(),
                household_number: String::new(),
                relation: String::new(),
                grid_code: n.grid_code.clone(),
                key_groups_label: String::new(),
            }
        }
    }
}

fn code_entry(view: CodeView, facts: &[FactRecord], changes: &[CodeChangeRecord]) -> CodeEntry {
    let since = colour_since(&view.colour, changes);
    CodeEntry {
        since,
        since_label: at_label(since),
        code: view,
        facts: facts.iter().rev().map(fact_entry).collect(),
        changes: changes.iter().map(change_entry).collect(),
    }
}

/// When the code took `colour`: the newest change to it (changes come newest first or oldest
/// first depending on the reader, so the newest is looked for by time).
fn colour_since(colour: &str, changes: &[CodeChangeRecord]) -> Option<i64> {
    changes
        .iter()
        .filter(|c| c.to_colour.code() == colour)
        .map(|c| c.at)
        .max()
}
