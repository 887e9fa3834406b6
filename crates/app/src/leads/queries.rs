//! What the lead pages show: lists, one lead with its steps, the command view with the landing rate.

use super::*;

impl App {
    /// One lead with its history, masked.
    pub async fn lead_detail(&self, actor: &Actor, id: i64) -> AppResult<LeadDetail> {
        actor.require(Permission::ViewLeads)?;
        let lead = self.lead_within(actor, id).await?;
        let steps = self.store.lead_steps(id).await?;
        let actors: Vec<&str> = steps.iter().map(|s| s.actor.as_str()).collect();
        let actor_names = self.actor_names(&actors).await?;
        Ok(LeadDetail {
            lead: self.views(std::slice::from_ref(&lead)).await?.remove(0),
            steps,
            actor_names,
        })
    }

    /// One lead with the full ID number and phone; needs a reason, audited before returning.
    pub async fn reveal_lead(&self, actor: &Actor, id: i64, reason: &str) -> AppResult<LeadDetail> {
        actor.require(Permission::ViewLeads)?;
        actor.require(Permission::RevealPersonalData)?;
        if reason.trim().is_empty() {
            return Err(AppError::Invalid(
                "请填写查看原因：查看完整证件号和电话会记入审计日志".into(),
            ));
        }
        let lead = self.lead_within(actor, id).await?;
        audit_by(self, actor, "reveal", &format!("lead:{id}"), reason.trim()).await?;
        let steps = self.store.lead_steps(id).await?;
        let actors: Vec<&str> = steps.iter().map(|s| s.actor.as_str()).collect();
        let actor_names = self.actor_names(&actors).await?;
        let names = self.grid_names(std::slice::from_ref(&lead)).await?;
        Ok(LeadDetail {
            lead: view_of(
                &lead,
                self.now_unix(),
                names.get(&lead.grid_code).cloned().unwrap_or_default(),
                true,
            ),
            steps,
            actor_names,
        })
    }

    pub(super) fn list_region(&self, actor: &Actor, raw: &str) -> AppResult<RegionCode> {
        let region = if raw.trim().is_empty() {
            actor.jurisdiction.clone()
        } else {
            parse_region_code(raw)?
        };
        actor.require_within(&region)?;
        Ok(region)
    }

    /// A page of leads in a region of the jurisdiction, filtered by state, channel, overdue.
    pub async fn leads_list(&self, actor: &Actor, filter: &LeadFilter) -> AppResult<LeadListPage> {
        actor.require(Permission::ViewLeads)?;
        let region = self.list_region(actor, &filter.region)?;
        let status = match filter.status.trim() {
            "" => None,
            s => Some(
                LeadStatus::from_code(s)
                    .ok_or_else(|| AppError::Invalid(format!("状态“{s}”无法识别")))?
                    .code()
                    .to_string(),
            ),
        };
        let channel = match filter.channel.trim() {
            "" => None,
            c => Some(
                Channel::from_code(c)
                    .ok_or_else(|| AppError::Invalid(format!("来源“{c}”无法识别")))?
                    .code()
                    .to_string(),
            ),
        };
        let query = LeadQuery {
            status,
            channel,
            overdue_at: filter.overdue.then(|| self.now_unix()),
        };
        let (lower, upper) = region.subtree_range();
        let page = filter.page.max(1);
        let total = self.store.count_leads((&lower, &upper), &query).await?;
        let rows = self
            .store
            .leads_page(
                (&lower, &upper),
                &query,
                (page - 1) * LEADS_PER_PAGE,
                LEADS_PER_PAGE,
            )
            .await?;
        Ok(LeadListPage {
            region_name: self.region_name(&region).await?,
            region_code: region.as_str().into(),
            rows: self.views(&rows).await?,
            total,
            page,
            pages: ((total + LEADS_PER_PAGE - 1) / LEADS_PER_PAGE).max(1),
        })
    }

    /// The overdue leads of a region (open past the 24-hour deadline), oldest deadline first.
    pub async fn overdue_leads(
        &self,
        actor: &Actor,
        region: &str,
        page: i64,
    ) -> AppResult<LeadListPage> {
        self.leads_list(
            actor,
            &LeadFilter {
                region: region.into(),
                overdue: true,
                page,
                ..LeadFilter::default()
            },
        )
        .await
    }

    /// The command view of a region: per child region the counts by state, the overdue leads and
    /// the 24-hour landing rate; and the region's counts by state and by channel.
    pub async fn leads_overview(&self, actor: &Actor, region: &str) -> AppResult<LeadOverview> {
        actor.require(Permission::ViewLeads)?;
        let region = self.list_region(actor, region)?;
        let child_len = region
            .level()
            .child()
            .map(|l| l.code_len())
            .unwrap_or(region.as_str().len());
        let (lower, upper) = region.subtree_range();
        let rows = self
            .store
            .lead_counts((&lower, &upper), child_len, self.now_unix())
            .await?;
        let mut children: BTreeMap<String, RegionLeadCounts> = BTreeMap::new();
        let mut total = RegionLeadCounts {
            code: region.as_str().into(),
            drillable: false,
            ..Default::default()
        };
        let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
        let mut by_channel: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        for row in &rows {
            children
                .entry(row.code.clone())
                .or_insert_with(|| RegionLeadCounts {
                    code: row.code.clone(),
                    drillable: row.code.len() == child_len && row.code != region.as_str(),
                    ..Default::default()
                })
                .add(row);
            total.add(row);
            *by_status.entry(row.status.code().into()).or_default() += row.n;
            let open = row.status.is_open();
            let entry = by_channel.entry(row.channel.code().into()).or_default();
            entry.0 += row.n;
            if open {
                entry.1 += row.n;
                entry.2 += row.past_deadline;
            }
        }
        let codes: Vec<String> = children.keys().cloned().collect();
        let names: HashMap<String, String> = self
            .store
            .regions_by_codes(&codes)
            .await?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect();
        let region_name = self.region_name(&region).await?;
        total.name = region_name.clone();
        let children = children
            .into_values()
            .map(|mut c| {
                c.name = if c.drillable || region.level() == RegionLevel::Grid {
                    names
                        .get(&c.code)
                        .cloned()
                        .unwrap_or_else(|| c.code.clone())
                } else {
                    format!(
                        "{}（未分派到下级）",
                        names
                            .get(&c.code)
                            .cloned()
                            .unwrap_or_else(|| c.code.clone())
                    )
                };
                c
            })
            .collect();
        Ok(LeadOverview {
            region_code: region.as_str().into(),
            region_name,
            total,
            children,
            by_status: LeadStatus::ALL
                .iter()
                .map(|s| {
                    (
                        s.code().to_string(),
                        s.label_zh(),
                        by_status.get(s.code()).copied().unwrap_or(0),
                    )
                })
                .collect(),
            by_channel: Channel::ALL
                .iter()
                .map(|c| {
                    (
                        c.code().to_string(),
                        c.label_zh(),
                        by_channel.get(c.code()).map(|e| e.0).unwrap_or(0),
                    )
                })
                .collect(),
            open_by_channel: Channel::ALL
                .iter()
                .map(|c| {
                    let e = by_channel.get(c.code()).copied().unwrap_or_default();
                    (c.code().to_string(), c.label_zh(), e.1, e.2)
                })
                .collect(),
        })
    }
}
