//! The region tree (区划): loading the real divisions, grids, and per-region population overviews.

use std::collections::HashMap;

use fangkong_domain::region::{RegionCode, RegionLevel, is_community_name};
use fangkong_domain::role::Permission;
use fangkong_store::{ChildCount, GridWorkerRecord, HouseholdRecord, RegionRecord};
use serde::Serialize;

use crate::{Actor, App, AppError, AppResult, parse_region_code};

/// The real administrative divisions of Hebei (NBS statistical codes; see data/divisions/README.md),
/// compiled into the binary so fangkong runs with nothing beside it.
const PROVINCES_CSV: &str = include_str!("../../../data/divisions/provinces.csv");
const CITIES_CSV: &str = include_str!("../../../data/divisions/cities.csv");
const COUNTIES_CSV: &str = include_str!("../../../data/divisions/counties.csv");
const TOWNSHIPS_CSV: &str = include_str!("../../../data/divisions/townships.csv");
const VILLAGES_CSV: &str = include_str!("../../../data/divisions/villages.csv");

/// Parses the embedded division tables into region rows (province → village), parents first.
pub fn embedded_divisions() -> AppResult<Vec<RegionRecord>> {
    // (table, level, column holding the parent code)
    let tables: [(&str, RegionLevel, Option<&str>); 5] = [
        (PROVINCES_CSV, RegionLevel::Province, None),
        (CITIES_CSV, RegionLevel::City, Some("provinceCode")),
        (COUNTIES_CSV, RegionLevel::County, Some("cityCode")),
        (TOWNSHIPS_CSV, RegionLevel::Township, Some("areaCode")),
        (VILLAGES_CSV, RegionLevel::Village, Some("streetCode")),
    ];
    let mut regions = Vec::with_capacity(60_000);
    for (text, level, parent_column) in tables {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().map_err(AppError::internal)?.clone();
        let column = |name: &str| headers.iter().position(|h| h == name);
        let code_at =
            column("code").ok_or_else(|| AppError::internal("division table without code"))?;
        let name_at =
            column("name").ok_or_else(|| AppError::internal("division table without name"))?;
        let parent_at = parent_column.and_then(column);
        for record in reader.records() {
            let record = record.map_err(AppError::internal)?;
            let code = record[code_at].to_string();
            let name = record[name_at].to_string();
            regions.push(RegionRecord {
                is_community: level == RegionLevel::Village && is_community_name(&name),
                parent_code: parent_at.map(|i| record[i].to_string()),
                level: i64::from(level.as_i16()),
                code,
                name,
            });
        }
    }
    Ok(regions)
}

/// The region row of a new grid under a village or community.
pub fn grid_record(code: &str, village_code: &str, name: &str) -> RegionRecord {
    RegionRecord {
        code: code.to_string(),
        name: name.to_string(),
        level: i64::from(RegionLevel::Grid.as_i16()),
        parent_code: Some(village_code.to_string()),
        is_community: false,
    }
}

/// One child line of a region page.
#[derive(Debug, Clone, Serialize)]
pub struct ChildLine {
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
    pub is_community: bool,
    pub residents: i64,
    pub households: i64,
    pub grids: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RegionSummary {
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
}

/// What a region page shows: where it is, its totals, and its children with their counts; for a grid,
/// its workers and its first households.
#[derive(Debug, Clone, Serialize)]
pub struct RegionOverview {
    pub region: RegionSummary,
    /// Ancestors inside the actor's jurisdiction, from the top of it down to the parent.
    pub breadcrumbs: Vec<RegionSummary>,
    pub residents: i64,
    pub households: i64,
    pub grids: i64,
    pub children: Vec<ChildLine>,
    pub grid_workers: Vec<GridWorkerView>,
    pub households_page: Vec<HouseholdRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GridWorkerView {
    pub name: String,
    pub phone_masked: String,
    pub username: Option<String>,
}

fn summary(record: &RegionRecord) -> AppResult<RegionSummary> {
    Ok(RegionSummary {
        code: record.code.clone(),
        name: record.name.clone(),
        level: level_of(record)?,
    })
}

fn level_of(record: &RegionRecord) -> AppResult<RegionLevel> {
    i16::try_from(record.level)
        .ok()
        .and_then(RegionLevel::from_i16)
        .ok_or_else(|| {
            AppError::internal(format!("region {} has level {}", record.code, record.level))
        })
}

impl App {
    /// Loads the embedded divisions of Hebei; a second call changes nothing.
    pub async fn load_divisions(&self) -> AppResult<u64> {
        let regions = embedded_divisions()?;
        Ok(self.store.insert_regions(&regions).await?)
    }

