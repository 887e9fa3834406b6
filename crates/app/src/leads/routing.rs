//! Routing (分派): a lead goes to the grid of the person's register entry, a region code given, or a
//! phone's owner; what cannot be routed waits at the sender's level.

use super::*;

impl App {
    /// A region code given for routing: a grid that exists (pending there) or a region that exists
    /// (unrouted there, waiting to be routed to one of its grids).
    pub(super) async fn route_by_region(&self, raw: &str) -> AppResult<Route> {
        let code = parse_region_code(raw)?;
        let known = self.store.region(code.as_str()).await?.is_some();
        match (code.level(), known) {
            (RegionLevel::Grid, true) => Ok(Route {
                grid_code: code.as_str().into(),
                status: LeadStatus::Pending,
                resident_id: None,
                resident: None,
            }),
            (RegionLevel::Grid, false) => Err(AppError::Invalid(format!(
                "网格编码 {code} 不存在：请核对，或填写所在村（社区）、乡镇的区划编码"
            ))),
            (_, true) => Ok(Route {
                grid_code: code.as_str().into(),
                status: LeadStatus::Unrouted,
                resident_id: None,
                resident: None,
            }),
            (_, false) => Err(AppError::Invalid(format!("区划编码 {code} 不存在：请核对"))),
        }
    }

    /// Routes a person: the register by ID number first, else the region code given, else the
    /// register by phone (one match only).
    pub(super) async fn route_person(
        &self,
        person: &LeadPerson,
        region_hint: &str,
    ) -> AppResult<Route> {
        if let Some(document) = &person.document
            && let Some(resident) = self
                .resident_by_document(document.id_type().code(), document.number())
                .await?
        {
            return Ok(Route {
                grid_code: resident.grid_code.clone(),
                status: LeadStatus::Pending,
                resident_id: Some(resident.id),
                resident: Some(resident),
            });
        }
        if !region_hint.trim().is_empty() {
            return self.route_by_region(region_hint).await;
        }
        if let Some(phone) = &person.phone {
            let found = self
                .store
                .search_residents(SearchField::Phone, phone.as_str(), ("", "~"), 2)
                .await?;
            if found.len() == 1 {
                return Ok(Route {
                    grid_code: found[0].grid_code.clone(),
                    status: LeadStatus::Pending,
                    resident_id: Some(found[0].id),
                    resident: found.into_iter().next(),
                });
            }
        }
        Err(AppError::Invalid(
            "无法确定此人所在网格：此人不在实有人口登记中，请填写“区划编码”（网格、村社区、乡镇或区县）"
                .into(),
        ))
    }

    /// Refuses a route outside the actor's jurisdiction without saying where the person is (the
    /// register would otherwise answer "where does this ID number live" to anyone who can send).
    pub(super) async fn require_route_within(
        &self,
        actor: &Actor,
        grid_code: &str,
    ) -> AppResult<()> {
        let code = RegionCode::parse(grid_code).map_err(AppError::internal)?;
        if actor.jurisdiction.contains(&code) {
            return Ok(());
        }
        Err(AppError::Invalid(
            "此人不在您的管辖范围内：不能派到本辖区网格，请改用“区域协查（发函）”发往对方地区"
                .into(),
        ))
    }

    pub(super) async fn grid_names(
        &self,
        leads: &[LeadRecord],
    ) -> AppResult<HashMap<String, String>> {
        let mut codes: Vec<String> = leads.iter().map(|l| l.grid_code.clone()).collect();
        codes.sort();
        codes.dedup();
        Ok(self
            .store
            .regions_by_codes(&codes)
            .await?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect())
    }

    pub(super) async fn views(&self, leads: &[LeadRecord]) -> AppResult<Vec<LeadView>> {
        let names = self.grid_names(leads).await?;
        let now = self.now_unix();
        Ok(leads
            .iter()
            .map(|l| {
                view_of(
                    l,
                    now,
                    names.get(&l.grid_code).cloned().unwrap_or_default(),
                    false,
                )
            })
            .collect())
    }
}
