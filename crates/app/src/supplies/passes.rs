//! Supplies: Supply whitelist and passes (保供白名单与通行证).
//!
//! The county's supply office whitelists enterprises (建档立卡: name, kind, 统一社会信用代码, the
//! 保供企业证明), their vehicles (the tractor's plate for an articulated lorry) and people
//! (drivers and staff, by ID, with their negative reports), and issues passes: a vehicle pass per
//! the 2022 national rule — one vehicle, one pass, one route (counties from origin to
//! destination), goods, validity, the people on board each with a negative within 48 h at issue —
//! numbered with the county's code and its next serial; a staff pass for a member of staff. A
//! pass is printable (A4, green) and electronic: an `FP1:` QR signed with the health code's key,
//! so a checkpoint checks it from the QR alone with the trust list. The county revokes a pass;
//! the checkpoints check vehicles against it (`checkpoints::vehicles`).

use chrono::DateTime;
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::role::Permission;
use fangkong_domain::supplies::passes::{
    self as rules, EnterpriseKind, GoodsCategory, NEGATIVE_WITHIN_HOURS, PassKind, PassStatus,
    SupplyRole, SupplyVehicleKind,
};
use fangkong_domain::time::{beijing_label, parse_beijing_cell, parse_beijing_day_start};
use fangkong_signed_code::PassClaims;
use fangkong_store::CodePerson;
use fangkong_store::supplies::passes::{
    PassIssue, SupplyEnterpriseRecord, SupplyPassRecord, SupplyPersonRecord, SupplyVehicleRecord,
};
use serde::Deserialize;

use crate::population::mask_document;
use crate::scope::{Placed, load_within};
use crate::{Actor, App, AppError, AppResult, Page, audit_record};

#[path = "passes_views.rs"]
mod views;
pub use views::{
    EnterpriseDetail, EnterpriseView, PassDetail, PassPersonView, PassView, SupplyPersonView,
    VehicleView,
};

/// The most rows one list page shows.
pub const PAGE_ROWS: i64 = 100;

impl Placed for SupplyEnterpriseRecord {
    const WHAT: &'static str = "该保供企业";
    fn place(&self) -> &str {
        &self.region_code
    }
}

impl Placed for SupplyPassRecord {
    const WHAT: &'static str = "该通行证";
    fn place(&self) -> &str {
        &self.county_code
    }
}

/// An enterprise to whitelist. Its contact phone is a person's: no `Debug`.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct EnterpriseForm {
    pub name: String,
    pub kind: String,
    pub region_code: String,
    pub credit_code: String,
    pub certificate_no: String,
    pub contact_phone: String,
}

/// A vehicle of an enterprise.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VehicleForm {
    pub plate: String,
    pub kind: String,
    pub licence_no: String,
}

/// A driver or member of staff of an enterprise. Personal data: no `Debug`.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct SupplyPersonForm {
    pub role: String,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub document_no: String,
    /// The sampling time of the negative report shown (optional).
    pub negative_at: String,
}

/// A newer negative report of a whitelisted person.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NegativeForm {
    pub negative_at: String,
}

/// A pass to issue for an enterprise: a vehicle pass (vehicle, the people on board, goods,
/// route) or a staff pass (the member of staff).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PassForm {
    /// `vehicle` or `staff`.
    pub kind: String,
    pub vehicle_id: String,
    /// The people on board (vehicle pass) or the holder (staff pass): ids separated by commas.
    pub person_ids: String,
    pub goods: String,
    pub origin: String,
    /// Counties in between, separated by commas or spaces.
    pub via: String,
    pub destination: String,
    /// Beijing dates `2022-04-20`: from the day's start to the end of the last day.
    pub valid_from: String,
    pub valid_until: String,
}

/// Why a pass is revoked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RevokeForm {
    pub reason: String,
}

fn text_field(value: &str, field: &'static str, max: usize) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::field(field, "不能为空"));
    }
    if value.chars().count() > max {
        return Err(AppError::field(field, format!("最多{max}个字")));
    }
    Ok(value.to_string())
}

