//! Residents and households (实有人口): search, pages, reveal of personal data, single edits.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

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
    DoorVisitRecord, HouseholdRecord, MoveInRecord, MoveOutcome, NewMoveIn, ResidentBatch,
    ResidentMove, ResidentRecord, ResidentWrite, RowOutcome, SearchField, WriteMode,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, audit_by};

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
        sex_label: Sex::parse(&record.sex)
            .map(|s| s.label_zh().to_string())
            .unwrap_or_default(),
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
        sex: resident.sex.code().to_string(),
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
        &write.sex,
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
            &self.sex,
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
            &self.sex,
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
        let outcome = self
            .store
            .apply_resident_batch(
                &ResidentBatch {
                    rows: vec![write.clone()],
                },
                self.now_unix(),
                WriteMode::Upsert,
                (&lower, &upper),
            )
            .await?
            .pop()
            .ok_or_else(|| AppError::Internal("batch of one returned nothing".into()))?;
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
        let (lower, upper) = valid.grid_code.subtree_range();
        let record = self
            .store
            .search_residents(SearchField::IdNumber, &write.id_number, (&lower, &upper), 5)
            .await?
            .into_iter()
            .find(|r| r.id_type == write.id_type)
            .ok_or_else(|| AppError::Internal("saved resident not found".into()))?;
        let action = match outcome {
            RowOutcome::Inserted => "create",
            RowOutcome::Updated => "update",
            _ => "unchanged",
        };
        audit_by(self, actor, action, &format!("resident:{}", record.id), "").await?;
        Ok((record.id, outcome))
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

/// Where a person moves to: grid, household, address, relation to the head of household.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Destination {
    #[serde(default)]
    pub grid_code: String,
    #[serde(default)]
    pub household_number: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub relation: String,
}

/// A move between two grids of one jurisdiction (迁移网格).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct GridMoveForm {
    #[serde(flatten)]
    pub to: Destination,
    #[serde(default)]
    pub reason: String,
}

/// A move-in request (迁入申请) as the new jurisdiction types it. Unchecked text: no `Debug`.
#[derive(Clone, Default, serde::Deserialize)]
pub struct MoveInForm {
    #[serde(default)]
    pub id_type: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub name: String,
    #[serde(flatten)]
    pub to: Destination,
    #[serde(default)]
    pub reason: String,
}

/// A move-in request as a page shows it. The requesting side sees only what it typed and the
/// outcome; the person's current side also sees the registered person (masked).
#[derive(Debug, Clone, Serialize)]
pub struct MoveInView {
    pub id: i64,
    pub status: String,
    pub status_label: &'static str,
    /// The name as the requester typed it.
    pub name: String,
    pub id_number_masked: String,
    pub to_grid: String,
    pub to_household: String,
    pub to_address: String,
    pub to_relation: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_reason: String,
    /// The grid the person was in when the request was filed: only for the person's side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_grid: Option<String>,
    /// The registered person, when they are in the viewer's jurisdiction now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<ResidentView>,
    /// True for the person's current side while the request is pending.
    pub can_decide: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MoveInLists {
    /// Requests concerning people of the jurisdiction (to approve or refuse).
    pub inbox: Vec<MoveInView>,
    /// Requests filed by the jurisdiction.
    pub sent: Vec<MoveInView>,
}

fn move_in_status_label(status: &str) -> &'static str {
    match status {
        "pending" => "待原辖区审批",
        "approved" => "已同意，已迁入",
        "refused" => "未同意",
        _ => "未知",
    }
}

fn within(actor: &Actor, code: &str) -> bool {
    RegionCode::parse(code)
        .map(|c| actor.jurisdiction.contains(&c))
        .unwrap_or(false)
}

/// The resident's row with a new grid, household, address and relation: checked by the same rules as
/// an import row, with its content hash recomputed.
/// Whether every problem of a `problems_error` message concerns a destination column (what the
/// requester of a move-in typed).
fn destination_problem_only(message: &str) -> bool {
    const DESTINATION: [&str; 4] = ["现住址", "户编号", "与户主关系", "网格编码"];
    message.split('；').all(|problem| {
        DESTINATION
            .iter()
            .any(|c| problem.starts_with(&format!("{c}：")))
    })
}