    /// Creates grids under villages, with their workers (seeding and administration).
    pub async fn create_grids_unchecked(
        &self,
        grids: &[RegionRecord],
        workers: &[GridWorkerRecord],
    ) -> AppResult<()> {
        for grid in grids {
            let code = parse_region_code(&grid.code)?;
            if code.level() != RegionLevel::Grid {
                return Err(AppError::Invalid(format!(
                    "{} 不是网格编码（应为15位）",
                    grid.code
                )));
            }
        }
        Ok(self.store.insert_grids(grids, workers).await?)
    }

    /// The region page: totals, children with counts (from per-grid counts, never a scan of residents).
    pub async fn region_overview(&self, actor: &Actor, code: &str) -> AppResult<RegionOverview> {
        actor.require(Permission::ViewPopulation)?;
        let code = parse_region_code(code)?;
        actor.require_within(&code)?;
        let record = self
            .store
            .region(code.as_str())
            .await?
            .ok_or(AppError::NotFound("该区划"))?;
        let (lower, upper) = code.subtree_range();
        let totals = self
            .store
            .subtree_counts(code.as_str(), (&lower, &upper))
            .await?;

        let ancestor_codes: Vec<String> = code
            .ancestors()
            .into_iter()
            .filter(|a| actor.jurisdiction.contains(a))
            .map(|a| a.as_str().to_string())
            .collect();
        let breadcrumbs = self
            .store
            .regions_by_codes(&ancestor_codes)
            .await?
            .iter()
            .map(summary)
            .collect::<AppResult<Vec<_>>>()?;

        let mut children = Vec::new();
        let mut grid_workers = Vec::new();
        let mut households_page = Vec::new();
        if let Some(child_level) = code.level().child() {
            let child_records = self.store.region_children(code.as_str()).await?;
            let counts: HashMap<String, ChildCount> = self
                .store
                .child_counts((&lower, &upper), child_level.code_len() as i64)
                .await?
                .into_iter()
                .map(|c| (c.code.clone(), c))
                .collect();
            for child in &child_records {
                let count = counts.get(&child.code).cloned().unwrap_or_default();
                children.push(ChildLine {
                    code: child.code.clone(),
                    name: child.name.clone(),
                    level: level_of(child)?,
                    is_community: child.is_community,
                    residents: count.residents,
                    households: count.households,
                    grids: count.grids,
                });
            }
        } else {
            grid_workers = self
                .store
                .grid_workers(code.as_str())
                .await?
                .into_iter()
                .map(|w| GridWorkerView {
                    phone_masked: crate::population::mask_phone(w.phone.as_deref()),
                    name: w.name.into(),
                    username: w.username,
                })
                .collect();
            households_page = self
                .store
                .households_in_grid(code.as_str(), "", 500)
                .await?;
        }
        Ok(RegionOverview {
            region: summary(&record)?,
            breadcrumbs,
            residents: totals.residents,
            households: totals.households,
            grids: totals.grids,
            children,
            grid_workers,
            households_page,
        })
    }

    /// Regions whose name contains `text`, inside the jurisdiction (the search box of the region tree).
    pub async fn find_regions(&self, actor: &Actor, text: &str) -> AppResult<Vec<RegionSummary>> {
        actor.require(Permission::ViewPopulation)?;
        let text = text.trim();
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let (lower, upper) = actor.jurisdiction_range();
        self.store
            .find_regions_by_name(text, (&lower, &upper), 50)
            .await?
            .iter()
            .map(summary)
            .collect()
    }

    /// The name of a region, for headings (no jurisdiction check: names of places are public).
    pub async fn region_name(&self, code: &RegionCode) -> AppResult<String> {
        Ok(self
            .store
            .region(code.as_str())
            .await?
            .map(|r| r.name)
            .unwrap_or_else(|| code.as_str().to_string()))
    }
}

impl App {
    /// The regions from the actor's jurisdiction down to `region_code` (for a breadcrumb): empty when
    /// the code is not a region code, and never a region above the jurisdiction.
    pub async fn region_path_within(
        &self,
        actor: &Actor,
        region_code: &str,
    ) -> AppResult<Vec<RegionRecord>> {
        let Ok(code) = RegionCode::parse(region_code) else {
            return Ok(Vec::new());
        };
        if !actor.jurisdiction.contains(&code) {
            return Ok(Vec::new());
        }
        let top = actor.jurisdiction.as_str().len();
        let mut codes: Vec<String> = code
            .ancestors()
            .into_iter()
            .filter(|c| c.as_str().len() >= top)
            .map(|c| c.as_str().to_string())
            .collect();
        codes.push(code.as_str().to_string());
        Ok(self.store.regions_by_codes(&codes).await?)
    }

    /// Whether the actor's account is linked to a resident of the register (a resident's own pages).
    pub async fn is_linked_to_resident(&self, actor: &Actor) -> AppResult<bool> {
        Ok(self.store.user_resident_id(actor.user_id).await?.is_some())
    }
}
