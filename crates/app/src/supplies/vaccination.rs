//! Supplies: vaccination (疫苗接种, domain-rules.md §10.5). A vaccination point (接种点) records a
//! person's dose — typed, or a sheet of them (`vaccination_upload`) — checked against the person's
//! earlier doses by the interval rules before anything is written (a dose before its interval is
//! refused with the reason, or reported as a problem row); a retried dose writes nothing (one of
//! each kind per person). Contraindications are kept as reasons. Coverage by age band and child
//! region, and the push list of people of 60 and over not yet vaccinated per grid, read the
//! register and the doses.

use std::collections::HashMap;

use chrono::NaiveDate;
use fangkong_domain::ids::{IdDocument, IdType};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Permission;
use fangkong_domain::supplies::vaccination::{
    self as rules, AgeBand, Contraindication, DoseKind, PriorDose, VaccineProduct,
};
use fangkong_store::ResidentRecord;
use fangkong_store::supplies::vaccination::{ContraindicationWrite, CoverageRow, DoseWrite};
use serde::{Deserialize, Serialize};

use crate::{Actor, App, AppError, AppResult, Page, audit_record, scope};

/// Rows of the push list per page.
pub const PUSH_PAGE_ROWS: i64 = 200;

/// A dose as a vaccination point types it (or a sheet's row holds it).
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct DoseForm {
    pub id_type: String,
    pub id_number: String,
    pub product: String,
    pub dose_kind: String,
    pub given_on: String,
    pub site: String,
}

impl std::fmt::Debug for DoseForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DoseForm")
            .field("product", &self.product)
            .field("dose_kind", &self.dose_kind)
            .field("given_on", &self.given_on)
            .finish_non_exhaustive()
    }
}

/// What became of a dose.
#[derive(Debug, Clone, Serialize)]
pub struct DoseOutcome {
    /// `recorded`, or `already_recorded` (a retry: nothing written).
    pub status: &'static str,
    pub dose_id: Option<i64>,
    pub dose: &'static str,
}

/// What a sheet of doses did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DoseImportReport {
    pub rows: i64,
    pub recorded: i64,
    pub already_recorded: i64,
    pub problems: Vec<crate::import::ProblemLine>,
}

/// A contraindication as typed: the person, the reason, the day a postponing one ends.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct ContraindicationForm {
    pub id_type: String,
    pub id_number: String,
    pub reason: String,
    pub until: String,
    pub note: String,
}

impl std::fmt::Debug for ContraindicationForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContraindicationForm")
            .field("reason", &self.reason)
            .field("until", &self.until)
            .finish_non_exhaustive()
    }
}

/// One age band's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BandView {
    pub band: &'static str,
    pub people: i64,
    pub first_dose: i64,
    pub full_course: i64,
    pub booster: i64,
    pub first_rate: String,
    pub full_rate: String,
    pub booster_rate: String,
}

/// One child region's coverage.
#[derive(Debug, Clone, Serialize)]
pub struct RegionCoverage {
    pub code: String,
    pub name: String,
    pub bands: Vec<BandView>,
}

/// Coverage of a region: per band over the region, then per child region.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageView {
    pub region_code: String,
    pub region_name: String,
    pub today: String,
    pub bands: Vec<BandView>,
    pub all: BandView,
    pub children: Vec<RegionCoverage>,
}

/// A person of the push list (masked ID and phone; the name and address for the visit).
#[derive(Debug, Clone, Serialize)]
pub struct PushPerson {
    pub resident_id: i64,
    pub name: String,
    pub age: u32,
    pub band: &'static str,
    pub id_masked: String,
    pub phone_masked: String,
    pub address: String,
    pub grid_code: String,
    /// The contraindications in force, in words ('' when none: to be visited).
    pub reasons: Vec<String>,
}

/// A dose as the vaccination point's list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DoseView {
    pub id: i64,
    pub grid_code: String,
    pub dose: &'static str,
    pub product: &'static str,
    pub given_on: String,
    pub site: String,
}

/// A dose parsed before anything is read.
pub(crate) struct ParsedDose {
    pub document: IdDocument,
    pub product: VaccineProduct,
    pub kind: DoseKind,
    pub given_on: NaiveDate,
    pub site: String,
}

/// The result of landing one dose: written, a retry, or why not (column, reason).
pub(crate) enum Landed {
    Recorded(i64),
    AlreadyRecorded,
    Refused(&'static str, String),
}

fn rate(n: i64, of: i64) -> String {
    if of == 0 {
        "—".into()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / of as f64)
    }
}

