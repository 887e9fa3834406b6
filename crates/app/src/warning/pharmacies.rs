//! Pharmacies (零售药店): real-name sales of the four drug classes and what a sale sets off.
//!
//! A pharmacy reports each sale (the phone page: one sale; an upload; the API for pharmacy
//! systems: an array). Each sale is parsed into a typed [`SaleWrite`] before anything is written;
//! a sale whose buyer ID is not valid is accepted and flagged (pharmacies sell anyway). A chunk of
//! sales is one transaction with each buyer's test requirement (within the catalogue's hours), the
//! day counters and the `pharmacy_purchase` code fact with the code it causes (the pop-up until a
//! negative test, where the policy says so). The pharmacy's sale key makes a retry harmless. The
//! background pass closes requirements met by a negative sample and turns the overdue ones into
//! leads to the buyer's grid; a buyer's later positive becomes a sentinel event once per sale.

use chrono::DateTime;
use fangkong_domain::leads::{Channel, LeadStatus, RiskCategory};
use fangkong_domain::person_event::SentinelEvent;
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::role::Permission;
use fangkong_domain::time::{beijing_date, beijing_label};
use fangkong_domain::warning::pharmacies::{
    self as rules, Catalogue, RequirementStatus, SaleChannel,
};
use fangkong_store::warning::pharmacies::{
    OpenRequirement, PharmacyCounts, PharmacyRecord, SaleRow, SaleWrite,
};
use serde::{Deserialize, Serialize};

use crate::health_code::compute_code;
use crate::import::ProblemLine;
use crate::{Actor, App, AppError, AppResult, EventCursor, audit_record};

/// Sales per transaction of the batch paths (upload, API).
pub const SALES_PER_CHUNK: usize = 5_000;
/// The most sales one API call may carry.
pub const API_MAX_SALES: usize = 10_000;
/// The event cursor of the buyer-positive pass.
const EVENT_CURSOR_SETTING: &str = "pharmacies.event_cursor";

/// A pharmacy to register (药品经营许可证编号 is its key).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PharmacyForm {
    pub name: String,
    pub region_code: String,
    pub licence_no: String,
}

/// One sale as a pharmacy sends it (form, upload row or API item). `licence_no` names the
/// pharmacy on the API; the page and the upload name it by the pharmacy chosen.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct SaleInput {
    pub licence_no: String,
    pub sale_key: String,
    pub sold_at: String,
    pub drug: String,
    pub quantity: String,
    pub buyer_name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
}

impl std::fmt::Debug for SaleInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaleInput")
            .field("licence_no", &self.licence_no)
            .field("sale_key", &self.sale_key)
            .field("drug", &self.drug)
            .finish_non_exhaustive()
    }
}

/// What became of one sale.
#[derive(Debug, Clone, Serialize)]
pub struct SaleOutcome {
    pub sale_key: String,
    /// `recorded` or `already_recorded` (a retry: nothing written).
    pub status: &'static str,
    pub sale_id: Option<i64>,
    /// Why the ID is not valid (the sale is kept and flagged), when it is not.
    pub flagged: Option<String>,
    /// The buyer's test deadline (Beijing time), when the sale set a requirement.
    pub test_due: Option<String>,
}

/// What a batch did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SalesReport {
    pub rows: i64,
    pub recorded: i64,
    pub already_recorded: i64,
    pub flagged: i64,
    pub problems: Vec<ProblemLine>,
}

/// A pharmacy as pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct PharmacyView {
    pub id: i64,
    pub name: String,
    pub region_code: String,
    pub licence_no: String,
}

/// A sale as lists show it: the buyer masked.
#[derive(Debug, Clone, Serialize)]
pub struct SaleView {
    pub id: i64,
    pub pharmacy: String,
    pub sale_key: String,
    pub sold_at: String,
    pub drug: String,
    pub drug_class: &'static str,
    pub quantity: i64,
    pub buyer: String,
    pub id_masked: String,
    pub phone_masked: String,
    pub flag: String,
    pub status: &'static str,
    pub due: String,
    pub lead_id: Option<i64>,
}

/// The commander's view: pharmacies with their counts, and the buyers awaiting a test or overdue.
#[derive(Debug, Clone, Serialize)]
pub struct PharmacyOverview {
    pub today: String,
    pub pharmacies: Vec<PharmacyCounts>,
    pub figures: fangkong_store::warning::pharmacies::PharmacyDayFigures,
    pub awaiting: Vec<SaleView>,
    pub overdue: Vec<SaleView>,
    pub flagged: Vec<SaleView>,
    pub test_within_hours: i64,
    pub catalogue_note: String,
}

