//! Big-data push (大数据推送) on location pings: the three analyses, what starts them, and the rules
//! each jurisdiction sets for them (analytics.md §1; domain-rules.md §3.6).
//!
//! The engine that runs them is the `fangkong-pings` crate; this module holds the words and the
//! rules: which analysis, why it ran, and the policy's numbers with their checks.

crate::coded_enum! {
    /// One of the three analyses.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Analysis {
        /// Everyone who stayed in the cells of a newly designated risk area during its window.
        RiskAreaVisitors => "risk_area_visitors", "风险区域到访人员",
        /// 时空伴随者: a co-stay in a case's 800 m cell plus the 30-hour condition.
        Companions => "companions", "时空伴随者",
        /// People isolated or monitored at home whose phone left the home cell (电子围栏).
        FenceBreaches => "fence_breaches", "电子围栏越界",
    }
}

crate::coded_enum! {
    /// What started a job.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum JobTrigger {
        RiskAreaDesignated => "risk_area_designated", "划定风险区域",
        CasesReported => "cases_reported", "新报告病例",
        NewDayOfPings => "new_day_of_pings", "新一天位置数据",
        /// An analyst ran it from the page (e.g. the full 14-day companion job after a rule change).
        Requested => "requested", "人工发起",
    }
}

crate::coded_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum JobStatus {
        Running => "running", "运行中",
        Finished => "finished", "已完成",
        /// The pings could not be read (a damaged file), or the job asked for nothing it can answer;
        /// the job's page says why in words.
        Failed => "failed", "失败",
    }
}

crate::coded_enum! {
    /// What became of one person a job found.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ResultOutcome {
        /// A new lead of channel 大数据推送, routed to the person's grid (or waiting at the village
        /// where the phone was seen, for a number not in the register).
        LeadCreated => "lead_created", "已生成线索",
        /// The same finding had already made a lead (a job run again, a person found twice).
        LeadExisted => "lead_existed", "线索已存在",
        /// An e-fence breach: a home-isolation alarm for the grid worker.
        AlarmRaised => "alarm_raised", "已发出越界报警",
        /// The same breach (person and day) had raised its alarm already (the ingest-time watch, or
        /// a job run again); counted with the alarms raised.
        AlarmExisted => "alarm_existed", "报警已存在",
        /// A number in no register and seen in no cell of the region's map: kept on the job's page.
        NotRoutable => "not_routable", "无法派发",
    }
}

/// The rules one jurisdiction applies (区县/市 set them; the nearest ancestor's apply; without one,
/// [`AnalyticsPolicy::CHENGDU_2021`]). Whole seconds and counts, so the same numbers go to the
/// embedded engine, DuckDB and Spark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AnalyticsPolicy {
    /// A ping vouches for its cell until the next ping, for at most this long (a run's gap cap).
    pub cap_seconds: i64,
    /// 共同停留超过 N 分钟: the co-stay must exceed this.
    pub min_costay_seconds: i64,
    /// `false`: the co-stay is cumulative over the window (the row set the probe reports);
    /// `true`: one continuous co-stay must exceed it (the stricter reading).
    pub continuous_costay: bool,
    /// 任一方号码累计停留时长超过 30 小时: either party's stay in that cell over the window.
    pub min_cell_stay_seconds: i64,
    /// 最近 14 天.
    pub lookback_days: i64,
    /// A case's infectious window starts this many days before onset (or the positive sample).
    pub infectious_days_before: i64,
    /// E-fence tolerance: this many consecutive pings out of the home cell …
    pub fence_min_out_pings: u32,
    /// … or out for at least this long, counts as a breach (hand-over noise otherwise).
    pub fence_min_out_seconds: i64,
    /// The eight cells around the home cell count as home (base-station hand-over at a cell's edge).
    pub fence_neighbours_are_home: bool,
}

