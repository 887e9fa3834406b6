//! Residents and households (实有人口): search, pages, reveal of personal data, single edits.
//!
//! Moves between grids and into the jurisdiction are `moves`.

use chrono::Datelike;
use fangkong_domain::ids::{IdDocument, IdType, mask_middle};
use fangkong_domain::person::{
    Sex, age_on, key_groups_from_codes, key_groups_label_zh, key_groups_to_codes,
};
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::RegionCode;
use fangkong_domain::resident_row::{RawResidentRow, ValidResident, validate_resident_row};
use fangkong_domain::role::Permission;
use fangkong_store::{
    DoorVisitRecord, HouseholdRecord, MoveInRecord, MoveOutcome, NewMoveIn, ResidentMove,
    ResidentRecord, ResidentWrite, RowOutcome, SearchField,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, audit_by, audit_record};

/// A resident as pages and the API show them: ID number and phone masked unless revealed.
#[derive(Clone, Serialize)]
pub struct ResidentView {
    pub id: i64,
    pub name: String,
    pub id_type: String,
    pub id_type_label: String,
    pub id_number_masked: String,
    pub sex_label: String,
    pub birth_date: String,
    pub age: u32,
    pub phone_masked: String,
    pub address: String,
    pub household_number: String,
    pub relation: String,
    pub grid_code: String,
    pub key_groups: Vec<String>,
    pub key_groups_label: String,
    /// Present only after an audited reveal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// By hand: the view holds the name and address the pages show and, once revealed, the full
/// number; `Debug` prints only what is masked.
impl std::fmt::Debug for ResidentView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResidentView")
            .field("id", &self.id)
            .field("id_number_masked", &self.id_number_masked)
            .field("phone_masked", &self.phone_masked)
            .field("grid_code", &self.grid_code)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HouseholdView {
    pub household: HouseholdRecord,
    pub members: Vec<ResidentView>,
    pub visits: Vec<DoorVisitRecord>,
}

impl App {
    /// The registered resident holding this document, anywhere in the register (not scoped: callers
    /// route or code the person, and check the jurisdiction of what they show).
    pub(crate) async fn resident_by_document(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> AppResult<Option<fangkong_store::ResidentRecord>> {
        if id_number.is_empty() {
            return Ok(None);
        }
        let found = self
            .store
            .search_residents(SearchField::IdNumber, id_number, ("", "~"), 10)
            .await?;
        Ok(found.into_iter().find(|r| r.id_type == id_type))
    }
}

pub(crate) fn mask_document(id_type: &str, number: &str) -> String {
    IdType::parse(id_type)
        .ok()
        .and_then(|t| IdDocument::parse(t, number).ok())
        .map(|d| d.masked())
        .unwrap_or_else(|| mask_middle(number, 2, 2))
}

pub(crate) fn mask_phone(phone: Option<&str>) -> String {
    match phone {
        None => String::new(),
        Some(p) => PhoneNumber::parse(p)
            .map(|p| p.masked())
            .unwrap_or_else(|_| mask_middle(p, 3, 2)),
    }
}

pub(crate) fn view_of(
    record: &ResidentRecord,
    today: chrono::NaiveDate,
    revealed: bool,
) -> ResidentView {
    let id_type = IdType::parse(&record.id_type).ok();
    let birth = chrono::NaiveDate::parse_from_str(&record.birth_date, "%Y-%m-%d").ok();
    let groups = key_groups_from_codes(&record.key_groups);
    ResidentView {
        id: record.id,
        name: record.name.to_string(),
        id_type: record.id_type.clone(),
        id_type_label: id_type
            .map(|t| t.label_zh().to_string())
            .unwrap_or_else(|| record.id_type.clone()),
        id_number_masked: mask_document(&record.id_type, &record.id_number),
        sex_label: record.sex.label_zh().to_string(),
        birth_date: record.birth_date.clone(),
        age: birth.map(|b| age_on(b, today)).unwrap_or(0),
        phone_masked: mask_phone(record.phone.as_deref()),
        address: record.address.to_string(),
        household_number: record.household_number.clone(),
        relation: record.relation.clone(),
        grid_code: record.grid_code.clone(),
        key_groups: groups.iter().map(|g| g.code().to_string()).collect(),
        key_groups_label: key_groups_label_zh(&groups),
        id_number: revealed.then(|| record.id_number.to_string()),
        phone: if revealed {
            record.phone.as_deref().map(str::to_string)
        } else {
            None
        },
    }
}

/// The row written for a validated resident; the hash covers every stored field, so an unchanged
/// re-import is recognised and skipped.
pub(crate) fn write_of(resident: &ValidResident) -> ResidentWrite {
    let mut write = ResidentWrite {
        id_type: resident.document.id_type().code().to_string(),
        id_number: resident.document.number().into(),
        name: resident.name.as_str().into(),
        sex: resident.sex,
        birth_date: {
            // Formatted by hand: strftime parsing is measurable at millions of rows.
            let date = resident.birth_date;
            format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
        },
        phone: resident.phone.clone(),
        address: resident.address.as_str().into(),
        household_number: resident.household_number.clone(),
        relation: resident.relation.clone(),
        grid_code: resident.grid_code.as_str().to_string(),
        key_groups: key_groups_to_codes(&resident.key_groups),
        content_hash: String::new(),
    };
    let mut hasher = Sha256::new();
    for field in [
        write.id_type.as_str(),
        write.id_number.as_str(),
        write.name.as_str(),
        write.sex.code(),
        &write.birth_date,
        write.phone.as_deref().unwrap_or(""),
        write.address.as_str(),
        &write.household_number,
        &write.relation,
        &write.grid_code,
        &write.key_groups,
    ] {
        hasher.update(field.as_bytes());
        hasher.update([0x1f]);
    }
    write.content_hash = hex::encode(&hasher.finalize()[..12]);
    write
}

/// A resident's stored fields, whether just validated (a write) or read back (a record).
pub(crate) trait StoredResident {
    /// Stored values in the import column order (codes, not labels).
    fn stored_fields(&self) -> [&str; 11];
}

impl StoredResident for ResidentWrite {
    fn stored_fields(&self) -> [&str; 11] {
        [
            &self.name,
            &self.id_type,
            &self.id_number,
            self.sex.code(),
            &self.birth_date,
            self.phone.as_deref().unwrap_or(""),
            &self.address,
            &self.household_number,
            &self.relation,
            &self.grid_code,
            &self.key_groups,
        ]
    }
}

impl StoredResident for ResidentRecord {
    fn stored_fields(&self) -> [&str; 11] {
        [
            &self.name,
            &self.id_type,
            &self.id_number,
            self.sex.code(),
            &self.birth_date,
            self.phone.as_deref().unwrap_or(""),
            &self.address,
            &self.household_number,
            &self.relation,
            &self.grid_code,
            &self.key_groups,
        ]
    }
}

/// A stored resident as an import row (ID type, sex and key groups as the Chinese labels a grid worker
/// types), so an export or a problem row can be edited and imported again.
pub(crate) fn import_fields(resident: &impl StoredResident) -> [String; 11] {
    let [
        name,
        id_type,
        id_number,
        sex,
        birth_date,
        phone,
        address,
        household,
        relation,
        grid,
        groups,
    ] = resident.stored_fields();
    [
        name.to_string(),
        IdType::parse(id_type)
            .map(|t| t.label_zh().to_string())
            .unwrap_or_else(|_| id_type.to_string()),
        id_number.to_string(),
        Sex::parse(sex)
            .map(|s| s.label_zh().to_string())
            .unwrap_or_default(),
        birth_date.to_string(),
        phone.to_string(),
        address.to_string(),
        household.to_string(),
        relation.to_string(),
        grid.to_string(),
        key_groups_label_zh(&key_groups_from_codes(groups)),
    ]
}

/// What a search box query looks for: an ID number, a phone number, or a name.
pub fn classify_query(query: &str) -> (SearchField, String) {
    let q: String = query.split_whitespace().collect();
    let digits = q.chars().filter(|c| c.is_ascii_digit()).count();
    if q.len() == 11 && digits == 11 && q.starts_with('1') {
        return (SearchField::Phone, q);
    }
    if q.len() >= 5 && q.chars().all(|c| c.is_ascii_alphanumeric()) && digits >= 4 {
        return (SearchField::IdNumber, q.to_ascii_uppercase());
    }
    (SearchField::Name, q)
}

impl App {
    async fn resident_in_jurisdiction(&self, actor: &Actor, id: i64) -> AppResult<ResidentRecord> {
        actor.require(Permission::SearchRegister)?;
        let record = load_within(actor, self.store.resident(id)).await?;
        Ok(record)
    }