fn code_field(value: &str, field: &'static str, max: usize) -> AppResult<String> {
    let value = text_field(value, field, max)?;
    if value.chars().any(char::is_whitespace) {
        return Err(AppError::field(field, "不能含空格"));
    }
    Ok(value)
}

pub(crate) fn label(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .map(beijing_label)
        .unwrap_or_default()
}

/// The county of a region code (its first six digits).
fn county_of(region: &str) -> AppResult<RegionCode> {
    region
        .get(..6)
        .and_then(|c| RegionCode::parse(c).ok())
        .filter(|c| c.level() == RegionLevel::County)
        .ok_or_else(|| AppError::Invalid(format!("“{region}”不在任何县（区）内")))
}

/// The claims an electronic pass carries for a stored pass.
pub(crate) fn claims_of(pass: &SupplyPassRecord, issuer: &str, people: u32) -> PassClaims {
    PassClaims {
        issuer: issuer.to_string(),
        number: pass.number.clone(),
        kind: pass.kind.clone(),
        plate: pass.plate.clone(),
        route: pass.route.split(',').map(str::to_string).collect(),
        valid_from: pass.valid_from,
        valid_until: pass.valid_until,
        goods: pass.goods.clone(),
        people,
        issued_at: pass.issued_at,
    }
}

impl App {
    fn require_view_passes(actor: &Actor) -> AppResult<()> {
        if actor.role.allows(Permission::IssuePasses) {
            return Ok(());
        }
        actor.require(Permission::ViewSupplies)
    }