impl AnalyticsPolicy {
    /// Chengdu's wording of November 2021 (analytics.md §1), with the cumulative co-stay the probe
    /// reports, and an e-fence of two pings or 20 minutes out with the neighbours as home.
    pub const CHENGDU_2021: AnalyticsPolicy = AnalyticsPolicy {
        cap_seconds: 3_600,
        min_costay_seconds: 600,
        continuous_costay: false,
        min_cell_stay_seconds: 108_000,
        lookback_days: 14,
        infectious_days_before: 4,
        fence_min_out_pings: 2,
        fence_min_out_seconds: 1_200,
        fence_neighbours_are_home: true,
    };

    /// Checks the numbers a form or a stored row gives, naming the first wrong one.
    pub fn check(&self) -> Result<(), String> {
        let within = |value: i64, low: i64, high: i64, what: &str, unit: &str| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err(format!("{what}应在 {low}–{high} {unit}之间"))
            }
        };
        within(self.cap_seconds / 60, 5, 360, "信令间隔上限", "分钟")?;
        within(self.min_costay_seconds / 60, 1, 240, "共同停留时长", "分钟")?;
        within(
            self.min_cell_stay_seconds / 3600,
            0,
            336,
            "累计停留时长",
            "小时",
        )?;
        within(self.lookback_days, 1, 28, "回溯天数", "天")?;
        within(self.infectious_days_before, 0, 14, "病例追溯天数", "天")?;
        within(
            i64::from(self.fence_min_out_pings),
            1,
            20,
            "越界连续信令数",
            "条",
        )?;
        within(self.fence_min_out_seconds / 60, 0, 720, "越界时长", "分钟")?;
        Ok(())
    }

    /// The rule in words, for the job's page (what rule found these people).
    pub fn companion_words(&self) -> String {
        format!(
            "同一 800 米网格{}共同停留超过 {} 分钟，且最近 {} 天任一方在该网格累计停留超过 {} 小时（信令间隔按不超过 {} 分钟计）",
            if self.continuous_costay {
                "连续"
            } else {
                "累计"
            },
            self.min_costay_seconds / 60,
            self.lookback_days,
            self.min_cell_stay_seconds / 3600,
            self.cap_seconds / 60,
        )
    }

    pub fn fence_words(&self) -> String {
        format!(
            "隔离期间连续 {} 条信令或累计 {} 分钟离开居住网格{}",
            self.fence_min_out_pings,
            self.fence_min_out_seconds / 60,
            if self.fence_neighbours_are_home {
                "（相邻网格视为在家，容忍基站切换）"
            } else {
                ""
            }
        )
    }
}

/// Seconds in a day.
pub const DAY_SECONDS: i64 = 86_400;

/// A case's infectious window for the companion job: from `infectious_days_before` days before the
/// onset (or, without symptoms, the positive sample) to the moment the case was reported (taken
/// away from others), clipped to the look-back window that ends `now`.
pub fn infectious_window(
    policy: &AnalyticsPolicy,
    onset_or_sample: i64,
    reported_at: i64,
    now: i64,
) -> (i64, i64) {
    let look_back_start = now - policy.lookback_days * DAY_SECONDS;
    let from = (onset_or_sample - policy.infectious_days_before * DAY_SECONDS).max(look_back_start);
    (from, reported_at.max(from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_passes_its_own_checks_and_a_wrong_number_is_named() {
        assert_eq!(AnalyticsPolicy::CHENGDU_2021.check(), Ok(()));
        let wrong = AnalyticsPolicy {
            min_costay_seconds: 0,
            ..AnalyticsPolicy::CHENGDU_2021
        };
        assert!(wrong.check().unwrap_err().contains("共同停留时长"));
    }

    #[test]
    fn the_infectious_window_starts_four_days_before_onset_and_stays_in_the_look_back() {
        let p = AnalyticsPolicy::CHENGDU_2021;
        let now = 100 * DAY_SECONDS;
        assert_eq!(
            infectious_window(&p, now - 2 * DAY_SECONDS, now - DAY_SECONDS, now),
            (now - 6 * DAY_SECONDS, now - DAY_SECONDS)
        );
        // Onset long ago: the window starts at the look-back's start.
        assert_eq!(
            infectious_window(&p, now - 30 * DAY_SECONDS, now, now).0,
            now - 14 * DAY_SECONDS
        );
        assert!(p.companion_words().contains("10 分钟"));
    }
}
