//! The outbreak's location pings (大数据推送's input): the district's cell plan loaded as the cell
//! map, and the simulated population's movements written as Parquet day files, so the companions
//! the analytics find are the outbreak's real meetings.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use fangkong_app::App;
use fangkong_domain::time::beijing_midnight;
use fangkong_pings::Ping;
use fangkong_sim::VillageRef;
use fangkong_sim::pings::{CellPlan, Movements, Residents, person_id_of};

use super::OutbreakPlayer;

/// What was written, for the demo's summary.
pub struct PingsWritten {
    pub days: usize,
    pub pings: u64,
    pub cells: usize,
}

impl OutbreakPlayer {
    /// Loads the cell map of `villages` (the district's, with `residents` per village) and writes
    /// the day files from `first` to `last` (Beijing days) into `dir`.
    pub async fn write_pings(
        &self,
        app: &App,
        dir: &Path,
        villages: &[VillageRef],
        residents: &[u64],
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> Result<PingsWritten> {
        let cell_plan = CellPlan::new(villages, residents, self.seed);
        let rows = cell_plan.cell_map_rows();
        for chunk in rows.chunks(1000) {
            app.store_for_tools().put_ping_cells(chunk).await?;
        }
        let person_ids: Vec<Option<i64>> = self
            .people
            .iter()
            .map(|p| p.phone.as_ref().and_then(|ph| person_id_of(ph.as_str())))
            .collect();
        let movements = Movements::new(
            &cell_plan,
            Residents {
                agents: &self.agents,
                person_ids: &person_ids,
                village_codes: &self.village_codes,
            },
            &self.outbreak,
            &self.plan,
            self.seed,
        );
        std::fs::create_dir_all(dir)
            .with_context(|| format!("pings directory {}", dir.display()))?;
        let mut day = beijing_midnight(
            first
                .with_timezone(&fangkong_app::china_offset())
                .date_naive(),
        );
        let end = last.timestamp();
        let (mut days, mut pings) = (0, 0);
        while day.timestamp() <= end {
            let start = day.timestamp();
            let mut batch: Vec<Ping> = movements
                .day_pings(start)
                .into_iter()
                .map(|p| Ping {
                    person_id: p.person_id,
                    ts: p.ts,
                    cell_id: p.cell_id,
                })
                .collect();
            let file = fangkong_pings::layout::write_day(dir, start, &mut batch)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            days += 1;
            pings += file.rows;
            day += chrono::Duration::days(1);
        }
        Ok(PingsWritten {
            days,
            pings,
            cells: rows.len(),
        })
    }
}
