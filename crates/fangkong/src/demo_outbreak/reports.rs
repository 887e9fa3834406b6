//! The command offices' reporting in the story: every morning the townships and the county file
//! yesterday's daily report (a zero report when nothing happened) — the outbreak's township late
//! on even dates (迟报), the quietest township not at all on the story's last morning (漏报) — and
//! the county's first report of the outbreak, filed two and a half hours after the first case was
//! found (past the two-hour limit), received by the city and the province.

use anyhow::{Context, Result};
use chrono::{Datelike, Duration};
use fangkong_app::Actor;
use fangkong_domain::command::incidents::IncidentKind;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;
use fangkong_domain::time::beijing_date;

use super::OutbreakPlayer;
use crate::demo_reports::{acknowledge_up_the_chain, file_daily, file_incident};

/// The duty officer of `office`, as the demo files for it.
fn officer(office: &str, name: &str) -> Result<Actor> {
    Ok(Actor::seeding(
        Role::DutyOfficer,
        RegionCode::parse(office).map_err(anyhow::Error::msg)?,
        &format!("duty_report_{office}"),
        &format!("{name}值班员"),
    ))
}

impl OutbreakPlayer {
    /// The offices that report: the county and its townships, by code.
    async fn reporting_offices(&self) -> Result<Vec<(String, String)>> {
        let county = self.county()?;
        let mut offices = vec![(
            county.clone(),
            self.app
                .region_name(&RegionCode::parse(&county).map_err(anyhow::Error::msg)?)
                .await?,
        )];
        for township in self.app.store_for_tools().region_children(&county).await? {
            offices.push((township.code, township.name));
        }
        Ok(offices)
    }

    pub(super) fn county(&self) -> Result<String> {
        Ok(self
            .people
            .first()
            .context("a population")?
            .grid_code
            .get(..6)
            .context("a grid code")?
            .to_string())
    }

    /// 08:00: yesterday's reports of the offices that file before their due time; at 09:00
    /// (`late`), the outbreak's township on even dates, half an hour past its 08:30.
    pub(super) async fn daily_reports(&mut self, late: bool) -> Result<()> {
        let today = beijing_date(self.clock_now());
        let yesterday = today - Duration::days(1);
        let outbreak_township = self.people[0].grid_code[..9].to_string();
        let offices = self.reporting_offices().await?;
        let quiet = offices.last().map(|o| o.0.clone()).unwrap_or_default();
        for (code, name) in &offices {
            let late_filer = *code == outbreak_township && today.day().is_multiple_of(2);
            if late != late_filer {
                continue;
            }
            // The quietest township misses the story's last morning.
            if *code == quiet && self.is_last_morning(today) {
                continue;
            }
            file_daily(&self.app, None, &officer(code, name)?, yesterday, true, 0).await?;
        }
        Ok(())
    }

    fn is_last_morning(&self, today: chrono::NaiveDate) -> bool {
        self.present
            .is_some_and(|present| beijing_date(present) == today)
    }

    /// The county's first report of the outbreak, received by the city and the province.
    pub(super) async fn first_incident_report(&mut self) -> Result<()> {
        let county = self.county()?;
        let name = self
            .app
            .region_name(&RegionCode::parse(&county).map_err(anyhow::Error::msg)?)
            .await?;
        let id = file_incident(
            &self.app,
            &officer(&county, &name)?,
            IncidentKind::NewLocalCase,
            self.discovered,
            &name,
            "发热门诊报告新冠肺炎核酸阳性病例1例，已转运定点医院，流调、密接排查与区域核酸检测同步开展",
        )
        .await?;
        let city = &county[..4];
        acknowledge_up_the_chain(
            &self.app,
            id,
            &[officer(city, "石家庄市")?, officer(&county[..2], "河北省")?],
        )
        .await
    }
}
