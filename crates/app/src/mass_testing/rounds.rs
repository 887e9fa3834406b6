//! Rounds (检测轮次): the sampling code's secret, opening a round checked whole before it is written,
//! tubes issued inside the barcode range and the round's ceiling, closing, the round overview.

use fangkong_domain::mass_testing::box_is_late;

use super::*;

/// A round as a commander asked for it, every value parsed: what [`App::open_round`] checks against
/// the register and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRound {
    pub name: String,
    pub kind: RoundKind,
    pub region: RegionCode,
    pub pool: PoolSize,
    /// None: the policy's time limit for the kind and the population.
    pub deadline_hours: Option<i64>,
    pub infant_months: i64,
    /// None: no areas typed, so the risk areas in force pick the pool sizes.
    pub areas: Option<Vec<(RegionCode, RiskTier, PoolSize)>>,
    /// None: as many as the target needs at the pool size.
    pub tubes: Option<i64>,
}

impl TryFrom<&RoundForm> for OpenRound {
    type Error = AppError;

    fn try_from(form: &RoundForm) -> Result<Self, AppError> {
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::Invalid(
                "请填写轮次名称（60字以内），例如“第3轮全员核酸检测”".into(),
            ));
        }
        let kind = RoundKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::Invalid("请选择检测类型：全员、区域或常态化".into()))?;
        let region = parse_region_code(&form.region_code)?;
        if region.level() == RegionLevel::Grid && kind == RoundKind::Whole {
            return Err(AppError::Invalid(
                "全员检测的范围应是县、乡镇或村/社区，而不是单个网格".into(),
            ));
        }
        let pool = PoolSize::new(parse_count(&form.pool_size, "混采人数", 1..=20, 10)?)
            .map_err(|e| AppError::field("混采人数", e))?;
        let infant_months = parse_count(&form.infant_months, "免采婴幼儿月龄", 0..=72, 0)?;
        let areas = if form.areas.trim().is_empty() {
            None
        } else {
            Some(parse_areas(&form.areas, &region)?)
        };
        let deadline_hours = if form.deadline_hours.trim().is_empty() {
            None
        } else {
            Some(parse_count(
                &form.deadline_hours,
                "完成时限（小时）",
                1..=240,
                48,
            )?)
        };
        let tubes = match parse_count(&form.tubes, "下发试管数", 0..=50_000_000, 0)? {
            0 => None,
            n => Some(n),
        };
        Ok(OpenRound {
            name: name.to_string(),
            kind,
            region,
            pool,
            deadline_hours,
            infant_months,
            areas,
            tubes,
        })
    }
}

/// A request for more tubes: the count inside one request's bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueTubes {
    pub count: i64,
}

impl TryFrom<i64> for IssueTubes {
    type Error = AppError;

    fn try_from(count: i64) -> Result<Self, AppError> {
        if !(1..=MAX_TUBES_PER_REQUEST).contains(&count) {
            return Err(AppError::Invalid(format!(
                "一次下发试管数应在1到{MAX_TUBES_PER_REQUEST}支之间（您填的是{count}）；需要更多请分几次下发"
            )));
        }
        Ok(IssueTubes { count })
    }
}

/// The refusal when the next free serial `next` leaves no room in the 12-digit barcode range.
fn barcode_range_used_up(next: i64) -> AppError {
    AppError::Conflict(format!(
        "试管条码号段已用完：下一个序号是{next}，12位条码最多到{MAX_TUBE_SERIAL}；请联系系统管理员"
    ))
}