fn view_pharmacy(p: PharmacyRecord) -> PharmacyView {
    PharmacyView {
        id: p.id,
        name: p.name,
        region_code: p.region_code.into(),
        licence_no: p.licence_no,
    }
}

fn label(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .map(beijing_label)
        .unwrap_or_default()
}

fn view_sale(s: SaleRow) -> SaleView {
    let catalogue = rules::catalogue_for(s.region_code.as_str());
    let drug = catalogue
        .and_then(|c| c.drug(&s.drug_code))
        .map(|d| d.name.clone())
        .unwrap_or_else(|| s.drug_code.clone());
    SaleView {
        id: s.id,
        pharmacy: s.pharmacy_name,
        sale_key: s.sale_key,
        sold_at: label(s.sold_at),
        drug,
        drug_class: s.drug_class.label_zh(),
        quantity: s.quantity,
        buyer: fangkong_domain::ids::mask_middle(&s.buyer_name, 1, 0),
        id_masked: if s.id_flag.is_empty() {
            crate::population::mask_document(&s.id_type, &s.id_number)
        } else {
            "（证件无效）".into()
        },
        phone_masked: fangkong_domain::phone::PhoneNumber::parse(&s.phone)
            .map(|p| p.masked())
            .unwrap_or_default(),
        flag: s.id_flag,
        status: s
            .status
            .map_or("无（证件无效）", RequirementStatus::label_zh),
        due: s.due_at.map(label).unwrap_or_default(),
        lead_id: s.lead_id,
    }
}

/// Parses one sale into what the store writes, at a pharmacy known to the caller. A problem is
/// `(column, message)`; an invalid ID is not a problem (the sale is flagged).
pub(crate) fn parse_sale(
    input: &SaleInput,
    pharmacy: &PharmacyRecord,
    catalogue: &Catalogue,
    channel: SaleChannel,
    created_by: &str,
    now: i64,
) -> Result<SaleWrite, (&'static str, String)> {
    let sale_key = rules::check_sale_key(&input.sale_key).map_err(|e| ("销售单号", e))?;
    let drug = catalogue.drug(&input.drug).ok_or_else(|| {
        (
            "药品",
            if input.drug.trim().is_empty() {
                "请选择或填写药品".to_string()
            } else {
                format!(
                    "“{}”不在本省“四类药品”监测目录中，请填写目录中的药品编码或名称",
                    crate::import::shown(input.drug.trim(), 30)
                )
            },
        )
    })?;
    let quantity = rules::check_quantity(&input.quantity).map_err(|e| ("数量", e))?;
    let name = input.buyer_name.trim();
    if name.is_empty() {
        return Err(("购药人姓名", "不能为空（实名登记）".into()));
    }
    if name.chars().count() > 50 {
        return Err(("购药人姓名", "不能超过50个字".into()));
    }
    let phone = input.phone.trim();
    let phone = if phone.is_empty() {
        String::new()
    } else {
        fangkong_domain::phone::PhoneNumber::parse(phone)
            .map_err(|e| ("联系电话", e.to_string()))?
            .as_str()
            .to_string()
    };
    let sold_at = if input.sold_at.trim().is_empty() {
        now
    } else {
        let at = fangkong_domain::time::parse_beijing_cell(&input.sold_at)
            .map_err(|e| ("销售时间", e))?
            .timestamp();
        if at > now + 120 {
            return Err(("销售时间", "不能晚于现在".into()));
        }
        if at < now - 7 * 86_400 {
            return Err(("销售时间", "只能上报最近7天内的销售".into()));
        }
        at
    };
    let day = DateTime::from_timestamp(sold_at, 0)
        .map(|t| beijing_date(t).to_string())
        .unwrap_or_default();
    let (id_type, id_number, id_flag, due_at) =
        match rules::buyer_document(&input.id_type, &input.id_number) {
            Ok(doc) => (
                doc.id_type().code().to_string(),
                doc.number().to_string(),
                String::new(),
                Some(catalogue.due_at(sold_at)),
            ),
            Err(why) => (
                String::new(),
                input.id_number.trim().chars().take(40).collect(),
                why,
                None,
            ),
        };
    Ok(SaleWrite {
        pharmacy_id: pharmacy.id,
        region_code: pharmacy.region_code.to_string(),
        sale_key,
        sold_at,
        day,
        drug_code: drug.code.clone(),
        drug_class: drug.class.code().to_string(),
        quantity,
        buyer_name: name.to_string(),
        id_type,
        id_number,
        phone,
        id_flag,
        channel: channel.code().to_string(),
        due_at,
        created_by: created_by.to_string(),
        created_at: now,
    })
}