fn moved_row(
    record: &ResidentRecord,
    to: &Destination,
    today: chrono::NaiveDate,
) -> AppResult<ResidentWrite> {
    let mut fields = import_fields(record).to_vec();
    fields[6] = to.address.trim().to_string();
    fields[7] = to.household_number.trim().to_string();
    fields[8] = to.relation.trim().to_string();
    fields[9] = to.grid_code.trim().to_string();
    let raw = RawResidentRow::from_owned_fields(fields);
    let valid = validate_resident_row(&raw, today).map_err(problems_error)?;
    Ok(write_of(&valid))
}

impl App {
    /// The destination grid must exist and lie in the actor's jurisdiction.
    async fn destination_grid(&self, actor: &Actor, to: &Destination) -> AppResult<RegionCode> {
        let code = to.grid_code.trim();
        let grid = RegionCode::parse(code).map_err(|_| {
            AppError::Invalid(format!("网格编码“{}”格式不对：应为15位数字", short(code)))
        })?;
        actor.require_within(&grid)?;
        if self.store.region(grid.as_str()).await?.is_none() {
            return Err(AppError::Invalid(format!("网格编码 {code} 不存在")));
        }
        Ok(grid)
    }

    /// Moves a resident to another grid of the actor's jurisdiction (迁移网格): an explicit action with a
    /// reason, audited with the grid and household before and after. Both grids must be in the
    /// jurisdiction; the grid counts move in the same transaction.
    pub async fn move_resident_grid(
        &self,
        actor: &Actor,
        id: i64,
        form: &GridMoveForm,
    ) -> AppResult<ResidentView> {
        actor.require(Permission::ImportPopulation)?;
        let record = self.resident_in_jurisdiction(actor, id).await?;
        if form.reason.trim().is_empty() {
            return Err(AppError::Invalid("请填写迁移原因（如：搬到新住址）".into()));
        }
        let grid = self.destination_grid(actor, &form.to).await?;
        if grid.as_str() == record.grid_code {
            return Err(AppError::Invalid(format!(
                "此人已在网格 {}：改户编号或住址请直接修改登记",
                record.grid_code
            )));
        }
        let write = moved_row(&record, &form.to, self.today())?;
        self.apply_move(actor, &record, write, None).await?;
        audit_by(
            self,
            actor,
            "move_grid",
            &format!("resident:{id}"),
            &format!(
                "迁移网格：网格 {} → {}；户 {} → {}；原因：{}",
                record.grid_code,
                grid.as_str(),
                record.household_number,
                form.to.household_number.trim(),
                form.reason.trim()
            ),
        )
        .await?;
        self.resident(actor, id).await
    }

    async fn apply_move(
        &self,
        actor: &Actor,
        record: &ResidentRecord,
        write: ResidentWrite,
        move_in: Option<i64>,
    ) -> AppResult<()> {
        let outcome = self
            .store
            .move_resident(
                &ResidentMove {
                    resident_id: record.id,
                    from_grid: record.grid_code.clone(),
                    write: write.clone(),
                    move_in: move_in.map(|m| (m, actor.username.clone())),
                },
                self.now_unix(),
            )
            .await?;
        match outcome {
            MoveOutcome::Moved => Ok(()),
            MoveOutcome::Stale => Err(AppError::Conflict(
                "此人的登记或这份申请刚被别人处理过，请刷新页面后再看".into(),
            )),
            MoveOutcome::HouseholdInOtherGrid { household_grid } => {
                Err(AppError::Conflict(household_elsewhere(
                    actor,
                    &write.household_number,
                    &household_grid,
                    &write.grid_code,
                )))
            }
        }
    }