    /// Search by ID number, phone or name (or its beginning), inside the jurisdiction; masked results.
    pub async fn search_residents(
        &self,
        actor: &Actor,
        query: &str,
    ) -> AppResult<Vec<ResidentView>> {
        actor.require(Permission::SearchRegister)?;
        let (field, value) = classify_query(query);
        if value.is_empty() {
            return Ok(Vec::new());
        }
        let (lower, upper) = actor.jurisdiction_range();
        let today = self.today();
        let records = self
            .store
            .search_residents(field, &value, (&lower, &upper), 100)
            .await?;
        Ok(records.iter().map(|r| view_of(r, today, false)).collect())
    }

    /// One resident, masked.
    pub async fn resident(&self, actor: &Actor, id: i64) -> AppResult<ResidentView> {
        let record = self.resident_in_jurisdiction(actor, id).await?;
        Ok(view_of(&record, self.today(), false))
    }

    /// One resident with the full ID number and phone. A reveal needs a reason and is audited before
    /// anything is returned.
    pub async fn reveal_resident(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> AppResult<ResidentView> {
        actor.require(Permission::RevealPersonalData)?;
        if reason.trim().is_empty() {
            return Err(AppError::Invalid(
                "请填写查看原因：查看完整证件号和电话会记入审计日志".into(),
            ));
        }
        let record = self.resident_in_jurisdiction(actor, id).await?;
        audit_by(
            self,
            actor,
            "reveal",
            &format!("resident:{id}"),
            reason.trim(),
        )
        .await?;
        Ok(view_of(&record, self.today(), true))
    }

    /// A household with its members (masked) and its door-to-door visits.
    pub async fn household(&self, actor: &Actor, number: &str) -> AppResult<HouseholdView> {
        actor.require(Permission::SearchRegister)?;
        let household = load_within(actor, self.store.household(number)).await?;
        let today = self.today();
        let members = self
            .store
            .household_members(number)
            .await?
            .iter()
            .map(|r| view_of(r, today, false))
            .collect();
        let visits = self.store.door_visits_of_household(number).await?;
        Ok(HouseholdView {
            household,
            members,
            visits,
        })
    }

    /// Adds or changes one resident (same rules as an import row); audited as a change. A person
    /// registered outside the actor's jurisdiction is refused (they move in through a request), and so
    /// is a change of grid (that is [`App::move_resident_grid`]).
    pub async fn save_resident(
        &self,
        actor: &Actor,
        raw: &RawResidentRow,
    ) -> AppResult<(i64, RowOutcome)> {
        actor.require(Permission::ImportPopulation)?;
        let valid = validate_resident_row(raw, self.today()).map_err(problems_error)?;
        actor.require_within(&valid.grid_code)?;
        let grid = self.store.region(valid.grid_code.as_str()).await?;
        if grid.is_none() {
            return Err(AppError::Invalid(format!(
                "网格编码 {} 不存在",
                valid.grid_code.as_str()
            )));
        }
        let write = write_of(&valid);
        let (lower, upper) = actor.jurisdiction_range();
        // The record commits with the write; a row the store refuses has none.
        let audit_of = |outcome: &RowOutcome| match outcome {
            RowOutcome::Inserted => Some(audit_record(self, actor, "create", "", "")),
            RowOutcome::Updated => Some(audit_record(self, actor, "update", "", "")),
            RowOutcome::Unchanged => Some(audit_record(self, actor, "unchanged", "", "")),
            _ => None,
        };
        let (outcome, id) = self
            .store
            .save_resident(&write, self.now_unix(), (&lower, &upper), &audit_of)
            .await?;
        match &outcome {
            RowOutcome::HouseholdInOtherGrid { household_grid } => {
                return Err(AppError::Conflict(household_elsewhere(
                    actor,
                    &write.household_number,
                    household_grid,
                    &write.grid_code,
                )));
            }
            RowOutcome::RegisteredElsewhere => {
                return Err(AppError::Conflict(REGISTERED_ELSEWHERE.into()));
            }
            RowOutcome::InOtherGrid { grid_code } => {
                return Err(AppError::Conflict(in_other_grid(grid_code)));
            }
            _ => {}
        }
        let id = id.ok_or_else(|| AppError::internal("saved resident has no id"))?;
        Ok((id, outcome))
    }
}

/// Said when an ID number typed or imported is registered outside the user's jurisdiction. It does not
/// say where: the user learns only that the person must move in through a request.
pub const REGISTERED_ELSEWHERE: &str =
    "此证件号码已登记在其他辖区，不能在此登记；如此人已搬来，请提交迁入申请（实有人口 → 迁入申请）";

/// Said when a row would move a person to another grid of the same jurisdiction.
pub(crate) fn in_other_grid(grid_code: &str) -> String {
    format!(
        "此人已登记在本辖区网格 {grid_code}：不能靠修改登记或导入换网格；如已搬家，请在此人页面用“迁移网格”办理"
    )
}

/// Said when a household number belongs to another grid; the grid is named only inside the
/// jurisdiction.
pub(crate) fn household_elsewhere(
    actor: &Actor,
    household: &str,
    household_grid: &str,
    row_grid: &str,
) -> String {
    let visible = RegionCode::parse(household_grid)
        .map(|g| actor.jurisdiction.contains(&g))
        .unwrap_or(false);
    if visible {
        format!(
            "户编号 {household} 已属于网格 {household_grid}，不能登记到网格 {row_grid}：同一户只能属于一个网格"
        )
    } else {
        format!("户编号 {household} 已被其他辖区使用，请核对户编号")
    }
}

fn problems_error(problems: Vec<fangkong_domain::resident_row::FieldProblem>) -> AppError {
    AppError::Invalid(
        problems
            .iter()
            .map(|p| format!("{}：{}", p.column, p.message))
            .collect::<Vec<_>>()
            .join("；"),
    )
}

impl App {
    /// Where a person belongs, and that the actor may act on them: a registered resident belongs to
    /// their grid; someone not in the register to the region of the newest code fact that names one
    /// (the checkpoint they arrived through, the lead or investigation that named them, the office
    /// that first coded them). Returns that region, or None for someone nobody has recorded yet.
    /// Facts stored before regions were kept for such people (an empty region) belong to the
    /// province level only.
    pub(crate) async fn require_person_within(
        &self,
        actor: &Actor,
        id_type: &str,
        id_number: &str,
    ) -> AppResult<Option<String>> {
        if let Some(resident) = self.resident_by_document(id_type, id_number).await? {
            actor.require_within(
                &RegionCode::parse(&resident.grid_code).map_err(AppError::internal)?,
            )?;
            return Ok(Some(resident.grid_code));
        }
        let facts = self
            .store
            .facts_of(&fangkong_store::CodePerson {
                id_type: id_type.to_string(),
                id_number: id_number.into(),
            })
            .await?;
        match facts.iter().rev().find(|f| !f.grid_code.is_empty()) {
            Some(fact) => {
                actor.require_within(
                    &RegionCode::parse(&fact.grid_code).map_err(AppError::internal)?,
                )?;
                Ok(Some(fact.grid_code.clone()))
            }
            None if facts.is_empty() => Ok(None),
            None if actor.jurisdiction.level()
                == fangkong_domain::region::RegionLevel::Province =>
            {
                Ok(None)
            }
            None => Err(AppError::OutsideJurisdiction),
        }
    }
}

mod moves;

pub use moves::{Destination, GridMoveForm, MoveInForm, MoveInLists, MoveInView};