    /// Whitelists an enterprise in the actor's jurisdiction (建档立卡).
    pub async fn register_supply_enterprise(
        &self,
        actor: &Actor,
        form: &EnterpriseForm,
    ) -> AppResult<i64> {
        actor.require(Permission::IssuePasses)?;
        let name = text_field(&form.name, "企业名称", 60)?;
        let kind = EnterpriseKind::from_code(form.kind.trim()).ok_or_else(|| {
            AppError::field(
                "企业类型",
                "请选择批发市场、配送中心、电商仓库、中央厨房或生产企业",
            )
        })?;
        let region = RegionCode::parse(form.region_code.trim())
            .map_err(|e| AppError::field("所在区域", e))?;
        actor.require_within(&region)?;
        county_of(region.as_str())?;
        let credit = code_field(&form.credit_code, "统一社会信用代码", 18)?;
        if credit.chars().count() != 18 || !credit.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(AppError::field(
                "统一社会信用代码",
                "应为18位数字或大写字母",
            ));
        }
        let certificate = code_field(&form.certificate_no, "保供企业证明编号", 40)?;
        let phone = fangkong_domain::phone::PhoneNumber::parse(form.contact_phone.trim())
            .map_err(|e| AppError::field("联系电话", e.to_string()))?;
        let record = SupplyEnterpriseRecord {
            id: 0,
            name: name.clone(),
            kind: kind.code().to_string(),
            region_code: region.as_str().to_string(),
            credit_code: credit.to_ascii_uppercase(),
            certificate_no: certificate,
            contact_phone: phone.as_str().to_string(),
            created_by: actor.username.clone(),
            created_at: self.now_unix(),
        };
        let audit = audit_record(self, actor, "register_supply_enterprise", "", &name);
        self.store
            .insert_supply_enterprise(&record, &audit)
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!("统一社会信用代码 {credit} 的企业已在白名单中"))
            })
    }

    /// The whitelisted enterprises of the actor's jurisdiction (a page).
    pub async fn supply_enterprises(
        &self,
        actor: &Actor,
        page: i64,
    ) -> AppResult<Page<EnterpriseView>> {
        Self::require_view_passes(actor)?;
        let (lower, upper) = actor.jurisdiction_range();
        let (rows, total) = self
            .store
            .supply_enterprises_in(
                (lower.as_str(), upper.as_str()),
                PAGE_ROWS,
                page.max(0) * PAGE_ROWS,
            )
            .await?;
        Ok(Page::new(
            rows.into_iter().map(views::enterprise_view).collect(),
            total,
        ))
    }

    async fn enterprise_in(&self, actor: &Actor, id: i64) -> AppResult<SupplyEnterpriseRecord> {
        load_within(actor, self.store.supply_enterprise(id)).await
    }

    /// One enterprise with its vehicles, people (masked) and passes.
    pub async fn supply_enterprise(&self, actor: &Actor, id: i64) -> AppResult<EnterpriseDetail> {
        Self::require_view_passes(actor)?;
        let enterprise = self.enterprise_in(actor, id).await?;
        let vehicles = self.store.supply_vehicles_of(id).await?;
        let people = self.store.supply_people_of(id).await?;
        let passes = self.store.supply_passes_of_enterprise(id).await?;
        let now = self.now_unix();
        Ok(EnterpriseDetail {
            enterprise: views::enterprise_view(enterprise),
            vehicles: vehicles.into_iter().map(views::vehicle_view).collect(),
            people: people
                .into_iter()
                .map(|p| views::person_view(p, now))
                .collect(),
            passes: passes
                .into_iter()
                .map(|p| views::pass_view(p, now))
                .collect(),
        })
    }

    /// Whitelists a vehicle of an enterprise (the plate once in the whole whitelist).
    pub async fn add_supply_vehicle(
        &self,
        actor: &Actor,
        enterprise_id: i64,
        form: &VehicleForm,
    ) -> AppResult<i64> {
        actor.require(Permission::IssuePasses)?;
        let enterprise = self.enterprise_in(actor, enterprise_id).await?;
        let plate = fangkong_domain::checkpoint::parse_plate(&form.plate)
            .map_err(|e| AppError::field("车牌号（半挂车填牵引车车牌）", e.to_string()))?;
        let kind = SupplyVehicleKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::field("车辆类型", "请选择车辆类型"))?;
        let licence = code_field(&form.licence_no, "行驶证编号", 40)?;
        let record = SupplyVehicleRecord {
            id: 0,
            enterprise_id,
            region_code: enterprise.region_code.clone(),
            plate: plate.clone(),
            kind: kind.code().to_string(),
            licence_no: licence,
            created_by: actor.username.clone(),
            created_at: self.now_unix(),
        };
        let audit = audit_record(
            self,
            actor,
            "add_supply_vehicle",
            "",
            format!("{} {plate}", enterprise.name),
        );
        self.store
            .insert_supply_vehicle(&record, &audit)
            .await?
            .ok_or_else(|| AppError::Conflict(format!("车牌 {plate} 已在白名单中")))
    }

    /// Whitelists a driver or member of staff of an enterprise, by ID.
    pub async fn add_supply_person(
        &self,
        actor: &Actor,
        enterprise_id: i64,
        form: &SupplyPersonForm,
    ) -> AppResult<i64> {
        actor.require(Permission::IssuePasses)?;
        let enterprise = self.enterprise_in(actor, enterprise_id).await?;
        let role = SupplyRole::from_code(form.role.trim())
            .ok_or_else(|| AppError::field("人员类别", "请选择司机或员工"))?;
        let name = text_field(&form.name, "姓名", 30)?;
        let document = crate::health_code::parse_document(&form.id_type, &form.id_number)
            .map_err(|e| AppError::field("证件号码", e.to_string()))?;
        let phone = fangkong_domain::phone::PhoneNumber::parse(form.phone.trim())
            .map_err(|e| AppError::field("手机号", e.to_string()))?;
        let document_no = code_field(
            &form.document_no,
            if role == SupplyRole::Driver {
                "驾驶证编号"
            } else {
                "工作证编号"
            },
            40,
        )?;
        let now = self.now_unix();
        let negative_at = self.negative_field(&form.negative_at, now)?;
        let record = SupplyPersonRecord {
            id: 0,
            enterprise_id,
            region_code: enterprise.region_code.clone(),
            role: role.code().to_string(),
            name,
            id_type: document.id_type().code().to_string(),
            id_number: document.number().to_string(),
            phone: phone.as_str().to_string(),
            document_no,
            negative_at,
            created_by: actor.username.clone(),
            created_at: now,
        };
        let audit = audit_record(
            self,
            actor,
            "add_supply_person",
            "",
            format!("{} {}", enterprise.name, role.label_zh()),
        );
        self.store
            .insert_supply_person(&record, &audit)
            .await?
            .ok_or_else(|| AppError::Conflict("此人已在该企业的人员名单中".into()))
    }

    /// A negative report's sampling time as typed: not in the future, at most 7 days old.
    fn negative_field(&self, text: &str, now: i64) -> AppResult<Option<i64>> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let at = parse_beijing_cell(text)
            .map_err(|e| AppError::field("核酸采样时间", e))?
            .timestamp();
        if at > now + 300 {
            return Err(AppError::field("核酸采样时间", "不能晚于现在"));
        }
        if at < now - 7 * 86_400 {
            return Err(AppError::field("核酸采样时间", "只登记7天内的核酸报告"));
        }
        Ok(Some(at))
    }

    /// Registers a newer negative report of a whitelisted person.
    pub async fn record_supply_person_negative(
        &self,
        actor: &Actor,
        person_id: i64,
        form: &NegativeForm,
    ) -> AppResult<()> {
        actor.require(Permission::IssuePasses)?;
        let person = self.person_in(actor, person_id).await?;
        let now = self.now_unix();
        let at = self
            .negative_field(&form.negative_at, now)?
            .ok_or_else(|| AppError::field("核酸采样时间", "不能为空"))?;
        let audit = audit_record(self, actor, "record_supply_negative", "", "登记核酸报告");
        self.store
            .record_supply_person_negative(person.id, at, &audit)
            .await?;
        Ok(())
    }

    async fn person_in(&self, actor: &Actor, id: i64) -> AppResult<SupplyPersonRecord> {
        let person = self
            .store
            .supply_person(id)
            .await?
            .ok_or(AppError::NotFound("该人员"))?;
        // A person belongs where their enterprise is.
        let place = RegionCode::parse(&person.region_code).map_err(AppError::internal)?;
        if !actor.jurisdiction.contains(&place) {
            return Err(AppError::NotFound("该人员"));
        }
        Ok(person)
    }

    /// A person's newest negative: a registered report or a sample in the system.
    pub(crate) async fn supply_person_negative(
        &self,
        id_type: &str,
        id_number: &str,
        registered: Option<i64>,
    ) -> AppResult<Option<i64>> {
        let person = CodePerson {
            id_type: id_type.to_string(),
            id_number: id_number.into(),
        };
        let tested = self.store.negatives_of(&person).await?.into_iter().max();
        Ok(tested.max(registered))
    }

    /// Issues a pass of the enterprise's county: every check before the one write that allocates
    /// the serial, stores the pass with its people and the audit record.
    pub async fn issue_supply_pass(
        &self,
        actor: &Actor,
        enterprise_id: i64,
        form: &PassForm,
    ) -> AppResult<PassView> {
        actor.require(Permission::IssuePasses)?;
        let enterprise = self.enterprise_in(actor, enterprise_id).await?;
        let county = county_of(&enterprise.region_code)?;
        if !actor.jurisdiction.contains(&county) {
            return Err(AppError::Invalid(format!(
                "通行证由企业所在县（区）{} 的指挥部签发，您的辖区是 {}",
                county.as_str(),
                actor.jurisdiction.as_str()
            )));
        }
        let kind = PassKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::field("通行证类型", "请选择车辆通行证或人员通行证"))?;
        let now = self.now_unix();
        let valid_from = parse_beijing_day_start(&form.valid_from, "有效期起")
            .map_err(|e| AppError::field("有效期起", e))?
            .timestamp();
        let valid_until = parse_beijing_day_start(&form.valid_until, "有效期止")
            .map_err(|e| AppError::field("有效期止", e))?
            .timestamp()
            + 86_400
            - 1;
        rules::check_validity(valid_from, valid_until, now)
            .map_err(|e| AppError::field("有效期", e))?;
        let mut ids = Vec::new();
        for part in form
            .person_ids
            .split([',', '，', ' '])
            .filter(|p| !p.is_empty())
        {
            let id: i64 = part
                .trim()
                .parse()
                .map_err(|_| AppError::field("人员", format!("“{part}”不是人员编号")))?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            return Err(AppError::field(
                "人员",
                if kind == PassKind::Vehicle {
                    "请选择随车人员（司机等）"
                } else {
                    "请选择持证员工"
                },
            ));
        }
        if ids.len() > rules::MAX_ON_BOARD {
            return Err(AppError::field(
                "人员",
                format!("每车最多{}人", rules::MAX_ON_BOARD),
            ));
        }
        let mut people = Vec::new();
        for id in &ids {
            let person = self
                .store
                .supply_person(*id)
                .await?
                .filter(|p| p.enterprise_id == enterprise.id)
                .ok_or_else(|| {
                    AppError::field("人员", format!("人员 {id} 不是本企业的白名单人员"))
                })?;
            people.push(person);
        }
        let (vehicle, plate, goods, route, person_id) = match kind {
            PassKind::Vehicle => {
                let vehicle_id: i64 = form
                    .vehicle_id
                    .trim()
                    .parse()
                    .map_err(|_| AppError::field("车辆", "请选择车辆"))?;
                let vehicle = self
                    .store
                    .supply_vehicle(vehicle_id)
                    .await?
                    .filter(|v| v.enterprise_id == enterprise.id)
                    .ok_or_else(|| AppError::field("车辆", "该车辆不是本企业的白名单车辆"))?;
                if !people.iter().any(|p| p.role == SupplyRole::Driver.code()) {
                    return Err(AppError::field("人员", "随车人员中至少要有一名司机"));
                }
                let goods = GoodsCategory::from_code(form.goods.trim())
                    .ok_or_else(|| AppError::field("物资类别", "请选择运输的物资类别"))?;
                let via: Vec<&str> = form
                    .via
                    .split([',', '，', ' ', '、'])
                    .filter(|v| !v.trim().is_empty())
                    .collect();
                let route = rules::route_of(&form.origin, &via, &form.destination)
                    .map_err(|e| AppError::field("线路", e))?;
                (
                    Some(vehicle.id),
                    vehicle.plate,
                    goods.code().to_string(),
                    route,
                    None,
                )
            }
            PassKind::Staff => {
                let [holder] = people.as_slice() else {
                    return Err(AppError::field(
                        "人员",
                        "人员通行证一人一证，请只选一名员工",
                    ));
                };
                (
                    None,
                    String::new(),
                    String::new(),
                    vec![county.as_str().to_string()],
                    Some(holder.id),
                )
            }
        };
        // The 48 h negative of each person, at issue.
        let mut bound = Vec::new();
        for person in &people {
            let negative = self
                .supply_person_negative(&person.id_type, &person.id_number, person.negative_at)
                .await?;
            let who = fangkong_domain::ids::mask_middle(&person.name, 1, 0);
            match negative {
                Some(at) if now - at <= NEGATIVE_WITHIN_HOURS * 3600 => bound.push((person.id, at)),
                Some(at) => {
                    return Err(AppError::Invalid(format!(
                        "{who}（{}）的核酸采样于 {}，已超过{NEGATIVE_WITHIN_HOURS}小时，请先登记新的阴性报告",
                        mask_document(&person.id_type, &person.id_number),
                        label(at)
                    )));
                }
                None => {
                    return Err(AppError::Invalid(format!(
                        "{who}（{}）没有{NEGATIVE_WITHIN_HOURS}小时内的核酸阴性，不能签发",
                        mask_document(&person.id_type, &person.id_number)
                    )));
                }
            }
        }
        let issue = PassIssue {
            county_code: county.as_str().to_string(),
            kind: kind.code().to_string(),
            enterprise_id: enterprise.id,
            vehicle_id: vehicle,
            person_id,
            plate,
            goods,
            origin_code: route.first().cloned().unwrap_or_default(),
            destination_code: route.last().cloned().unwrap_or_default(),
            route: route.join(","),
            valid_from,
            valid_until,
            issued_by: actor.username.clone(),
            issued_at: now,
            people: bound,
        };
        let audit = audit_record(
            self,
            actor,
            "issue_supply_pass",
            "",
            format!("{} {}", enterprise.name, kind.label_zh()),
        );
        let pass = self.store.issue_supply_pass(&issue, &audit).await?;
        Ok(views::pass_view(pass, now))
    }

    /// The passes issued in the actor's jurisdiction, newest first (a page).
    pub async fn supply_passes(&self, actor: &Actor, page: i64) -> AppResult<Page<PassView>> {
        Self::require_view_passes(actor)?;
        // Passes belong to their issuing county: a county's office and those above it see them.
        let (lower, upper) = actor.jurisdiction_range();
        let (rows, total) = self
            .store
            .supply_passes_in(
                (lower.as_str(), upper.as_str()),
                PAGE_ROWS,
                page.max(0) * PAGE_ROWS,
            )
            .await?;
        let now = self.now_unix();
        Ok(Page::new(
            rows.into_iter().map(|p| views::pass_view(p, now)).collect(),
            total,
        ))
    }

    /// One pass with its people (masked), its route's names and its electronic QR text.
    pub async fn supply_pass(&self, actor: &Actor, id: i64) -> AppResult<PassDetail> {
        Self::require_view_passes(actor)?;
        let pass = load_within(actor, self.store.supply_pass(id)).await?;
        let enterprise = self
            .store
            .supply_enterprise(pass.enterprise_id)
            .await?
            .ok_or_else(|| AppError::internal("a pass without its enterprise"))?;
        let people = self.store.supply_pass_people(pass.id).await?;
        let vehicle_kind = match pass.vehicle_id {
            Some(v) => self
                .store
                .supply_vehicle(v)
                .await?
                .and_then(|v| SupplyVehicleKind::from_code(&v.kind))
                .map(SupplyVehicleKind::label_zh)
                .unwrap_or(""),
            None => "",
        };
        let mut route_names = Vec::new();
        for code in pass.route.split(',') {
            let name = match RegionCode::parse(code) {
                Ok(region) => self.region_name(&region).await?,
                Err(_) => code.to_string(),
            };
            route_names.push(name);
        }
        let keys = self.code_keys().await?;
        let qr_text =
            keys.signer
                .sign_pass(&claims_of(&pass, keys.signer.issuer(), people.len() as u32));
        let county_name = self
            .region_name(&RegionCode::parse(&pass.county_code).map_err(AppError::internal)?)
            .await?;
        let now = self.now_unix();
        Ok(PassDetail {
            pass: views::pass_view(pass, now),
            enterprise_name: enterprise.name,
            enterprise_kind: EnterpriseKind::from_code(&enterprise.kind)
                .map(EnterpriseKind::label_zh)
                .unwrap_or(""),
            vehicle_kind,
            county_name,
            route_names,
            people: people.into_iter().map(views::pass_person_view).collect(),
            qr_text,
        })
    }

    /// Revokes a valid pass of the actor's county, with the reason (checkpoints refuse it online).
    pub async fn revoke_supply_pass(
        &self,
        actor: &Actor,
        id: i64,
        form: &RevokeForm,
    ) -> AppResult<()> {
        actor.require(Permission::IssuePasses)?;
        let pass = load_within(actor, self.store.supply_pass(id)).await?;
        let reason = text_field(&form.reason, "撤销原因", 100)?;
        if pass.status == PassStatus::Revoked.code() {
            return Err(AppError::Conflict(format!("通行证 {} 已撤销", pass.number)));
        }
        let audit = audit_record(
            self,
            actor,
            "revoke_supply_pass",
            "",
            format!("{}：{reason}", pass.number),
        );
        if !self
            .store
            .revoke_supply_pass(pass.id, &reason, &actor.username, self.now_unix(), &audit)
            .await?
        {
            return Err(AppError::Conflict(format!("通行证 {} 已撤销", pass.number)));
        }
        Ok(())
    }
}