    /// Files a move-in request (迁入申请) for a person registered outside the actor's jurisdiction, to a
    /// grid inside it. The requester learns nothing about the person beyond what they typed.
    pub async fn file_move_in(&self, actor: &Actor, form: &MoveInForm) -> AppResult<i64> {
        actor.require(Permission::ImportPopulation)?;
        let name = form.name.trim();
        if name.is_empty() || form.reason.trim().is_empty() {
            return Err(AppError::Invalid("请填写姓名和迁入原因".into()));
        }
        if name.chars().count() > 30 || form.reason.chars().count() > 200 {
            return Err(AppError::Invalid(
                "姓名最多30个字，迁入原因最多200个字".into(),
            ));
        }
        let id_type =
            IdType::parse(&form.id_type).map_err(|_| AppError::Invalid("请选择证件类型".into()))?;
        let document = IdDocument::parse(id_type, form.id_number.trim())
            .map_err(|e| AppError::Invalid(format!("证件号码：{e}")))?;
        self.destination_grid(actor, &form.to).await?;
        let record = self
            .resident_by_document(id_type.code(), document.number())
            .await?
            .ok_or_else(|| {
                AppError::Invalid(
                    "此证件号码尚未在任何辖区登记：不需要迁入申请，请直接登记此人".into(),
                )
            })?;
        if within(actor, &record.grid_code) {
            return Err(AppError::Invalid(
                "此人已在您的辖区登记：辖区内搬家请在此人页面用“迁移网格”办理".into(),
            ));
        }
        // The destination is checked by the import rules now, so a refusal comes before the request.
        // Only problems with what the requester typed are told; a problem with the stored row (a name
        // with lost characters, say) would echo a person of another jurisdiction, so it is named only
        // as needing the current jurisdiction's correction.
        let write = moved_row(&record, &form.to, self.today()).map_err(|e| match e {
            AppError::Invalid(message) if !destination_problem_only(&message) => AppError::Invalid(
                "此人在原辖区的登记信息有误，需由原辖区更正后才能提交迁入申请".into(),
            ),
            other => other,
        })?;
        if let Some(h) = self.store.household(&write.household_number).await?
            && h.grid_code != write.grid_code
        {
            return Err(AppError::Conflict(household_elsewhere(
                actor,
                &write.household_number,
                &h.grid_code,
                &write.grid_code,
            )));
        }
        let id = self
            .store
            .create_move_in(
                &NewMoveIn {
                    resident_id: record.id,
                    id_type: write.id_type.clone(),
                    id_number: write.id_number.clone(),
                    name: name.into(),
                    from_grid: record.grid_code.clone(),
                    to_grid: write.grid_code.clone(),
                    to_household: write.household_number.clone(),
                    to_address: write.address.clone(),
                    to_relation: write.relation.clone(),
                    reason: form.reason.trim().to_string(),
                    requested_by: actor.username.clone(),
                },
                self.now_unix(),
            )
            .await?;
        audit_by(
            self,
            actor,
            "move_in_request",
            &format!("move_in:{id}"),
            &format!("迁入网格 {}", write.grid_code),
        )
        .await?;
        Ok(id)
    }

    async fn move_in_view(&self, actor: &Actor, m: MoveInRecord) -> AppResult<MoveInView> {
        let person_side = within(actor, &m.from_grid);
        let person = match self.store.resident(m.resident_id).await? {
            Some(r) if within(actor, &r.grid_code) => Some(view_of(&r, self.today(), false)),
            _ => None,
        };
        Ok(MoveInView {
            id: m.id,
            status_label: move_in_status_label(&m.status),
            can_decide: person_side && m.status == "pending",
            id_number_masked: mask_document(&m.id_type, &m.id_number),
            from_grid: person_side.then(|| m.from_grid.clone()),
            person,
            status: m.status,
            name: m.name.into(),
            to_grid: m.to_grid,
            to_household: m.to_household,
            to_address: m.to_address.into(),
            to_relation: m.to_relation,
            reason: m.reason,
            requested_by: m.requested_by,
            requested_at: m.requested_at,
            decided_by: m.decided_by,
            decided_at: m.decided_at,
            decision_reason: m.decision_reason,
        })
    }

    /// The move-in requests concerning the jurisdiction's people (to decide) and those it filed.
    pub async fn move_ins(&self, actor: &Actor) -> AppResult<MoveInLists> {
        actor.require(Permission::ImportPopulation)?;
        let (lower, upper) = actor.jurisdiction_range();
        let mut inbox = Vec::new();
        for m in self.store.move_ins_in(true, (&lower, &upper), 200).await? {
            inbox.push(self.move_in_view(actor, m).await?);
        }
        let mut sent = Vec::new();
        for m in self.store.move_ins_in(false, (&lower, &upper), 200).await? {
            sent.push(self.move_in_view(actor, m).await?);
        }
        Ok(MoveInLists { inbox, sent })
    }