fn band_view(band: &'static str, rows: &[&CoverageRow]) -> BandView {
    let mut v = BandView {
        band,
        ..Default::default()
    };
    for r in rows {
        v.people += r.people;
        v.first_dose += r.first_dose;
        v.full_course += r.full_course;
        v.booster += r.booster;
    }
    v.first_rate = rate(v.first_dose, v.people);
    v.full_rate = rate(v.full_course, v.people);
    v.booster_rate = rate(v.booster, v.people);
    v
}

fn bands_of(rows: &[&CoverageRow]) -> Vec<BandView> {
    AgeBand::ALL
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let of_band: Vec<&CoverageRow> = rows
                .iter()
                .filter(|r| r.band == i as i64)
                .copied()
                .collect();
            band_view(b.label_zh(), &of_band)
        })
        .collect()
}

/// Parses a typed dose or a sheet's row: `(column, reason)` on the first problem.
pub(crate) fn parse_dose(
    form: &DoseForm,
    today: NaiveDate,
) -> Result<ParsedDose, (&'static str, String)> {
    let id_type = IdType::parse(&form.id_type).map_err(|e| ("证件类型", e))?;
    let document = IdDocument::parse(id_type, &form.id_number).map_err(|e| ("证件号码", e))?;
    let product = VaccineProduct::parse(&form.product).map_err(|e| ("疫苗", e))?;
    let kind = DoseKind::parse(&form.dose_kind).map_err(|e| ("剂次", e))?;
    let given_on = if form.given_on.trim().is_empty() {
        today
    } else {
        fangkong_domain::time::parse_beijing_cell(&form.given_on)
            .map(fangkong_domain::time::beijing_date)
            .map_err(|e| ("接种日期", e.replace("时间", "接种日期")))?
    };
    let site = form.site.trim();
    if site.chars().count() > 60 {
        return Err(("接种单位", "不能超过60个字".into()));
    }
    Ok(ParsedDose {
        document,
        product,
        kind,
        given_on,
        site: site.to_string(),
    })
}

fn prior_of(rows: &[fangkong_store::supplies::vaccination::DoseRow]) -> Vec<PriorDose> {
    rows.iter()
        .filter_map(|r| {
            Some(PriorDose {
                kind: DoseKind::from_code(&r.dose_kind)?,
                product: VaccineProduct::from_code(&r.product)?,
                given_on: NaiveDate::parse_from_str(&r.given_on, "%Y-%m-%d").ok()?,
            })
        })
        .collect()
}

impl App {
    /// The registered person a dose or a contraindication names, inside the actor's jurisdiction.
    async fn vaccinated_person(
        &self,
        actor: &Actor,
        document: &IdDocument,
    ) -> AppResult<Option<ResidentRecord>> {
        let found = self
            .resident_by_document(document.id_type().code(), document.number())
            .await?;
        Ok(found.filter(|r| scope::ensure_within(actor, r).is_ok()))
    }

    /// Lands one parsed dose: the person, their earlier doses, the rules, then the write.
    pub(crate) async fn land_dose(
        &self,
        actor: &Actor,
        dose: &ParsedDose,
        channel: &str,
        audit: Option<&fangkong_store::AuditRecord>,
    ) -> AppResult<Landed> {
        let Some(person) = self.vaccinated_person(actor, &dose.document).await? else {
            return Ok(Landed::Refused(
                "证件号码",
                "此人未在您辖区的人口库中登记：请核对证件号码，或先由网格员登记".into(),
            ));
        };
        let rows = self.store.vaccine_doses_of(person.id).await?;
        let prior = prior_of(&rows);
        if let Some(same) = prior.iter().find(|d| d.kind == dose.kind) {
            if same.given_on == dose.given_on && same.product == dose.product {
                return Ok(Landed::AlreadyRecorded);
            }
            return Ok(Landed::Refused(
                "剂次",
                format!(
                    "此人已登记{}（{}，{}），与本次不同：请核对",
                    same.kind.label_zh(),
                    same.given_on,
                    same.product.label_zh()
                ),
            ));
        }
        if let Err(why) = rules::check_dose(dose.kind, dose.given_on, &prior, self.today()) {
            return Ok(Landed::Refused("接种日期", why));
        }
        let write = DoseWrite {
            resident_id: person.id,
            grid_code: person.grid_code.clone(),
            dose_kind: dose.kind.code().into(),
            product: dose.product.code().into(),
            given_on: dose.given_on.to_string(),
            site: dose.site.clone(),
            channel: channel.into(),
            created_by: actor.username.clone(),
            created_at: self.now_unix(),
        };
        Ok(match self.store.insert_vaccine_dose(&write, audit).await? {
            Some(id) => Landed::Recorded(id),
            None => Landed::AlreadyRecorded,
        })
    }