impl App {
    /// The installation's secret for sampling codes, made on first use and kept in the database
    /// (every server process of one installation must agree on it).
    pub(super) async fn sampling_secret(&self) -> AppResult<Vec<u8>> {
        let stored = match self.store.setting(SAMPLING_SECRET_KEY).await? {
            Some(value) => value,
            None => {
                use rand::RngCore;
                let mut fresh = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut fresh);
                self.store
                    .setting_or_insert(SAMPLING_SECRET_KEY, &hex::encode(fresh))
                    .await?
            }
        };
        hex::decode(stored).map_err(|e| AppError::internal_in("sampling secret", e))
    }

    /// The person a scanned sampling code stands for, or why it is refused.
    pub(super) async fn person_of_sampling_code(
        &self,
        raw: &str,
        secret: &[u8],
    ) -> AppResult<Result<ScannedPerson, String>> {
        let code = match SamplingCode::parse(raw) {
            Ok(code) => code,
            Err(message) => return Ok(Err(message)),
        };
        if sampling_tag(secret, code.resident_id) != code.tag {
            return Ok(Err(
                "个人采样码校验不通过（可能是伪造或改动过的码），请改用身份证".into(),
            ));
        }
        Ok(match self.store.resident(code.resident_id).await? {
            Some(r) => Ok(ScannedPerson {
                id_type: r.id_type,
                id_number: r.id_number.into(),
                name: String::new(),
            }),
            None => Err("个人采样码对应的居民已不在登记中，请改用身份证".into()),
        })
    }

    pub(super) async fn round_record(&self, round_id: i64) -> AppResult<RoundRecord> {
        self.store
            .round(round_id)
            .await?
            .ok_or(AppError::NotFound("该检测轮次"))
    }

    pub(super) async fn round_view(&self, round: RoundRecord) -> AppResult<RoundView> {
        let region = round.region_code.clone();
        let areas = self.store.round_areas(round.id).await?;
        let tube_ranges = self
            .store
            .tube_batches(round.id)
            .await?
            .into_iter()
            .map(|b| {
                (
                    stored_barcode(b.first_serial),
                    stored_barcode(b.last_serial),
                )
            })
            .collect();
        let kind = round.kind;
        Ok(RoundView {
            id: round.id,
            kind,
            kind_label: kind.label_zh(),
            region_name: self.region_name(&region).await?,
            region_code: round.region_code.into(),
            name: round.name,
            opened_at: round.opened_at,
            deadline_at: round.deadline_at,
            closed_at: round.closed_at,
            default_pool_size: round.default_pool_size,
            pool_label: PoolSize::new(round.default_pool_size)
                .map(|p| p.label_zh())
                .unwrap_or_default(),
            infant_months: round.infant_months,
            target_population: round.target_population,
            opened_by: round.opened_by,
            areas,
            tube_ranges,
        })
    }

    /// A round the actor may change (tubes, closing): its region lies inside the actor's
    /// jurisdiction. A township sees the county's round but does not run it.
    pub(super) async fn managed_round(
        &self,
        actor: &Actor,
        round_id: i64,
    ) -> AppResult<RoundRecord> {
        let round = self.visible_round(actor, round_id).await?;
        let region = round.region_code.clone();
        if !actor.jurisdiction.contains(&region) {
            return Err(AppError::Invalid(
                "本轮由上级组织，只有组织本轮的单位才能下发试管或结束本轮".into(),
            ));
        }
        Ok(round)
    }

    /// A round the actor may see: its region overlaps the actor's jurisdiction.
    pub(super) async fn visible_round(
        &self,
        actor: &Actor,
        round_id: i64,
    ) -> AppResult<RoundRecord> {
        let round = self.round_record(round_id).await?;
        let region = round.region_code.clone();
        if !(actor.jurisdiction.contains(&region) || region.contains(&actor.jurisdiction)) {
            return Err(AppError::NotFound("该检测轮次"));
        }
        Ok(round)
    }

    /// Residents born after this date are the infants `round` left out of its target.
    pub(super) fn infant_cutoff_of(&self, round: &RoundRecord) -> Option<NaiveDate> {
        let opened = china_offset()
            .timestamp_opt(round.opened_at, 0)
            .single()
            .map(|t| t.date_naive())?;
        infant_cutoff(opened, round.infant_months)
    }

    /// Opens a round over a region in the commander's jurisdiction and issues its tube barcodes.
    /// The form is parsed into [`OpenRound`] before anything is read; the round, its tubes and the
    /// audit record are one transaction, so a refused request leaves nothing behind.
    pub async fn open_round(&self, actor: &Actor, form: &RoundForm) -> AppResult<i64> {
        actor.require(Permission::ManageTestingRounds)?;
        let command = OpenRound::try_from(form)?;
        let region = &command.region;
        actor.require_within(region)?;
        self.store
            .region(region.as_str())
            .await?
            .ok_or(AppError::NotFound("该区划"))?;
        let (lower, upper) = region.subtree_range();
        let areas = match &command.areas {
            Some(typed) => typed.clone(),
            // No areas typed: the risk areas in force pick the pool sizes (high → single tube).
            None => self.round_areas_from_risk_areas((&lower, &upper)).await?,
        };
        let population = self
            .store
            .subtree_counts(region.as_str(), (&lower, &upper))
            .await?
            .residents;
        let deadline_hours = command
            .deadline_hours
            .or_else(|| DEADLINES_3RD_EDITION.hours_for(command.kind, population));
        // At opening the round's own ceiling applies, not the per-request one (a province's round
        // needs millions of tubes at once); the register's count bounds the round's target.
        let tubes = command.tubes.unwrap_or_else(|| {
            // Enough for everyone at the default pool size plus a fifth for single tubes and spares.
            (population / command.pool.get() + 1) * 6 / 5 + 100
        });
        check_tube_count(0, tubes, population)?;
        let now = self.now_unix();
        let today = self.today();
        self.store
            .insert_round(
                &NewRound {
                    name: command.name.clone(),
                    kind: command.kind,
                    region_code: region.as_str().to_string(),
                    region_range: (lower, upper),
                    opened_at: now,
                    deadline_at: deadline_hours.map(|h| now + h * 3600),
                    default_pool_size: command.pool.get(),
                    infant_months: command.infant_months,
                    infant_cutoff: infant_cutoff(today, command.infant_months)
                        .map(|d| d.format("%Y-%m-%d").to_string()),
                    opened_by: actor.display_name.clone(),
                    areas: areas
                        .iter()
                        .map(|(code, tier, pool)| RoundAreaRecord {
                            round_id: 0,
                            region_code: code.clone(),
                            tier: *tier,
                            pool_size: pool.get(),
                        })
                        .collect(),
                    tubes,
                },
                &audit_record(
                    self,
                    actor,
                    "create",
                    "",
                    format!("region:{}", region.as_str()),
                ),
            )
            .await?
            .map_err(barcode_range_used_up)
    }

    /// Issues `count` new tube barcodes to a round; returns the first and last barcode.
    pub async fn issue_tubes(
        &self,
        actor: &Actor,
        round_id: i64,
        count: i64,
    ) -> AppResult<(String, String)> {
        actor.require(Permission::ManageTestingRounds)?;
        let command = IssueTubes::try_from(count)?;
        let round = self.managed_round(actor, round_id).await?;
        if round.closed_at.is_some() {
            return Err(AppError::Conflict("本轮已结束，不能再下发试管".into()));
        }
        let issued: i64 = self
            .store
            .tube_batches(round.id)
            .await?
            .iter()
            .map(|b| (b.last_serial - b.first_serial).saturating_add(1).max(0))
            .fold(0_i64, i64::saturating_add);
        check_tube_count(issued, command.count, round.target_population)?;
        let (first, last) = self
            .store
            .issue_tubes(
                round.id,
                command.count,
                self.now_unix(),
                &actor.display_name,
                &audit_record(
                    self,
                    actor,
                    "issue_tubes",
                    format!("test_round:{}", round.id),
                    format!("tubes:{}", command.count),
                ),
            )
            .await?
            .map_err(barcode_range_used_up)?;
        let barcode = |serial: i64| {
            barcode_of_stored_serial(serial)
                .map(|code| code.to_string())
                .map_err(|_| barcode_range_used_up(serial))
        };
        Ok((barcode(first)?, barcode(last)?))
    }

    pub async fn close_round(&self, actor: &Actor, round_id: i64) -> AppResult<()> {
        actor.require(Permission::ManageTestingRounds)?;
        self.managed_round(actor, round_id).await?;
        let closed = self
            .store
            .close_round(
                round_id,
                self.now_unix(),
                &audit_record(
                    self,
                    actor,
                    "update",
                    format!("test_round:{round_id}"),
                    "closed",
                ),
            )
            .await?;
        if !closed {
            return Err(AppError::Conflict("本轮已经结束".into()));
        }
        Ok(())
    }

    /// Rounds over the actor's jurisdiction (inside it, or containing it), newest first.
    pub async fn rounds(&self, actor: &Actor) -> AppResult<Vec<RoundView>> {
        actor.require(Permission::ViewPopulation)?;
        let (lower, upper) = actor.jurisdiction_range();
        let mut views = Vec::new();
        for round in self
            .store
            .rounds_touching(actor.jurisdiction.as_str(), (&lower, &upper))
            .await?
        {
            views.push(self.round_view(round).await?);
        }
        Ok(views)
    }

    pub async fn round(&self, actor: &Actor, round_id: i64) -> AppResult<RoundView> {
        actor.require(Permission::ViewPopulation)?;
        let round = self.visible_round(actor, round_id).await?;
        self.round_view(round).await
    }

    /// The round's command view for one region: coverage per child, the chain of custody, delays,
    /// rechecks and positives, swabs per hour.
    pub async fn round_overview(
        &self,
        actor: &Actor,
        round_id: i64,
        region_code: &str,
    ) -> AppResult<RoundOverview> {
        actor.require(Permission::ViewPopulation)?;
        let round = self.visible_round(actor, round_id).await?;
        let round_region = round.region_code.clone();
        let code = if region_code.trim().is_empty() {
            if actor.jurisdiction.contains(&round_region) {
                round_region.clone()
            } else {
                actor.jurisdiction.clone()
            }
        } else {
            parse_region_code(region_code)?
        };
        actor.require_within(&code)?;
        let (lower, upper) = code.subtree_range();
        let rows = self
            .store
            .round_progress(round_id, (&lower, &upper))
            .await?;
        let mut totals = CoverageLine {
            code: code.as_str().to_string(),
            name: String::new(),
            target: 0,
            exempt: 0,
            sampled: 0,
            outside: 0,
            walk_ins: 0,
            per_mille: 0,
        };
        let mut children = Vec::new();
        if let Some(child_level) = code.level().child() {
            let len = child_level.code_len();
            let mut by_child: HashMap<String, CoverageLine> = self
                .store
                .region_children(code.as_str())
                .await?
                .into_iter()
                .map(|r| {
                    (
                        r.code.clone(),
                        CoverageLine {
                            code: r.code,
                            name: r.name,
                            target: 0,
                            exempt: 0,
                            sampled: 0,
                            outside: 0,
                            walk_ins: 0,
                            per_mille: 0,
                        },
                    )
                })
                .collect();
            for row in &rows {
                totals.add(row);
                if let Some(line) = row
                    .grid_code
                    .get(..len)
                    .and_then(|prefix| by_child.get_mut(prefix))
                {
                    line.add(row);
                }
            }
            children = by_child
                .into_values()
                .filter(|c| c.target > 0 || c.sampled > 0 || c.walk_ins > 0)
                .collect();
            for child in &mut children {
                child.finish();
            }
            // Worst coverage first: that is where the command office sends help.
            children.sort_by(|a, b| a.per_mille.cmp(&b.per_mille).then(a.code.cmp(&b.code)));
        } else {
            for row in &rows {
                totals.add(row);
            }
        }
        totals.finish();
        totals.name = self.region_name(&code).await?;
        let now = self.now_unix();
        let chain = self.store.tube_chain_counts(round_id).await?;
        let counts = self
            .store
            .awaiting_result_counts(round_id, ResultDelay::ALL.map(|d| now - d.hours() * 3600))
            .await?;
        let delays = ResultDelay::ALL
            .iter()
            .zip(counts)
            .map(|(d, n)| (d.label_zh(), n))
            .collect();
        let boxes_in_transit = self.store.boxes_in_transit(round_id).await?;
        let boxes_late = boxes_in_transit
            .iter()
            .filter(|b| box_is_late(b.packed_at, now))
            .count() as i64;
        let rechecks = self.store.recheck_counts((&lower, &upper)).await?;
        let rechecks_pending = rechecks
            .iter()
            .filter(|(s, _)| s == "pending" || s == "sampled")
            .map(|(_, n)| n)
            .sum();
        let single_positives = self
            .store
            .count_person_events("single_positive", (&lower, &upper))
            .await?;
        let hourly = self.store.round_hourly(round_id, (&lower, &upper)).await?;
        let sites = self
            .store
            .sites_of_round(round_id, (&lower, &upper))
            .await?;
        let tables: i64 = sites.iter().map(|s| s.tables_count).sum();
        let rate: i64 = sites
            .iter()
            .map(|s| s.tables_count * s.swabs_per_table_hour)
            .sum();
        let hours_to_finish = (rate > 0).then(|| totals.missing() as f64 / rate as f64);
        Ok(RoundOverview {
            region_level: code.level(),
            region_name: totals.name.clone(),
            region_code: code.as_str().to_string(),
            round: self.round_view(round).await?,
            totals,
            children,
            chain,
            delays,
            boxes_in_transit,
            boxes_late,
            rechecks,
            rechecks_pending,
            single_positives,
            hourly,
            sites: sites.len() as i64,
            tables,
            hours_to_finish,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> RoundForm {
        RoundForm {
            name: " 第3轮全员核酸检测 ".into(),
            kind: "whole".into(),
            region_code: "130109100".into(),
            pool_size: "5".into(),
            deadline_hours: String::new(),
            infant_months: "6".into(),
            areas: "130109100013 高\n130109100014 medium 5".into(),
            tubes: "1000".into(),
        }
    }

    fn refusal(form: &RoundForm) -> String {
        match OpenRound::try_from(form) {
            Err(AppError::Invalid(message)) => message,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_good_form_is_a_round_with_every_value_typed() {
        let command = OpenRound::try_from(&good()).unwrap();
        let code = |c: &str| RegionCode::parse(c).unwrap();
        assert_eq!(
            command,
            OpenRound {
                name: "第3轮全员核酸检测".into(),
                kind: RoundKind::Whole,
                region: code("130109100"),
                pool: PoolSize::new(5).unwrap(),
                deadline_hours: None,
                infant_months: 6,
                areas: Some(vec![
                    (
                        code("130109100013"),
                        RiskTier::High,
                        PoolSize::new(1).unwrap()
                    ),
                    (
                        code("130109100014"),
                        RiskTier::Medium,
                        PoolSize::new(5).unwrap()
                    ),
                ]),
                tubes: Some(1000),
            }
        );
        // Empty optional fields take their defaults: policy deadline, risk areas in force, tubes
        // for the target, pool of 10.
        let plain = OpenRound::try_from(&RoundForm {
            pool_size: String::new(),
            infant_months: String::new(),
            areas: " ".into(),
            tubes: "0".into(),
            ..good()
        })
        .unwrap();
        assert_eq!(plain.pool, PoolSize::new(10).unwrap());
        assert_eq!(
            (plain.infant_months, plain.areas, plain.tubes),
            (0, None, None)
        );
    }

    #[test]
    fn each_bad_field_is_refused_by_its_name() {
        type Change = fn(&mut RoundForm);
        let table: [(Change, &str); 10] = [
            (|f| f.name = " ".into(), "轮次名称"),
            (|f| f.name = "名".repeat(61), "轮次名称"),
            (|f| f.kind = "everyone".into(), "检测类型"),
            (|f| f.region_code = "13010910".into(), "区划编码"),
            (|f| f.region_code = "130109100013001".into(), "网格"),
            (|f| f.pool_size = "3".into(), "混采人数"),
            (|f| f.infant_months = "73".into(), "免采婴幼儿月龄"),
            (|f| f.deadline_hours = "0".into(), "完成时限"),
            (|f| f.areas = "130108100013 高".into(), "风险区域第1行"),
            (|f| f.tubes = "十支".into(), "下发试管数"),
        ];
        for (change, field) in table {
            let mut form = good();
            change(&mut form);
            let message = refusal(&form);
            assert!(message.contains(field), "{field}: {message}");
        }
    }

    #[test]
    fn a_tube_request_stays_inside_one_request_bound() {
        assert_eq!(IssueTubes::try_from(1).unwrap().count, 1);
        assert_eq!(
            IssueTubes::try_from(MAX_TUBES_PER_REQUEST).unwrap().count,
            MAX_TUBES_PER_REQUEST
        );
        for count in [0, -1, MAX_TUBES_PER_REQUEST + 1] {
            assert!(
                matches!(IssueTubes::try_from(count), Err(AppError::Invalid(m)) if m.contains("下发试管数")),
                "{count}"
            );
        }
    }
}
