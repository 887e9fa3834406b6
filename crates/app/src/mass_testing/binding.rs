//! Binding (扫码绑定): scans from the sampling tables, through the group-commit writer; the tubes
//! open at a table.

use super::*;

/// The field of a swab's time typed by a sampler entering a backlog (补录).
const SAMPLED_AT_FIELD: &str = "实际采样时间";

impl App {
    /// Binds scans from one sampling table. Every scan gets its own answer; bad scans never stop
    /// the good ones; the answer comes only after the good ones are on disk.
    pub async fn submit_scans(
        &self,
        actor: &Actor,
        batch: &SamplingBatch,
    ) -> AppResult<Vec<ScanResult>> {
        actor.require(Permission::SampleSpecimens)?;
        if batch.scans.len() > MAX_SCANS_PER_BATCH {
            return Err(AppError::Invalid(format!(
                "一次最多上传{MAX_SCANS_PER_BATCH}条扫码记录，本次{}条；请分批上传",
                batch.scans.len()
            )));
        }
        // Each scan's typed swab time (补录), parsed before anything is read; a bad one refuses
        // only its scan.
        let entered: Vec<AppResult<Option<chrono::DateTime<chrono::Utc>>>> = batch
            .scans
            .iter()
            .map(|scan| crate::parse_occurred_at(&scan.occurred_at, SAMPLED_AT_FIELD))
            .collect();
        let round = self.round_record(batch.round_id).await?;
        if round.closed_at.is_some() {
            return Err(AppError::Conflict(
                "本轮检测已结束，不能再绑定；请确认选择的轮次".into(),
            ));
        }
        let site = load_within(actor, self.store.site(batch.site_id)).await?;
        if site.round_id != round.id {
            return Err(AppError::Invalid("该采样点不属于这一轮检测".into()));
        }
        if !(1..=site.tables_count).contains(&batch.table_no) {
            return Err(AppError::Invalid(format!(
                "采样台号应在1到{}之间",
                site.tables_count
            )));
        }
        let areas = self.store.round_areas(round.id).await?;
        let capacity = pool_size_at(&round, &areas, &site.region_code);
        let kind = round.kind;
        let round_range = round.region_code.subtree_range();
        let infant_cutoff = self.infant_cutoff_of(&round);
        let now = self.now_unix();

        let mut results: Vec<Option<ScanResult>> = vec![None; batch.scans.len()];
        let mut secret: Option<Vec<u8>> = None;
        let mut writes = Vec::with_capacity(batch.scans.len());
        let mut positions = Vec::with_capacity(batch.scans.len());
        // Past-dated scans by the time typed: the writes each audit record covers.
        let mut backlog: std::collections::BTreeMap<i64, Vec<usize>> = Default::default();
        for (index, scan) in batch.scans.iter().enumerate() {
            if !scan_id_ok(&scan.scan_id) {
                results[index] = Some(ScanResult::rejected(
                    &scan.scan_id,
                    "bad_scan_id",
                    "扫码记录编号无效（应为1到64位字母、数字或-_:.）；请刷新采样页面".into(),
                ));
                continue;
            }
            let tube = match TubeBarcode::parse(&scan.tube) {
                Ok(tube) => tube,
                Err(message) => {
                    results[index] = Some(ScanResult::rejected(
                        &scan.scan_id,
                        "malformed_barcode",
                        message,
                    ));
                    continue;
                }
            };
            let purpose = match scan.purpose.as_deref().map(str::trim) {
                None | Some("") => SamplePurpose::Screen,
                Some(code) => match SamplePurpose::from_code(code) {
                    Some(p) => p,
                    None => {
                        results[index] = Some(ScanResult::rejected(
                            &scan.scan_id,
                            "bad_purpose",
                            "采样类型只能是“筛查”或“单管复采”".into(),
                        ));
                        continue;
                    }
                },
            };
            let person = match scan.action {
                ScanAction::Close => None,
                ScanAction::Bind if SamplingCode::looks_like(&scan.id_number) => {
                    let secret = match &secret {
                        Some(s) => s,
                        None => secret.insert(self.sampling_secret().await?),
                    };
                    match self
                        .person_of_sampling_code(&scan.id_number, secret)
                        .await?
                    {
                        Ok(person) => Some(person),
                        Err(message) => {
                            results[index] = Some(ScanResult::rejected(
                                &scan.scan_id,
                                "bad_sampling_code",
                                message,
                            ));
                            continue;
                        }
                    }
                }
                ScanAction::Bind => {
                    let document = IdType::parse(&scan.id_type)
                        .and_then(|t| IdDocument::parse(t, &scan.id_number));
                    match document {
                        Ok(doc) => Some(ScannedPerson {
                            id_type: doc.id_type().code().to_string(),
                            id_number: doc.number().to_string(),
                            // Card readers pad names with NULs and other control characters.
                            name: scan
                                .name
                                .chars()
                                .filter(|c| !c.is_control())
                                .collect::<String>()
                                .trim()
                                .chars()
                                .take(30)
                                .collect(),
                        }),
                        Err(message) => {
                            results[index] = Some(ScanResult::rejected(
                                &scan.scan_id,
                                "bad_document",
                                format!("{message}；请重新刷证或核对号码"),
                            ));
                            continue;
                        }
                    }
                }
            };
            let typed = match &entered[index] {
                Ok(typed) => typed.map(|at| {
                    self.occurred_at(
                        Some(at),
                        SAMPLED_AT_FIELD,
                        Some(("本轮检测开始时间", round.opened_at)),
                    )
                }),
                Err(problem) => Some(Err(AppError::Invalid(problem.to_string()))),
            };
            let sampled_at = match typed {
                Some(Ok(at)) => {
                    backlog.entry(at).or_default().push(writes.len());
                    at
                }
                Some(Err(problem)) => {
                    results[index] = Some(ScanResult::rejected(
                        &scan.scan_id,
                        "bad_occurred_at",
                        problem.to_string(),
                    ));
                    continue;
                }
                None => scan
                    .scanned_at
                    .filter(|t| *t <= now + 300 && *t >= now - 7 * 86_400)
                    .unwrap_or(now),
            };
            writes.push(ScanWrite {
                scan_id: scan.scan_id.clone(),
                round_id: round.id,
                round_range: round_range.clone(),
                screen_occasion: if kind == RoundKind::Routine {
                    beijing_day(sampled_at)
                } else {
                    0
                },
                site_id: site.id,
                site_region: site.region_code.to_string(),
                table_no: batch.table_no,
                tube,
                new_tube_capacity: capacity,
                purpose,
                person,
                sampled_at,
                recorder: actor.display_name.clone(),
                infant_cutoff,
            });
            positions.push(index);
        }

        if !writes.is_empty() {
            let audits = backlog
                .into_iter()
                .filter(|(at, _)| !self.occurred_detail("", *at).is_empty())
                .map(|(at, scans)| ScanAudit {
                    record: audit_record(
                        self,
                        actor,
                        "create",
                        format!("sampling:{}:{}", site.id, batch.table_no),
                        self.occurred_detail(format!("scans:{}", scans.len()), at),
                    ),
                    scans,
                })
                .collect();
            let (reply, answer) = oneshot::channel();
            self.scan_writer
                .queue()
                .send(ScanJob {
                    scans: writes,
                    audits,
                    reply,
                })
                .await
                .map_err(|_| WriterError::Stopped {
                    writer: SCAN_WRITER,
                })?;
            let outcomes = answer.await.map_err(|_| WriterError::DroppedReply {
                writer: SCAN_WRITER,
            })??;
            for (index, outcome) in positions.into_iter().zip(outcomes) {
                let scan_id = &batch.scans[index].scan_id;
                results[index] = Some(match outcome {
                    ScanOutcome::Bound {
                        tube_members,
                        capacity,
                        tube_closed,
                        outside_area,
                        in_register,
                    } => {
                        let mut flags = Vec::new();
                        let mut message = format!("已绑定，第{tube_members}/{capacity}人");
                        if tube_closed {
                            message.push_str("，试管已满并自动封管，请换新管");
                        }
                        if outside_area {
                            flags.push("outside_area");
                            message.push_str("；注意：此人不住在本轮检测范围内");
                        }
                        if !in_register {
                            flags.push("not_in_register");
                            message.push_str("；注意：此人不在实有人口登记中，请告知网格员核实");
                        }
                        ScanResult {
                            scan_id: scan_id.clone(),
                            ok: true,
                            outcome: "bound",
                            code: None,
                            message,
                            tube_members: Some(tube_members),
                            capacity: Some(capacity),
                            tube_closed,
                            flags,
                        }
                    }
                    ScanOutcome::Closed { tube_members } => ScanResult {
                        scan_id: scan_id.clone(),
                        ok: true,
                        outcome: "closed",
                        code: None,
                        message: format!("已封管（{tube_members}人）"),
                        tube_members: Some(tube_members),
                        capacity: None,
                        tube_closed: true,
                        flags: Vec::new(),
                    },
                    ScanOutcome::AlreadyRecorded => ScanResult {
                        scan_id: scan_id.clone(),
                        ok: true,
                        outcome: "already_recorded",
                        code: None,
                        message: "这条扫码已上传过，无需重复".into(),
                        tube_members: None,
                        capacity: None,
                        tube_closed: false,
                        flags: Vec::new(),
                    },
                    ScanOutcome::Rejected(rejection) => ScanResult::rejected(
                        scan_id,
                        rejection.code(),
                        rejection.message_zh(format_time),
                    ),
                });
            }
        }
        // The writer answers every scan it was handed; should it ever answer fewer, the request
        // fails with a retryable error (the scans are idempotent by scan_id) instead of a panic.
        results
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| AppError::internal("scan writer answered fewer scans"))
    }

    /// Open tubes at a table, so a reloaded sampling page shows the tube in hand.
    pub async fn open_tubes_at(
        &self,
        actor: &Actor,
        site_id: i64,
        table_no: i64,
    ) -> AppResult<Vec<fangkong_store::TubeRecord>> {
        actor.require(Permission::SampleSpecimens)?;
        self.sampling_site(actor, site_id).await?;
        Ok(self.store.open_tubes_at(site_id, table_no).await?)
    }
}