    /// One dose typed at the vaccination point: refused with the reason when it breaks an
    /// interval; a retry is `already_recorded` and writes nothing.
    pub async fn record_dose(&self, actor: &Actor, form: &DoseForm) -> AppResult<DoseOutcome> {
        actor.require(Permission::RecordVaccinations)?;
        let dose = parse_dose(form, self.today()).map_err(|(c, m)| AppError::field(c, m))?;
        let audit = audit_record(
            self,
            actor,
            "record_vaccine_dose",
            "",
            format!("{} {}", dose.kind.label_zh(), dose.given_on),
        );
        match self.land_dose(actor, &dose, "form", Some(&audit)).await? {
            Landed::Recorded(id) => Ok(DoseOutcome {
                status: "recorded",
                dose_id: Some(id),
                dose: dose.kind.label_zh(),
            }),
            Landed::AlreadyRecorded => Ok(DoseOutcome {
                status: "already_recorded",
                dose_id: None,
                dose: dose.kind.label_zh(),
            }),
            Landed::Refused(column, why) => Err(AppError::field(column, why)),
        }
    }

    /// Keeps a contraindication as the reason a person is not vaccinated now; a postponing one
    /// needs the day it ends (at most 180 days ahead).
    pub async fn record_contraindication(
        &self,
        actor: &Actor,
        form: &ContraindicationForm,
    ) -> AppResult<i64> {
        actor.require(Permission::RecordVaccinations)?;
        let id_type = IdType::parse(&form.id_type).map_err(|e| AppError::field("证件类型", e))?;
        let document = IdDocument::parse(id_type, &form.id_number)
            .map_err(|e| AppError::field("证件号码", e))?;
        let reason = Contraindication::from_code(form.reason.trim())
            .ok_or_else(|| AppError::field("禁忌原因", "请选择"))?;
        let today = self.today();
        let until_day = if reason.postpones() {
            let day = fangkong_domain::time::parse_beijing_cell(&form.until)
                .map(fangkong_domain::time::beijing_date)
                .map_err(|_| {
                    AppError::field("暂缓至", "暂缓接种须填写暂缓到哪一天，如 2022-12-20")
                })?;
            if day < today || day > today + chrono::Duration::days(180) {
                return Err(AppError::field("暂缓至", "须在今天到180天之内"));
            }
            day.to_string()
        } else {
            String::new()
        };
        let note = form.note.trim();
        if note.chars().count() > 100 {
            return Err(AppError::field("说明", "不能超过100个字"));
        }
        let person = self
            .vaccinated_person(actor, &document)
            .await?
            .ok_or(AppError::NotFound("该居民"))?;
        let audit = audit_record(
            self,
            actor,
            "record_contraindication",
            "",
            reason.label_zh(),
        );
        Ok(self
            .store
            .keep_contraindication(
                &ContraindicationWrite {
                    resident_id: person.id,
                    grid_code: person.grid_code.clone(),
                    reason: reason.code().into(),
                    until_day,
                    note: note.into(),
                    recorded_by: actor.username.clone(),
                    recorded_at: self.now_unix(),
                },
                &audit,
            )
            .await?)
    }

    fn vaccination_region(&self, actor: &Actor, region: &str) -> AppResult<RegionCode> {
        if !actor.role.allows(Permission::RecordVaccinations) {
            actor.require(Permission::ViewVaccination)?;
        }
        self.warning_region(actor, region)
    }

    /// Coverage of a region of the jurisdiction (empty: all of it) by age band — first dose, full
    /// course, booster — over the region and per child region.
    pub async fn vaccination_coverage(
        &self,
        actor: &Actor,
        region: &str,
    ) -> AppResult<CoverageView> {
        let code = self.vaccination_region(actor, region)?;
        let today = self.today();
        let born_by: [String; 5] = AgeBand::ALL.map(|b| b.born_by(today).to_string());
        let child_len = code
            .level()
            .child()
            .map_or(code.as_str().len(), |l| l.code_len());
        let (lower, upper) = code.subtree_range();
        let rows = self
            .store
            .vaccination_coverage((&lower, &upper), child_len, &born_by)
            .await?;
        let all_rows: Vec<&CoverageRow> = rows.iter().collect();
        let mut by_child: std::collections::BTreeMap<&str, Vec<&CoverageRow>> = Default::default();
        for r in &rows {
            by_child.entry(r.region_code.as_str()).or_default().push(r);
        }
        let mut children = Vec::with_capacity(by_child.len());
        for (child, rows) in by_child {
            let name = match RegionCode::parse(child) {
                Ok(c) => self
                    .region_name(&c)
                    .await
                    .unwrap_or_else(|_| child.to_string()),
                Err(_) => child.to_string(),
            };
            children.push(RegionCoverage {
                code: child.to_string(),
                name,
                bands: bands_of(&rows),
            });
        }
        Ok(CoverageView {
            region_name: self.region_name(&code).await?,
            region_code: code.as_str().to_string(),
            today: today.to_string(),
            bands: bands_of(&all_rows),
            all: band_view("合计（3岁及以上）", &all_rows),
            children,
        })
    }

