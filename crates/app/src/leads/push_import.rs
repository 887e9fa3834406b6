//! Big-data push imports (大数据推送): a push file streamed row by row into routed leads, idempotent.

use fangkong_domain::phone::PhoneNumber;

use super::*;

impl App {
    /// Imports a big-data push file (CSV or XLSX, header [`PUSH_COLUMNS`]). Good rows become
    /// leads routed to their grids; bad rows are kept as problems with row, column and reason;
    /// importing the same rows again adds nothing (a content hash per row).
    pub async fn import_leads(
        &self,
        actor: &Actor,
        path: &Path,
        file_name: &str,
    ) -> AppResult<LeadImportReport> {
        actor.require(Permission::SendLeads)?;
        let format = FileFormat::from_file_name(file_name)?;
        // The file is read on the bounded pool and its lines stream through a channel: a large push
        // is never held whole in memory.
        let path = path.to_path_buf();
        let (sender, mut lines) = tokio::sync::mpsc::channel::<FileLine>(1024);
        let reader = crate::blocking::start(crate::blocking::Heavy::FileReader, move || {
            let is_header = |cells: &[String]| push_column_map(cells).is_ok();
            for_each_line(&path, format, is_header, |line| {
                sender.blocking_send(line).is_ok()
            })
        })
        .await?;
        let read_failure = |joined: Result<AppResult<_>, tokio::task::JoinError>| match joined {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e),
            Err(e) => Some(AppError::internal_in("push reader", e)),
        };
        let header = loop {
            match lines.recv().await {
                None => {
                    if let Some(e) = read_failure(reader.await) {
                        return Err(e);
                    }
                    return Err(AppError::Invalid(format!(
                        "文件是空的：第一行应为表头：{}",
                        PUSH_COLUMNS.join(",")
                    )));
                }
                Some(FileLine::Cells(_, cells)) if cells.iter().all(|c| c.is_empty()) => continue,
                Some(FileLine::Cells(_, cells)) => break cells,
                Some(FileLine::Unreadable(_, why)) => return Err(AppError::Invalid(why)),
            }
        };
        let map = push_column_map(&header)?;
        let import_id = self
            .store
            .create_lead_import(&actor.username, file_name, self.now_unix())
            .await?;
        let now = self.now_unix();
        // Problems found since the last stored chunk (stored with its progress, then let go), and
        // the first ones for the report.
        let mut problems: Vec<ImportProblemRecord> = Vec::new();
        let mut first_problems: Vec<ProblemLine> = Vec::new();
        let mut keep_first = |found: &[ImportProblemRecord]| {
            for p in found.iter().take(200 - first_problems.len().min(200)) {
                first_problems.push(ProblemLine {
                    row_number: p.row_number,
                    column: p.column_name.clone(),
                    message: p.message.clone(),
                });
            }
        };
        let mut problem_rows = 0_i64;
        let mut rows_total = 0_i64;
        let mut batch: Vec<LeadRecord> = Vec::new();
        let (mut inserted, mut unchanged) = (0_i64, 0_i64);
        while let Some(line) = lines.recv().await {
            let (row_number, cells) = match line {
                FileLine::Unreadable(row_number, why) => {
                    rows_total += 1;
                    problem_rows += 1;
                    problems.push(push_problem(row_number, "整行", why, &[]));
                    continue;
                }
                FileLine::Cells(n, cells) => (n, cells),
            };
            if cells.iter().all(|c| c.is_empty()) {
                continue;
            }
            rows_total += 1;
            let mut fields = vec![String::new(); PUSH_COLUMNS.len()];
            for (i, cell) in cells.into_iter().enumerate() {
                if let Some(Some(position)) = map.get(i) {
                    fields[*position] = cell;
                }
            }
            // A long number typed into a number cell has lost its last digits already.
            let lost: Vec<(&'static str, String)> = fields
                .iter_mut()
                .zip(PUSH_COLUMNS)
                .filter(|(f, _)| f.starts_with('\u{0}'))
                .map(|(f, column)| {
                    f.clear();
                    (
                        column,
                        format!("{column}被Excel存成了数字，最后几位已经丢失：请把这一列设置为“文本”格式后重新填写"),
                    )
                })
                .collect();
            let checked = if lost.is_empty() {
                self.push_row(actor, &fields, now).await?
            } else {
                Err(lost)
            };
            match checked {
                Ok(lead) => batch.push(lead),
                Err(found) => {
                    problem_rows += 1;
                    for (column, message) in found {
                        problems.push(push_problem(row_number, column, message, &fields));
                    }
                }
            }
            if batch.len() >= PUSH_ROWS_PER_CHUNK {
                for id in self.store.insert_leads(&batch).await? {
                    if id.is_some() {
                        inserted += 1
                    } else {
                        unchanged += 1
                    }
                }
                batch.clear();
                // The counters and the chunk's problems follow every committed chunk (written
                // right after its transaction, so at most one chunk behind): an import cut short
                // by a crash still says what it committed, and its heartbeat stops, so a later
                // pass marks it interrupted.
                self.store
                    .record_lead_import_progress(
                        import_id,
                        &problems,
                        rows_total,
                        inserted,
                        unchanged,
                        problem_rows,
                        None,
                        self.now_unix(),
                    )
                    .await?;
                keep_first(&problems);
                problems.clear();
            }
        }
        // A file that fails part-way (a limit passed, a damaged sheet): the rows before it stand
        // (importing them again adds nothing), and the failure is the file's last problem.
        if let Some(e) = read_failure(reader.await) {
            let message = match e {
                AppError::Invalid(why) | AppError::TooLarge(why) => why,
                other => return Err(other),
            };
            problem_rows += 1;
            problems.push(push_problem(rows_total + 1, "整个文件", message, &[]));
        }
        for id in self.store.insert_leads(&batch).await? {
            if id.is_some() {
                inserted += 1
            } else {
                unchanged += 1
            }
        }
        // The write that finishes the run carries the import's audit record: the run's totals and
        // its record commit together. (Each chunk of leads before it is its own transaction, so a
        // crash leaves the committed chunks standing, recorded by the run's progress.)
        let audit = audit_record(
            self,
            actor,
            "import",
            format!("lead_import:{import_id}"),
            format!(
                "{file_name}: {rows_total} 行，新增线索 {inserted}，重复 {unchanged}，问题 {problem_rows}"
            ),
        );
        self.store
            .record_lead_import_progress_audited(
                import_id,
                &problems,
                rows_total,
                inserted,
                unchanged,
                problem_rows,
                Some(self.now_unix()),
                self.now_unix(),
                Some(&audit),
            )
            .await?;
        keep_first(&problems);
        Ok(LeadImportReport {
            import_id,
            rows_total,
            inserted,
            unchanged,
            problem_rows,
            interrupted_at: None,
            problems: first_problems,
        })
    }

