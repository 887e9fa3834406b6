//! What the investigation pages show: the overview, case and contact directories, a case's file.

use super::*;

impl App {
    /// The investigation overview of the actor's jurisdiction.
    pub async fn investigation_overview(&self, actor: &Actor) -> AppResult<InvestigationOverview> {
        actor.require(Permission::ViewInvestigation)?;
        let regime = self.tracing_regime().await?;
        let rules = regime.tracing_rules_in(actor.jurisdiction.as_str());
        let (lower, upper) = actor.jurisdiction_range();
        let counts = self
            .store
            .case_counts(
                (&lower, &upper),
                self.now_unix(),
                rules.report_hours,
                rules.investigation_hours,
            )
            .await?;
        let child_len = match actor.jurisdiction.as_str().len() {
            2 => 4,
            4 => 6,
            6 => 9,
            9 => 12,
            _ => 15,
        };
        let mut by_region = Vec::new();
        for line in self
            .store
            .case_counts_by_child(
                (&lower, &upper),
                child_len,
                self.now_unix() - rules.report_hours * 3600,
            )
            .await?
        {
            let name = match self.store.region(&line.code).await? {
                Some(r) => r.name,
                None => line.code.clone(),
            };
            by_region.push(RegionCaseLine {
                code: line.code,
                name,
                cases: line.cases,
                active: line.active,
                report_overdue: line.report_overdue,
                close_contacts: line.close_contacts,
                secondary_contacts: line.secondary_contacts,
            });
        }
        by_region.sort_by(|a, b| {
            (b.report_overdue, b.active, b.close_contacts).cmp(&(
                a.report_overdue,
                a.active,
                a.close_contacts,
            ))
        });
        Ok(InvestigationOverview {
            counts,
            by_region,
            regime,
            regime_label: regime.label_zh(),
            rules_source: fangkong_domain::basis::for_pages(&rules.source),
        })
    }

    /// One page of the case directory (newest first); `before` pages on.
    pub async fn cases(
        &self,
        actor: &Actor,
        kind: Option<&str>,
        status: Option<&str>,
        overdue_only: bool,
        before: Option<i64>,
    ) -> AppResult<Vec<CaseRow>> {
        actor.require(Permission::ViewInvestigation)?;
        let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => Some(case_kind(k)?.code().to_string()),
            None => None,
        };
        let rules = self
            .tracing_regime()
            .await?
            .tracing_rules_in(actor.jurisdiction.as_str());
        let now = self.now_unix();
        let filter = CaseFilter {
            kind,
            status: status
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            overdue_at: overdue_only.then_some((
                now,
                rules.report_hours,
                rules.investigation_hours,
            )),
        };
        let (lower, upper) = actor.jurisdiction_range();
        let (cases, _) = self.store.investigation_totals((&lower, &upper)).await?;
        let rows = self
            .store
            .cases_page(
                (&lower, &upper),
                &filter,
                before,
                PAGE_SIZE,
                cases > WALK_BY_ID_ABOVE,
            )
            .await?;
        let today = self.today();
        Ok(rows.iter().map(|c| case_row(c, now, today)).collect())
    }

    /// One page of the contact directory of a category (close, secondary, general).
    pub async fn contacts(
        &self,
        actor: &Actor,
        category: &str,
        before: Option<i64>,
    ) -> AppResult<Vec<ContactRow>> {
        actor.require(Permission::ViewInvestigation)?;
        let category = ContactCategory::from_code(category.trim())
            .unwrap_or(ContactCategory::Close)
            .code();
        let (lower, upper) = actor.jurisdiction_range();
        let (_, contacts) = self.store.investigation_totals((&lower, &upper)).await?;
        let rows = self
            .store
            .contacts_page(
                (&lower, &upper),
                category,
                before,
                PAGE_SIZE,
                contacts > WALK_BY_ID_ABOVE,
            )
            .await?;
        Ok(rows.iter().map(contact_row).collect())
    }

    /// Everything a case's page shows (masked; the case's own number can be revealed on the
    /// resident page, audited).
    pub async fn case_detail(&self, actor: &Actor, case_id: i64) -> AppResult<CaseDetail> {
        actor.require(Permission::ViewInvestigation)?;
        let case = self.visible_case(actor, case_id).await?;
        let now = self.now_unix();
        let today = self.today();
        let rules = self.rules_of(&case);
        let window = case_window(&rules, window_anchor(&case), case.isolated_at);
        let infector = match case.infector_case_id {
            Some(id) => self.store.case(id).await?.map(|c| case_row(&c, now, today)),
            None => None,
        };
        let infectees = self
            .store
            .infectees(case_id)
            .await?
            .iter()
            .map(|c| case_row(c, now, today))
            .collect();
        let stops = self.store.case_stops(case_id).await?;
        let contacts = self
            .store
            .contacts_of_case(case_id, CONTACTS_ON_CASE_PAGE)
            .await?
            .iter()
            .map(contact_row)
            .collect();
        let bulletin_text = self.bulletin_text(&case, &stops, 0).await?;
        Ok(CaseDetail {
            case: case_row(&case, now, today),
            onset_date: case.onset_date.clone(),
            first_positive_at: case.first_positive_at,
            reported_at: case.reported_at,
            investigated_at: case.investigated_at,
            isolated_at: case.isolated_at,
            window_opens_at: window.opens_at,
            regime_label: rules.regime.label_zh(),
            infector,
            infector_note: case.infector_note.clone(),
            infectees,
            stops,
            contacts,
            public_summary: case.public_summary.clone(),
            bulletin_text,
        })
    }
}