impl App {
    /// Registers a pharmacy in the actor's jurisdiction.
    pub async fn register_pharmacy(&self, actor: &Actor, form: &PharmacyForm) -> AppResult<i64> {
        actor.require(Permission::ReportPharmacySales)?;
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::field("药店名称", "不能为空，最多60个字"));
        }
        let licence = form.licence_no.trim();
        if licence.is_empty()
            || licence.chars().count() > 40
            || licence.chars().any(char::is_whitespace)
        {
            return Err(AppError::field(
                "药品经营许可证编号",
                "不能为空，最多40个字符且不含空格",
            ));
        }
        let region = RegionCode::parse(form.region_code.trim())
            .map_err(|e| AppError::field("所在区域", e))?;
        actor.require_within(&region)?;
        if rules::catalogue_for(region.as_str()).is_none() {
            return Err(AppError::field("所在区域", "本省尚无“四类药品”监测目录"));
        }
        self.region_name(&region).await?;
        let record = PharmacyRecord {
            id: 0,
            name: name.to_string(),
            region_code: region.clone(),
            licence_no: licence.to_string(),
            created_by: actor.username.clone(),
            created_at: self.now_unix(),
        };
        let audit = audit_record(self, actor, "register_pharmacy", "", name);
        self.store
            .register_pharmacy(&record, &audit)
            .await?
            .ok_or_else(|| AppError::Conflict(format!("许可证编号 {licence} 的药店已登记")))
    }

    /// The pharmacies the actor reports for or watches (their jurisdiction).
    pub async fn pharmacies_of(&self, actor: &Actor) -> AppResult<Vec<PharmacyView>> {
        if !actor.role.allows(Permission::ReportPharmacySales) {
            actor.require(Permission::ViewWarning)?;
        }
        let (lower, upper) = actor.jurisdiction.subtree_range();
        Ok(self
            .store
            .pharmacies_in((lower.as_str(), upper.as_str()))
            .await?
            .into_iter()
            .map(view_pharmacy)
            .collect())
    }

    /// A pharmacy the actor may report for.
    pub(crate) async fn reporting_pharmacy(
        &self,
        actor: &Actor,
        id: i64,
    ) -> AppResult<(PharmacyRecord, &'static Catalogue)> {
        actor.require(Permission::ReportPharmacySales)?;
        let pharmacy = self
            .store
            .pharmacy(id)
            .await?
            .filter(|p| actor.jurisdiction.contains(&p.region_code))
            .ok_or(AppError::NotFound("该药店"))?;
        let catalogue = rules::catalogue_for(pharmacy.region_code.as_str())
            .ok_or_else(|| AppError::Invalid("本省尚无“四类药品”监测目录".into()))?;
        Ok((pharmacy, catalogue))
    }

    /// Writes parsed sales in chunks (one transaction each, with requirements, counters and code
    /// facts) and returns the new id of each (None: already recorded).
    pub(crate) async fn write_pharmacy_sales(
        &self,
        sales: &[SaleWrite],
        audit: Option<&fangkong_store::AuditRecord>,
    ) -> AppResult<Vec<Option<i64>>> {
        let policy = self.code_policy().await?;
        let mut ids = Vec::with_capacity(sales.len());
        for chunk in sales.chunks(SALES_PER_CHUNK) {
            let now = self.now_unix();
            let written = self
                .store
                .record_pharmacy_sales(
                    chunk,
                    now,
                    |person, facts, negatives| {
                        compute_code(policy, person, facts, negatives, now).1
                    },
                    audit,
                )
                .await?;
            self.codes.remember(&written.codes);
            ids.extend(written.ids);
        }
        Ok(ids)
    }

    /// Writes sales without an actor (the demo and the benchmark), as a pharmacy system would.
    pub async fn record_pharmacy_sales_unchecked(
        &self,
        sales: &[SaleWrite],
    ) -> AppResult<Vec<Option<i64>>> {
        self.write_pharmacy_sales(sales, None).await
    }

    /// One sale typed on the pharmacy's phone page: one transaction with its audit record.
    pub async fn report_pharmacy_sale(
        &self,
        actor: &Actor,
        pharmacy_id: i64,
        input: &SaleInput,
    ) -> AppResult<SaleOutcome> {
        let (pharmacy, catalogue) = self.reporting_pharmacy(actor, pharmacy_id).await?;
        let sale = parse_sale(
            input,
            &pharmacy,
            catalogue,
            SaleChannel::Form,
            &actor.username,
            self.now_unix(),
        )
        .map_err(|(column, message)| AppError::field(column, message))?;
        let audit = audit_record(
            self,
            actor,
            "report_pharmacy_sale",
            format!("pharmacy:{}", pharmacy.id),
            format!("销售单号 {}", sale.sale_key),
        );
        let ids = self
            .write_pharmacy_sales(std::slice::from_ref(&sale), Some(&audit))
            .await?;
        Ok(outcome(&sale, ids.first().copied().flatten()))
    }

    /// Sales from a pharmacy system (the API): each item names its pharmacy by licence number;
    /// an item with a problem is reported with its position and the rest land; a retried item is
    /// `already_recorded`. At most [`API_MAX_SALES`] items.
    pub async fn report_pharmacy_sales(
        &self,
        actor: &Actor,
        inputs: &[SaleInput],
    ) -> AppResult<(SalesReport, Vec<SaleOutcome>)> {
        actor.require(Permission::ReportPharmacySales)?;
        if inputs.len() > API_MAX_SALES {
            return Err(AppError::TooLarge(format!(
                "一次最多上报 {API_MAX_SALES} 条销售记录，请分批上报"
            )));
        }
        let now = self.now_unix();
        let mut known: std::collections::HashMap<String, Option<(PharmacyRecord, &Catalogue)>> =
            std::collections::HashMap::new();
        let mut report = SalesReport::default();
        let mut parsed = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            report.rows += 1;
            let row_number = i as i64 + 1;
            let licence = input.licence_no.trim().to_string();
            if !known.contains_key(&licence) {
                let found = match self.store.pharmacy_by_licence(&licence).await? {
                    Some(p) if actor.jurisdiction.contains(&p.region_code) => {
                        rules::catalogue_for(p.region_code.as_str()).map(|c| (p, c))
                    }
                    _ => None,
                };
                known.insert(licence.clone(), found);
            }
            let Some(Some((pharmacy, catalogue))) = known.get(&licence) else {
                report.problems.push(ProblemLine {
                    row_number,
                    column: "licence_no".into(),
                    message: format!(
                        "许可证编号“{}”的药店未登记或不在您的辖区",
                        crate::import::shown(&licence, 40)
                    ),
                });
                continue;
            };
            match parse_sale(
                input,
                pharmacy,
                catalogue,
                SaleChannel::Api,
                &actor.username,
                now,
            ) {
                Ok(sale) => parsed.push(sale),
                Err((column, message)) => report.problems.push(ProblemLine {
                    row_number,
                    column: column.into(),
                    message,
                }),
            }
        }
        let audit = audit_record(
            self,
            actor,
            "report_pharmacy_sales",
            "",
            format!("接口上报 {} 条", inputs.len()),
        );
        let outcomes = self.land_sales(&parsed, &audit, &mut report).await?;
        Ok((report, outcomes))
    }

    /// Writes parsed sales (chunks, the audit record with the first), counting into `report`.
    pub(crate) async fn land_sales(
        &self,
        parsed: &[SaleWrite],
        audit: &fangkong_store::AuditRecord,
        report: &mut SalesReport,
    ) -> AppResult<Vec<SaleOutcome>> {
        let mut outcomes = Vec::with_capacity(parsed.len());
        for (n, chunk) in parsed.chunks(SALES_PER_CHUNK).enumerate() {
            let ids = self
                .write_pharmacy_sales(chunk, (n == 0).then_some(audit))
                .await?;
            for (sale, id) in chunk.iter().zip(ids) {
                let o = outcome(sale, id);
                if o.sale_id.is_some() {
                    report.recorded += 1;
                    report.flagged += i64::from(o.flagged.is_some());
                } else {
                    report.already_recorded += 1;
                }
                outcomes.push(o);
            }
        }
        Ok(outcomes)
    }

    /// The recent sales a pharmacy user sees for their pharmacies (buyers masked).
    pub async fn recent_pharmacy_sales(
        &self,
        actor: &Actor,
        pharmacy_id: Option<i64>,
    ) -> AppResult<Vec<SaleView>> {
        if !actor.role.allows(Permission::ReportPharmacySales) {
            actor.require(Permission::ViewWarning)?;
        }
        let (lower, upper) = actor.jurisdiction.subtree_range();
        Ok(self
            .store
            .pharmacy_sales_in((lower.as_str(), upper.as_str()), "", pharmacy_id, 50)
            .await?
            .into_iter()
            .map(view_sale)
            .collect())
    }

    /// The commander's view of the pharmacies in their jurisdiction.
    pub async fn pharmacy_overview(&self, actor: &Actor) -> AppResult<PharmacyOverview> {
        actor.require(Permission::ViewWarning)?;
        let (lower, upper) = actor.jurisdiction.subtree_range();
        let range = (lower.as_str(), upper.as_str());
        let today = self.today().to_string();
        let list = |status: &'static str| async move {
            self.store
                .pharmacy_sales_in(range, status, None, 200)
                .await
                .map(|rows| rows.into_iter().map(view_sale).collect::<Vec<_>>())
        };
        let catalogue = rules::catalogue_for(actor.jurisdiction.as_str());
        Ok(PharmacyOverview {
            pharmacies: self.store.pharmacy_counts_in(range, &today).await?,
            figures: self
                .store
                .pharmacy_day_figures(actor.jurisdiction.as_str(), &today)
                .await?,
            awaiting: list("awaiting").await?,
            overdue: list("overdue").await?,
            flagged: list("flagged").await?,
            today,
            test_within_hours: catalogue.map_or(72, |c| c.test_within_hours),
            catalogue_note: catalogue.map(|c| c.note.clone()).unwrap_or_default(),
        })
    }

    /// The background pass over buyers' requirements: met by a negative sample since the sale
    /// (closed), or past the deadline without one (a lead to the buyer's grid, `source_key`
    /// `pharmacy_sale:<id>`, then closed as overdue). Idempotent. Returns how many it closed.
    pub async fn run_pharmacy_requirements(&self) -> AppResult<usize> {
        let mut closed = 0;
        loop {
            let now = self.now_unix();
            let found = self.store.pharmacy_requirements_to_close(now, 500).await?;
            if found.is_empty() {
                return Ok(closed);
            }
            let mut progressed = false;
            for req in &found {
                match rules::requirement_outcome(req.sold_at, req.due_at, req.first_negative, now) {
                    Some(RequirementStatus::Tested) => {
                        let at = req.first_negative.unwrap_or(now);
                        progressed |= self.store.pharmacy_requirement_met(req, at, now).await?;
                    }
                    Some(RequirementStatus::Overdue) => {
                        let lead_id = self.pharmacy_lead(req, now).await?;
                        let day = self.today().to_string();
                        progressed |= self
                            .store
                            .pharmacy_requirement_overdue(req, lead_id, now, &day)
                            .await?;
                    }
                    _ => {}
                }
            }
            closed += found.len();
            if !progressed {
                return Ok(closed);
            }
        }
    }

    /// The lead of an overdue buyer (made once: the sale is its source key).
    async fn pharmacy_lead(&self, req: &OpenRequirement, now: i64) -> AppResult<i64> {
        let key = format!("pharmacy_sale:{}", req.sale_id);
        if let Some(id) = self.store.lead_id_by_source_key(&key).await? {
            return Ok(id);
        }
        let resident = self
            .resident_by_document(&req.id_type, &req.id_number)
            .await?;
        let (grid_code, status, resident_id, address) = match &resident {
            Some(r) => (
                r.grid_code.clone(),
                LeadStatus::Pending,
                Some(r.id),
                r.address.clone(),
            ),
            None => {
                let status = if req.region_code.level() == RegionLevel::Grid {
                    LeadStatus::Pending
                } else {
                    LeadStatus::Unrouted
                };
                (
                    req.region_code.to_string(),
                    status,
                    None,
                    Default::default(),
                )
            }
        };
        let drug = rules::catalogue_for(req.region_code.as_str())
            .and_then(|c| c.drug(&req.drug_code))
            .map_or(req.drug_code.clone(), |d| d.name.clone());
        let lead = fangkong_store::LeadRecord {
            id: 0,
            channel: Channel::ActiveScreening,
            category: RiskCategory::Other,
            status,
            name: req.buyer_name.as_str().into(),
            id_type: fangkong_domain::ids::IdType::from_code(&req.id_type),
            id_number: req.id_number.as_str().into(),
            phone: fangkong_domain::phone::PhoneNumber::parse(&req.phone).ok(),
            address,
            resident_id,
            grid_code,
            reason: format!(
                "{}购买{}后未在{}前完成核酸检测（药店购药应检未检）",
                label(req.sold_at),
                drug,
                label(req.due_at)
            ),
            came_from: String::new(),
            arrived_at: None,
            sender: format!("零售药店监测（{}）", req.pharmacy_name),
            sender_scope: None,
            reference: format!("销售记录 #{}", req.sale_id),
            sender_region: req.region_code.as_str().chars().take(6).collect(),
            source_key: Some(key.clone()),
            received_at: now,
            deadline: fangkong_domain::leads::deadline_of(now),
            closed_at: None,
            measure: None,
            out_region: String::new(),
            out_note: String::new(),
            created_by: "pharmacies".into(),
            created_at: now,
        };
        if let Some(Some(id)) = self.store.insert_leads(&[lead]).await?.first() {
            return Ok(*id);
        }
        self.store
            .lead_id_by_source_key(&key)
            .await?
            .ok_or_else(|| AppError::internal("pharmacy lead neither written nor found"))
    }

    /// Buyers who test positive (`single_positive`, `pool_positive`, `antigen_positive`) within
    /// the monitoring window of a sale: one `SENTINEL_POSITIVE` event per sale
    /// (`pharmacy_buyer_positive`, `pharmacy_sale:<id>`). Returns the events read.
    pub async fn sync_pharmacy_events(&self) -> AppResult<usize> {
        let mut cursor = EventCursor::new(EVENT_CURSOR_SETTING, 5_000);
        while let Some(events) = cursor.next(self).await? {
            for event in &events {
                if !matches!(
                    event.kind.as_str(),
                    "single_positive" | "pool_positive" | "antigen_positive"
                ) || event.id_number.is_empty()
                {
                    continue;
                }
                let window = rules::catalogues()
                    .iter()
                    .map(|c| c.monitoring_days)
                    .max()
                    .unwrap_or(14);
                let sales = self
                    .store
                    .pharmacy_sales_of_buyer(
                        &event.id_type,
                        &event.id_number,
                        event.at - window * 86_400,
                    )
                    .await?;
                for sale in sales {
                    let in_window = rules::catalogue_for(sale.region_code.as_str())
                        .is_some_and(|c| c.in_window(sale.sold_at, event.at));
                    if !in_window {
                        continue;
                    }
                    let detail = SentinelEvent {
                        channel:
                            fangkong_domain::warning::triggers::SignalChannel::PharmacyBuyerPositive
                                .code()
                                .into(),
                        place: sale.pharmacy_name.clone(),
                        record: format!("pharmacy_sale:{}", sale.sale_id),
                        at: event.at,
                    };
                    let detail = serde_json::to_string(&detail)
                        .map_err(|e| AppError::internal_in("sentinel detail", e))?;
                    self.store
                        .record_pharmacy_buyer_positive(
                            sale.sale_id,
                            event.at,
                            &event.id_type,
                            &event.id_number,
                            event.resident_id,
                            &event.grid_code,
                            &detail,
                        )
                        .await?;
                }
            }
        }
        Ok(cursor.read())
    }

    /// The pharmacies' background step: buyers' positives, then the requirements.
    pub async fn try_run_pharmacy_passes(&self) -> AppResult<()> {
        let events = self.sync_pharmacy_events().await.map(|_| ());
        let requirements = self.run_pharmacy_requirements().await.map(|_| ());
        events.and(requirements)
    }
}

fn outcome(sale: &SaleWrite, id: Option<i64>) -> SaleOutcome {
    SaleOutcome {
        sale_key: sale.sale_key.clone(),
        status: if id.is_some() {
            "recorded"
        } else {
            "already_recorded"
        },
        sale_id: id,
        flagged: (!sale.id_flag.is_empty()).then(|| sale.id_flag.clone()),
        test_due: sale.due_at.map(label),
    }
}