    /// One push row → a routed lead, or its problems (column, message).
    pub(super) async fn push_row(
        &self,
        actor: &Actor,
        f: &[String],
        now: i64,
    ) -> AppResult<Result<LeadRecord, Vec<(&'static str, String)>>> {
        let mut problems: Vec<(&'static str, String)> = Vec::new();
        let person = match check_person(&f[0], &f[1], &f[2], &f[3], &f[4]) {
            Ok(p) => Some(p),
            Err(found) => {
                problems.extend(found.into_iter().map(|p| (p.column, p.message)));
                None
            }
        };
        let category = RiskCategory::parse(&f[6])
            .map_err(|m| problems.push(("风险类别", m)))
            .ok();
        let pushed_at = match parse_beijing_cell(&f[7]).map(|t| t.timestamp()) {
            Ok(t) if t > now + 3600 => {
                problems.push(("推送时间", "推送时间晚于当前时间：请核对".into()));
                None
            }
            Ok(t) => Some(t),
            Err(m) => {
                problems.push(("推送时间", m));
                None
            }
        };
        let (Some(person), Some(category), Some(pushed_at)) = (person, category, pushed_at) else {
            return Ok(Err(problems));
        };
        let route = match self.route_person(&person, &f[9]).await {
            Ok(route) => route,
            Err(AppError::Invalid(m)) => return Ok(Err(vec![("区划编码", m)])),
            Err(e) => return Err(e),
        };
        if let Err(e) = self.require_route_within(actor, &route.grid_code).await {
            return Ok(Err(vec![("区划编码", e.to_string())]));
        }
        let mut hasher = Sha256::new();
        for field in f {
            hasher.update(field.trim().as_bytes());
            hasher.update([0x1f]);
        }
        let mut lead = blank_lead(Channel::BigDataPush, category, &person);
        lead.reason = text(&f[5], 500);
        lead.sender = if f[8].trim().is_empty() {
            "大数据推送".into()
        } else {
            text(&f[8], 100)
        };
        lead.reference = format!("推送时间 {}", text(&f[7], 30));
        lead.sender_region = actor.jurisdiction.as_str().into();
        lead.source_key = Some(format!("push:{}", &hex::encode(hasher.finalize())[..40]));
        // The 24 hours run from when the push reached us, not from when the file was uploaded.
        lead.received_at = pushed_at.min(now);
        lead.deadline = deadline_of(lead.received_at);
        lead.created_by = actor.username.clone();
        lead.created_at = now;
        apply_route(&mut lead, route);
        Ok(Ok(lead))
    }

    pub async fn lead_import_run(&self, actor: &Actor, id: i64) -> AppResult<LeadImportRecord> {
        actor.require(Permission::SendLeads)?;
        let run = self
            .store
            .lead_import(id)
            .await?
            .ok_or(AppError::NotFound("该导入记录"))?;
        // Like a residents import: the importer, and administrators over the importer.
        let visible = run.username == actor.username
            || (actor.role.allows(Permission::ViewAuditLog)
                && self.sees_work_of(actor, &run.username).await?);
        if !visible {
            return Err(AppError::NotFound("该导入记录"));
        }
        Ok(run)
    }

    /// An import run with its first problem rows (the page after an upload).
    pub async fn lead_import_report(&self, actor: &Actor, id: i64) -> AppResult<LeadImportReport> {
        let run = self.lead_import_run(actor, id).await?;
        let problems = self.store.lead_import_problems(run.id, 200).await?;
        Ok(LeadImportReport {
            import_id: run.id,
            rows_total: run.rows_total,
            inserted: run.inserted,
            unchanged: run.unchanged,
            problem_rows: run.problems,
            interrupted_at: run.interrupted_at,
            problems: problems
                .into_iter()
                .map(|p| ProblemLine {
                    row_number: p.row_number,
                    column: p.column_name,
                    message: p.message,
                })
                .collect(),
        })
    }

    pub async fn recent_lead_imports(&self, actor: &Actor) -> AppResult<Vec<LeadImportRecord>> {
        actor.require(Permission::SendLeads)?;
        Ok(self.store.recent_lead_imports(&actor.username, 20).await?)
    }

    /// The problem rows of a push import as a CSV to fix and import again ([`PUSH_COLUMNS`] plus
    /// "问题说明"); it holds personal data, so it is audited like an export.
    pub async fn lead_import_problem_file(&self, actor: &Actor, id: i64) -> AppResult<Vec<u8>> {
        let run = self.lead_import_run(actor, id).await?;
        let problems = self.store.lead_import_problems(run.id, 1_000_000).await?;
        let csv_error = |e: csv::Error| AppError::internal(e);
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<&str> = PUSH_COLUMNS.to_vec();
        header.push(PROBLEM_COLUMN);
        writer.write_record(&header).map_err(csv_error)?;
        let mut rows = 0;
        let mut index = 0;
        while index < problems.len() {
            let row_number = problems[index].row_number;
            let fields: Vec<String> =
                serde_json::from_str(&problems[index].raw_fields).unwrap_or_default();
            let mut messages = Vec::new();
            while index < problems.len() && problems[index].row_number == row_number {
                messages.push(format!(
                    "第{}行 {}：{}",
                    row_number, problems[index].column_name, problems[index].message
                ));
                index += 1;
            }
            let mut record: Vec<String> = (0..PUSH_COLUMNS.len())
                .map(|i| fields.get(i).cloned().unwrap_or_default())
                .collect();
            record.push(messages.join("；"));
            writer
                .write_record(crate::export::csv_record(&record))
                .map_err(csv_error)?;
            rows += 1;
        }
        let bytes = writer.into_inner().map_err(AppError::internal)?;
        audit_by(
            self,
            actor,
            "export",
            &format!("lead_import:{id}"),
            &format!("问题行 {rows} 行"),
        )
        .await?;
        let mut with_bom = "\u{feff}".as_bytes().to_vec();
        with_bom.extend(bytes);
        Ok(with_bom)
    }
}

/// A person the big-data analytics found (`app::analytics`), to become a push lead.
pub(crate) struct Finding {
    /// The operator's number: the person's mobile phone.
    pub phone: PhoneNumber,
    /// The village or community whose cell the phone was seen in, for a number not in the register.
    pub seen_in: Option<String>,
    pub category: RiskCategory,
    pub reason: String,
    pub sender: String,
    pub source_key: String,
    pub sender_region: String,
}

impl App {
    /// A finding as a lead of channel 大数据推送 by the push path's rules: the register by phone
    /// first (one resident with that number: their grid, and their document, so the health code's
    /// pop-up follows the push), else the village where the phone was seen (waiting there to be
    /// routed, the phone its only handle). `None` when neither routes it.
    pub(crate) async fn lead_of_finding(
        &self,
        finding: &Finding,
        now: i64,
    ) -> AppResult<Option<LeadRecord>> {
        let found = self
            .store
            .search_residents(SearchField::Phone, finding.phone.as_str(), ("", "~"), 2)
            .await?;
        let route = if found.len() == 1 {
            Route {
                grid_code: found[0].grid_code.clone(),
                status: LeadStatus::Pending,
                resident_id: Some(found[0].id),
                resident: found.into_iter().next(),
            }
        } else if let Some(village) = &finding.seen_in {
            match self.route_by_region(village).await {
                Ok(route) => route,
                Err(AppError::Invalid(_)) => return Ok(None),
                Err(e) => return Err(e),
            }
        } else {
            return Ok(None);
        };
        let person = LeadPerson {
            name: String::new(),
            document: None,
            phone: Some(finding.phone.clone()),
            address: String::new(),
        };
        let mut lead = blank_lead(Channel::BigDataPush, finding.category, &person);
        lead.reason = text(&finding.reason, 500);
        lead.sender = text(&finding.sender, 100);
        lead.reference = format!(
            "推送时间 {}",
            fangkong_domain::time::beijing_label(
                chrono::DateTime::from_timestamp(now, 0).unwrap_or_default()
            )
        );
        lead.sender_region = finding.sender_region.clone();
        lead.source_key = Some(finding.source_key.clone());
        lead.received_at = now;
        lead.deadline = deadline_of(lead.received_at);
        lead.created_by = "analytics".into();
        lead.created_at = now;
        apply_route(&mut lead, route);
        Ok(Some(lead))
    }
}