    /// The push list (老年人接种推进): people of 60 and over of a region (a grid worker: their
    /// grid) with no dose, 80 and over first within each grid, with the contraindications in
    /// force as their reasons.
    pub async fn vaccination_push_list(
        &self,
        actor: &Actor,
        region: &str,
        page: i64,
    ) -> AppResult<Page<PushPerson>> {
        let code = self.vaccination_region(actor, region)?;
        let today = self.today();
        let (lower, upper) = code.subtree_range();
        let offset = page.clamp(0, 10_000) * PUSH_PAGE_ROWS;
        let born_by = AgeBand::Senior.born_by(today).to_string();
        let (rows, total) = self
            .store
            .unvaccinated_elderly((&lower, &upper), &born_by, PUSH_PAGE_ROWS, offset)
            .await?;
        let mut reasons: HashMap<i64, Vec<String>> = HashMap::new();
        for c in self
            .store
            .contraindications_in((&lower, &upper), &today.to_string())
            .await?
        {
            let mut words = Contraindication::from_code(&c.reason)
                .map_or(c.reason.clone(), |r| r.label_zh().to_string());
            if !c.until_day.is_empty() {
                words.push_str(&format!("，至 {}", c.until_day));
            }
            if !c.note.is_empty() {
                words.push_str(&format!("：{}", c.note));
            }
            reasons.entry(c.resident_id).or_default().push(words);
        }
        let people = rows
            .into_iter()
            .map(|r| {
                let age = NaiveDate::parse_from_str(&r.birth_date, "%Y-%m-%d")
                    .map(|b| rules::age_on(b, today))
                    .unwrap_or(0);
                PushPerson {
                    resident_id: r.resident_id,
                    name: r.name.as_str().to_string(),
                    age,
                    band: AgeBand::of_age(age).map_or("", AgeBand::label_zh),
                    id_masked: crate::population::mask_document(&r.id_type, r.id_number.as_str()),
                    phone_masked: crate::population::mask_phone(
                        r.phone.as_ref().map(|p| p.as_str()),
                    ),
                    address: r.address.as_str().to_string(),
                    grid_code: r.grid_code,
                    reasons: reasons.remove(&r.resident_id).unwrap_or_default(),
                }
            })
            .collect();
        Ok(Page::new(people, total))
    }

    /// The newest doses recorded in the jurisdiction (the vaccination point's list).
    pub async fn recent_doses(&self, actor: &Actor) -> AppResult<Vec<DoseView>> {
        let code = self.vaccination_region(actor, "")?;
        let (lower, upper) = code.subtree_range();
        Ok(self
            .store
            .recent_vaccine_doses((&lower, &upper), 30)
            .await?
            .into_iter()
            .map(|d| DoseView {
                id: d.id,
                grid_code: d.grid_code,
                dose: DoseKind::from_code(&d.dose_kind).map_or("", DoseKind::label_zh),
                product: VaccineProduct::from_code(&d.product).map_or("", VaccineProduct::label_zh),
                given_on: d.given_on,
                site: d.site,
            })
            .collect())
    }

    /// A person's history of doses written without an actor (the demo), each checked by the
    /// interval rules against the doses before it (a dose that breaks them is left out), in one
    /// transaction; returns how many were written.
    pub async fn seed_doses_unchecked(
        &self,
        history: &[(&ResidentRecord, Vec<PriorDose>)],
        site: &str,
    ) -> AppResult<u64> {
        let today = self.today();
        let now = self.now_unix();
        let mut writes = Vec::new();
        for (resident, doses) in history {
            let mut prior: Vec<PriorDose> = Vec::new();
            for d in doses {
                if prior.iter().any(|p| p.kind == d.kind)
                    || rules::check_dose(d.kind, d.given_on, &prior, today).is_err()
                {
                    break;
                }
                prior.push(*d);
                writes.push(DoseWrite {
                    resident_id: resident.id,
                    grid_code: resident.grid_code.clone(),
                    dose_kind: d.kind.code().into(),
                    product: d.product.code().into(),
                    given_on: d.given_on.to_string(),
                    site: site.into(),
                    channel: "demo".into(),
                    created_by: "demo".into(),
                    created_at: now,
                });
            }
        }
        Ok(self.store.insert_vaccine_doses(&writes).await?)
    }
}
