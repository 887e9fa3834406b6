//! Sampling sites (采样点): the plan of sites for a round, creating one, its pool size.

use super::*;

/// A sampling site as the form asked for it, every value parsed and bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSite {
    /// A village/community or a grid.
    pub region: RegionCode,
    pub name: String,
    /// At most 100 characters.
    pub address: String,
    pub tables: i64,
    pub staff: i64,
    pub swabs_per_table_hour: i64,
}

impl TryFrom<&SiteForm> for CreateSite {
    type Error = AppError;

    fn try_from(form: &SiteForm) -> Result<Self, AppError> {
        let region = parse_region_code(&form.region_code)?;
        if region.level() < RegionLevel::Village {
            return Err(AppError::Invalid(
                "采样点应设在村/社区或网格（12位或15位编码）".into(),
            ));
        }
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::Invalid("请填写采样点名称（60字以内）".into()));
        }
        Ok(CreateSite {
            region,
            name: name.to_string(),
            address: form.address.trim().chars().take(100).collect(),
            tables: parse_count(&form.tables, "采样台数", 1..=50, 1)?,
            staff: parse_count(&form.staff, "工作人员数", 0..=500, 0)?,
            swabs_per_table_hour: parse_count(
                &form.swabs_per_table_hour,
                "每台每小时采样人数",
                10..=300,
                NHC_2022_NORMS.swabs_per_table_hour,
            )?,
        })
    }
}

impl App {
    /// The planner for a region of a round: per child, population (the round's target), the
    /// suggested sites and tables, and what the sites set up so far give.
    pub async fn site_plan(
        &self,
        actor: &Actor,
        round_id: i64,
        region_code: &str,
        norms: PlannerNorms,
    ) -> AppResult<Vec<PlanLine>> {
        actor.require(Permission::ViewPopulation)?;
        norms.check().map_err(AppError::Invalid)?;
        let overview = self.round_overview(actor, round_id, region_code).await?;
        let code = parse_region_code(&overview.region_code)?;
        let (lower, upper) = code.subtree_range();
        let sites = self
            .store
            .sites_of_round(round_id, (&lower, &upper))
            .await?;
        let mut lines: Vec<PlanLine> = overview
            .children
            .iter()
            .map(|child| {
                let here: Vec<&SiteRecord> = sites
                    .iter()
                    .filter(|s| s.region_code.as_str().starts_with(&child.code))
                    .collect();
                let tables_now: i64 = here.iter().map(|s| s.tables_count).sum();
                let rate: i64 = here
                    .iter()
                    .map(|s| s.tables_count * s.swabs_per_table_hour)
                    .sum();
                let due = (child.target - child.exempt).max(0);
                PlanLine {
                    code: child.code.clone(),
                    name: child.name.clone(),
                    population: due,
                    plan: norms.plan(due),
                    sites_now: here.len() as i64,
                    tables_now,
                    hours_now: (rate > 0).then(|| hours_to_sample(due, 1, rate)),
                }
            })
            .collect();
        lines.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(lines)
    }

    /// Sets up a sampling site in a round: the form is parsed into [`CreateSite`] before anything
    /// is read; the site and its audit record are one transaction.
    pub async fn create_site(
        &self,
        actor: &Actor,
        round_id: i64,
        form: &SiteForm,
    ) -> AppResult<i64> {
        actor.require(Permission::ManageTestingRounds)?;
        let command = CreateSite::try_from(form)?;
        let round = self.visible_round(actor, round_id).await?;
        if round.closed_at.is_some() {
            return Err(AppError::Conflict("本轮已结束，不能再设采样点".into()));
        }
        actor.require_within(&command.region)?;
        let round_region = round.region_code.clone();
        if !round_region.contains(&command.region) {
            return Err(AppError::Invalid("采样点所在区域不在本轮检测范围内".into()));
        }
        let site = SiteRecord {
            id: 0,
            round_id,
            region_code: command.region.clone(),
            name: command.name,
            address: command.address,
            tables_count: command.tables,
            staff_count: command.staff,
            swabs_per_table_hour: command.swabs_per_table_hour,
            created_at: self.now_unix(),
        };
        let id = self
            .store
            .insert_site(
                &site,
                &audit_record(self, actor, "create", "", format!("test_round:{round_id}")),
            )
            .await?;
        Ok(id)
    }

    pub async fn sampling_site(&self, actor: &Actor, site_id: i64) -> AppResult<SiteRecord> {
        actor.require(Permission::ViewPopulation)?;
        let site = load_within(actor, self.store.site(site_id)).await?;
        Ok(site)
    }

    /// The pool size a new screening tube gets at this site (the binding page shows it before the
    /// first swab; recheck tubes always hold one).
    pub async fn site_pool_size(&self, actor: &Actor, site_id: i64) -> AppResult<i64> {
        let site = self.sampling_site(actor, site_id).await?;
        let round = self.round_record(site.round_id).await?;
        let areas = self.store.round_areas(round.id).await?;
        Ok(pool_size_at(&round, &areas, &site.region_code))
    }

    pub async fn sites(&self, actor: &Actor, round_id: i64) -> AppResult<Vec<SiteRecord>> {
        actor.require(Permission::ViewPopulation)?;
        self.visible_round(actor, round_id).await?;
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self
            .store
            .sites_of_round(round_id, (&lower, &upper))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> SiteForm {
        SiteForm {
            region_code: "130109100013".into(),
            name: " 西城街社区卫生站 ".into(),
            address: "西城街1号".into(),
            tables: "3".into(),
            staff: String::new(),
            swabs_per_table_hour: String::new(),
        }
    }

    #[test]
    fn a_good_form_is_a_site_with_its_defaults() {
        assert_eq!(
            CreateSite::try_from(&good()).unwrap(),
            CreateSite {
                region: RegionCode::parse("130109100013").unwrap(),
                name: "西城街社区卫生站".into(),
                address: "西城街1号".into(),
                tables: 3,
                staff: 0,
                swabs_per_table_hour: NHC_2022_NORMS.swabs_per_table_hour,
            }
        );
    }

    #[test]
    fn each_bad_field_is_refused_by_its_name() {
        type Change = fn(&mut SiteForm);
        let table: [(Change, &str); 6] = [
            (|f| f.region_code = "abc".into(), "区划编码"),
            (|f| f.region_code = "130109100".into(), "村/社区或网格"),
            (|f| f.name = String::new(), "采样点名称"),
            (|f| f.tables = "51".into(), "采样台数"),
            (|f| f.staff = "-1".into(), "工作人员数"),
            (
                |f| f.swabs_per_table_hour = "9".into(),
                "每台每小时采样人数",
            ),
        ];
        for (change, field) in table {
            let mut form = good();
            change(&mut form);
            match CreateSite::try_from(&form) {
                Err(AppError::Invalid(message)) => {
                    assert!(message.contains(field), "{field}: {message}")
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