    /// One move-in request, for either side; anyone else gets "not found" (as for a missing id).
    pub async fn move_in(&self, actor: &Actor, id: i64) -> AppResult<MoveInView> {
        actor.require(Permission::ImportPopulation)?;
        let m = self
            .store
            .move_in(id)
            .await?
            .filter(|m| within(actor, &m.from_grid) || within(actor, &m.to_grid))
            .ok_or(AppError::NotFound("该迁入申请"))?;
        self.move_in_view(actor, m).await
    }

    /// The person's current jurisdiction approves (the person moves, with the request, in one
    /// transaction) or refuses with a reason. Audited with before and after.
    pub async fn decide_move_in(
        &self,
        actor: &Actor,
        id: i64,
        approve: bool,
        reason: &str,
    ) -> AppResult<MoveInView> {
        actor.require(Permission::ImportPopulation)?;
        let m = self
            .store
            .move_in(id)
            .await?
            .filter(|m| within(actor, &m.from_grid) || within(actor, &m.to_grid))
            .ok_or(AppError::NotFound("该迁入申请"))?;
        if !within(actor, &m.from_grid) {
            return Err(AppError::Invalid(
                "迁入申请由此人原登记辖区审批，申请方不能自己审批".into(),
            ));
        }
        if m.status != "pending" {
            return Err(AppError::Conflict(format!(
                "这份申请已处理（{}），不能再审批",
                move_in_status_label(&m.status)
            )));
        }
        let reason = reason.trim();
        if approve {
            let record = self
                .store
                .resident(m.resident_id)
                .await?
                .filter(|r| r.grid_code == m.from_grid)
                .ok_or_else(|| {
                    AppError::Conflict(
                        "此人的网格在申请后已变动：请拒绝这份申请，由申请方重新提交".into(),
                    )
                })?;
            let to = Destination {
                grid_code: m.to_grid.clone(),
                household_number: m.to_household.clone(),
                address: m.to_address.to_string(),
                relation: m.to_relation.clone(),
            };
            let write = moved_row(&record, &to, self.today())?;
            self.apply_move(actor, &record, write, Some(id)).await?;
            audit_by(
                self,
                actor,
                "move_in_approve",
                &format!("resident:{}", record.id),
                &format!(
                    "迁入申请 {id} 同意：网格 {} → {}；户 {} → {}{}",
                    record.grid_code,
                    m.to_grid,
                    record.household_number,
                    m.to_household,
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!("；{reason}")
                    }
                ),
            )
            .await?;
        } else {
            if reason.is_empty() {
                return Err(AppError::Invalid(
                    "请填写不同意的原因（申请方会看到，如：此人仍在本辖区居住）".into(),
                ));
            }
            if reason.chars().count() > 200 {
                return Err(AppError::Invalid("原因最多200个字".into()));
            }
            if !self
                .store
                .refuse_move_in(id, &actor.username, reason, self.now_unix())
                .await?
            {
                return Err(AppError::Conflict(
                    "这份申请刚被别人处理过，请刷新页面".into(),
                ));
            }
            audit_by(
                self,
                actor,
                "move_in_refuse",
                &format!("move_in:{id}"),
                reason,
            )
            .await?;
        }
        self.move_in(actor, id).await
    }
}

/// A typed value cut short for an error message.
fn short(value: &str) -> String {
    value.chars().take(20).collect()
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
                &RegionCode::parse(&resident.grid_code).map_err(AppError::Internal)?,
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
                    &RegionCode::parse(&fact.grid_code).map_err(AppError::Internal)?,
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

#[cfg(test)]
mod tests {
    use super::destination_problem_only;

    #[test]
    fn only_problems_with_the_typed_destination_are_told_to_a_move_in_requester() {
        assert!(destination_problem_only("户编号：户编号应为19位数字"));
        assert!(destination_problem_only(
            "现住址：请填写现住址；网格编码：网格编码不存在"
        ));
        assert!(!destination_problem_only("姓名：姓名“李?华”中有问号"));
        assert!(!destination_problem_only(
            "户编号：户编号应为19位数字；出生日期：日期不对"
        ));
    }
}
