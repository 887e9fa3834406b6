//! Moves: a resident to another grid of the same jurisdiction (迁移网格), and into another jurisdiction
//! by request and decision (迁入申请).

use super::*;

/// Where a person moves to: grid, household, address, relation to the head of household.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Destination {
    #[serde(default)]
    pub grid_code: String,
    #[serde(default)]
    pub household_number: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub relation: String,
}

/// A move between two grids of one jurisdiction (迁移网格).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct GridMoveForm {
    #[serde(flatten)]
    pub to: Destination,
    #[serde(default)]
    pub reason: String,
}

/// A move-in request (迁入申请) as the new jurisdiction types it. Unchecked text: no `Debug`.
#[derive(Clone, Default, serde::Deserialize)]
pub struct MoveInForm {
    #[serde(default)]
    pub id_type: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub name: String,
    #[serde(flatten)]
    pub to: Destination,
    #[serde(default)]
    pub reason: String,
}

/// Where a person moves to, parsed: the grid (its existence and jurisdiction are checked against
/// the register), the household, address and relation as typed (checked with the person's row by
/// the import rules, which need the row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveDestination {
    pub grid: RegionCode,
    pub household_number: String,
    pub address: fangkong_domain::personal::Address,
    pub relation: String,
}

impl TryFrom<&Destination> for MoveDestination {
    type Error = AppError;

    fn try_from(to: &Destination) -> Result<Self, AppError> {
        let code = to.grid_code.trim();
        let grid = RegionCode::parse(code).map_err(|_| {
            AppError::field(
                "网格编码",
                format!("网格编码“{}”格式不对：应为15位数字", short(code)),
            )
        })?;
        Ok(MoveDestination {
            grid,
            household_number: to.household_number.trim().to_string(),
            address: to.address.trim().into(),
            relation: to.relation.trim().to_string(),
        })
    }
}

/// A move between two grids of one jurisdiction, parsed: what [`App::move_resident_grid`] checks
/// against the register and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveGrid {
    pub to: MoveDestination,
    /// 1 to 200 characters.
    pub reason: String,
}

impl TryFrom<&GridMoveForm> for MoveGrid {
    type Error = AppError;

    fn try_from(form: &GridMoveForm) -> Result<Self, AppError> {
        let reason = form.reason.trim();
        if reason.is_empty() {
            return Err(AppError::field(
                "迁移原因",
                "请填写迁移原因（如：搬到新住址）",
            ));
        }
        if reason.chars().count() > 200 {
            return Err(AppError::field("迁移原因", "最多200个字"));
        }
        Ok(MoveGrid {
            to: MoveDestination::try_from(&form.to)?,
            reason: reason.to_string(),
        })
    }
}

/// A move-in request, parsed: what [`App::file_move_in`] checks against the register and writes.
/// `Debug` masks the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMoveIn {
    pub document: IdDocument,
    /// 1 to 30 characters.
    pub name: fangkong_domain::personal::PersonName,
    pub to: MoveDestination,
    /// 1 to 200 characters.
    pub reason: String,
}

impl TryFrom<&MoveInForm> for FileMoveIn {
    type Error = AppError;

    fn try_from(form: &MoveInForm) -> Result<Self, AppError> {
        let name = form.name.trim();
        let reason = form.reason.trim();
        if name.is_empty() || reason.is_empty() {
            return Err(AppError::field("姓名和迁入原因", "请填写姓名和迁入原因"));
        }
        if name.chars().count() > 30 || reason.chars().count() > 200 {
            return Err(AppError::field(
                "姓名和迁入原因",
                "姓名最多30个字，迁入原因最多200个字",
            ));
        }
        let id_type = IdType::parse(&form.id_type)
            .map_err(|_| AppError::field("证件类型", "请选择证件类型"))?;
        let document = IdDocument::parse(id_type, form.id_number.trim())
            .map_err(|e| AppError::field("证件号码", e))?;
        Ok(FileMoveIn {
            document,
            name: name.into(),
            to: MoveDestination::try_from(&form.to)?,
            reason: reason.to_string(),
        })
    }
}

/// A move-in request as a page shows it. The requesting side sees only what it typed and the
/// outcome; the person's current side also sees the registered person (masked).
#[derive(Debug, Clone, Serialize)]
pub struct MoveInView {
    pub id: i64,
    pub status: String,
    pub status_label: &'static str,
    /// The name as the requester typed it.
    pub name: String,
    pub id_number_masked: String,
    pub to_grid: String,
    pub to_household: String,
    pub to_address: String,
    pub to_relation: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_reason: String,
    /// The grid the person was in when the request was filed: only for the person's side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_grid: Option<String>,
    /// The registered person, when they are in the viewer's jurisdiction now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<ResidentView>,
    /// True for the person's current side while the request is pending.
    pub can_decide: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MoveInLists {
    /// Requests concerning people of the jurisdiction (to approve or refuse).
    pub inbox: Vec<MoveInView>,
    /// Requests filed by the jurisdiction.
    pub sent: Vec<MoveInView>,
}

fn move_in_status_label(status: &str) -> &'static str {
    match status {
        "pending" => "待原辖区审批",
        "approved" => "已同意，已迁入",
        "refused" => "未同意",
        _ => "未知",
    }
}

fn within(actor: &Actor, code: &str) -> bool {
    RegionCode::parse(code)
        .map(|c| actor.jurisdiction.contains(&c))
        .unwrap_or(false)
}

/// The resident's row with a new grid, household, address and relation: checked by the same rules as
/// an import row, with its content hash recomputed.
/// Whether every problem of a `problems_error` message concerns a destination column (what the
/// requester of a move-in typed).
fn destination_problem_only(message: &str) -> bool {
    const DESTINATION: [&str; 4] = ["现住址", "户编号", "与户主关系", "网格编码"];
    message.split('；').all(|problem| {
        DESTINATION
            .iter()
            .any(|c| problem.starts_with(&format!("{c}：")))
    })
}

fn moved_row(
    record: &ResidentRecord,
    to: &MoveDestination,
    today: chrono::NaiveDate,
) -> AppResult<ResidentWrite> {
    let mut fields = import_fields(record).to_vec();
    fields[6] = to.address.as_str().to_string();
    fields[7] = to.household_number.clone();
    fields[8] = to.relation.clone();
    fields[9] = to.grid.as_str().to_string();
    let raw = RawResidentRow::from_owned_fields(fields);
    let valid = validate_resident_row(&raw, today).map_err(problems_error)?;
    Ok(write_of(&valid))
}

/// A typed value cut short for an error message.
fn short(value: &str) -> String {
    value.chars().take(20).collect()
}

impl App {
    /// The destination grid must exist and lie in the actor's jurisdiction.
    async fn destination_grid(&self, actor: &Actor, grid: &RegionCode) -> AppResult<()> {
        actor.require_within(grid)?;
        if self.store.region(grid.as_str()).await?.is_none() {
            return Err(AppError::field(
                "网格编码",
                format!("网格编码 {} 不存在", grid.as_str()),
            ));
        }
        Ok(())
    }

    /// Moves a resident to another grid of the actor's jurisdiction (迁移网格): an explicit action with a
    /// reason, audited with the grid and household before and after. Both grids must be in the
    /// jurisdiction; the grid counts move in the same transaction.
    pub async fn move_resident_grid(
        &self,
        actor: &Actor,
        id: i64,
        form: &GridMoveForm,
    ) -> AppResult<ResidentView> {
        actor.require(Permission::ImportPopulation)?;
        let command = MoveGrid::try_from(form)?;
        let record = self.resident_in_jurisdiction(actor, id).await?;
        let grid = &command.to.grid;
        self.destination_grid(actor, grid).await?;
        if grid.as_str() == record.grid_code {
            return Err(AppError::Invalid(format!(
                "此人已在网格 {}：改户编号或住址请直接修改登记",
                record.grid_code
            )));
        }
        let write = moved_row(&record, &command.to, self.today())?;
        let audit = audit_record(
            self,
            actor,
            "move_grid",
            format!("resident:{id}"),
            format!(
                "迁移网格：网格 {} → {}；户 {} → {}；原因：{}",
                record.grid_code,
                grid.as_str(),
                record.household_number,
                command.to.household_number,
                command.reason
            ),
        );
        self.apply_move(actor, &record, write, None, audit).await?;
        self.resident(actor, id).await
    }

    async fn apply_move(
        &self,
        actor: &Actor,
        record: &ResidentRecord,
        write: ResidentWrite,
        move_in: Option<i64>,
        audit: fangkong_store::AuditRecord,
    ) -> AppResult<()> {
        let outcome = self
            .store
            .move_resident(
                &ResidentMove {
                    resident_id: record.id,
                    from_grid: record.grid_code.clone(),
                    from_household: record.household_number.clone(),
                    write: write.clone(),
                    move_in: move_in.map(|m| (m, actor.username.clone())),
                    audit,
                },
                self.now_unix(),
            )
            .await?;
        match outcome {
            MoveOutcome::Moved => Ok(()),
            MoveOutcome::Stale => Err(AppError::Conflict(
                "此人的登记或这份申请刚被别人处理过，请刷新页面后再看".into(),
            )),
            MoveOutcome::HouseholdInOtherGrid { household_grid } => {
                Err(AppError::Conflict(household_elsewhere(
                    actor,
                    &write.household_number,
                    &household_grid,
                    &write.grid_code,
                )))
            }
        }
    }

    /// Files a move-in request (迁入申请) for a person registered outside the actor's jurisdiction, to a
    /// grid inside it. The requester learns nothing about the person beyond what they typed.
    pub async fn file_move_in(&self, actor: &Actor, form: &MoveInForm) -> AppResult<i64> {
        actor.require(Permission::ImportPopulation)?;
        let command = FileMoveIn::try_from(form)?;
        self.destination_grid(actor, &command.to.grid).await?;
        let document = &command.document;
        let record = self
            .resident_by_document(document.id_type().code(), document.number())
            .await?
            .ok_or_else(|| {
                AppError::Invalid(
                    "此证件号码尚未在任何辖区登记：不需要迁入申请，请直接登记此人".into(),
                )
            })?;
        if within(actor, &record.grid_code) {
            return Err(AppError::Invalid(
                "此人已在您的辖区登记：辖区内搬家请在此人页面用“迁移网格”办理".into(),
            ));
        }
        // The destination is checked by the import rules now, so a refusal comes before the request.
        // Only problems with what the requester typed are told; a problem with the stored row (a name
        // with lost characters, say) would echo a person of another jurisdiction, so it is named only
        // as needing the current jurisdiction's correction.
        let write = moved_row(&record, &command.to, self.today()).map_err(|e| match e {
            AppError::Invalid(message) if !destination_problem_only(&message) => AppError::Invalid(
                "此人在原辖区的登记信息有误，需由原辖区更正后才能提交迁入申请".into(),
            ),
            other => other,
        })?;
        if let Some(h) = self.store.household(&write.household_number).await?
            && h.grid_code != write.grid_code
        {
            return Err(AppError::Conflict(household_elsewhere(
                actor,
                &write.household_number,
                &h.grid_code,
                &write.grid_code,
            )));
        }
        let id = self
            .store
            .create_move_in(
                &NewMoveIn {
                    resident_id: record.id,
                    id_type: write.id_type.clone(),
                    id_number: write.id_number.clone(),
                    name: command.name.clone(),
                    from_grid: record.grid_code.clone(),
                    to_grid: write.grid_code.clone(),
                    to_household: write.household_number.clone(),
                    to_address: write.address.clone(),
                    to_relation: write.relation.clone(),
                    reason: command.reason.clone(),
                    requested_by: actor.username.clone(),
                },
                self.now_unix(),
                &audit_record(
                    self,
                    actor,
                    "move_in_request",
                    "",
                    format!("迁入网格 {}", write.grid_code),
                ),
            )
            .await?;
        Ok(id)
    }

    async fn move_in_view(&self, actor: &Actor, m: MoveInRecord) -> AppResult<MoveInView> {
        let person_side = within(actor, &m.from_grid);
        let person = match self.store.resident(m.resident_id).await? {
            Some(r) if within(actor, &r.grid_code) => Some(view_of(&r, self.today(), false)),
            _ => None,
        };
        Ok(MoveInView {
            id: m.id,
            status_label: move_in_status_label(&m.status),
            can_decide: person_side && m.status == "pending",
            id_number_masked: mask_document(&m.id_type, &m.id_number),
            from_grid: person_side.then(|| m.from_grid.clone()),
            person,
            status: m.status,
            name: m.name.into(),
            to_grid: m.to_grid,
            to_household: m.to_household,
            to_address: m.to_address.into(),
            to_relation: m.to_relation,
            reason: m.reason,
            requested_by: m.requested_by,
            requested_at: m.requested_at,
            decided_by: m.decided_by,
            decided_at: m.decided_at,
            decision_reason: m.decision_reason,
        })
    }

    /// The move-in requests concerning the jurisdiction's people (to decide) and those it filed.
    pub async fn move_ins(&self, actor: &Actor) -> AppResult<MoveInLists> {
        actor.require(Permission::ImportPopulation)?;
        let (lower, upper) = actor.jurisdiction_range();
        let mut inbox = Vec::new();
        for m in self.store.move_ins_in(true, (&lower, &upper), 200).await? {
            inbox.push(self.move_in_view(actor, m).await?);
        }
        let mut sent = Vec::new();
        for m in self.store.move_ins_in(false, (&lower, &upper), 200).await? {
            sent.push(self.move_in_view(actor, m).await?);
        }
        Ok(MoveInLists { inbox, sent })
    }

    /// One move-in request, for either side; anyone else gets "not found" (as for a missing id).
    pub async fn move_in(&self, actor: &Actor, id: i64) -> AppResult<MoveInView> {
        actor.require(Permission::ImportPopulation)?;
        let m = self
            .store
            .move_in(id)
            .await?
            .filter(|m| within(actor, &m.from_grid) || within(actor, &m.to_grid))
            .ok_or(AppError::NotFound("该迁入申请"))?;
        self.move_in_view(actor, m).await
    }

    /// The person's current jurisdiction approves (the person moves, with the request, in one
    /// transaction) or refuses with a reason. Audited with before and after.
    pub async fn decide_move_in(
        &self,
        actor: &Actor,
        id: i64,
        approve: bool,
        reason: &str,
    ) -> AppResult<MoveInView> {
        actor.require(Permission::ImportPopulation)?;
        let reason = reason.trim();
        if !approve {
            if reason.is_empty() {
                return Err(AppError::field(
                    "不同意的原因",
                    "请填写不同意的原因（申请方会看到，如：此人仍在本辖区居住）",
                ));
            }
            if reason.chars().count() > 200 {
                return Err(AppError::field("不同意的原因", "原因最多200个字"));
            }
        }
        let m = self
            .store
            .move_in(id)
            .await?
            .filter(|m| within(actor, &m.from_grid) || within(actor, &m.to_grid))
            .ok_or(AppError::NotFound("该迁入申请"))?;
        if !within(actor, &m.from_grid) {
            return Err(AppError::Invalid(
                "迁入申请由此人原登记辖区审批，申请方不能自己审批".into(),
            ));
        }
        if m.status != "pending" {
            return Err(AppError::Conflict(format!(
                "这份申请已处理（{}），不能再审批",
                move_in_status_label(&m.status)
            )));
        }
        if approve {
            let record = self
                .store
                .resident(m.resident_id)
                .await?
                .filter(|r| r.grid_code == m.from_grid)
                .ok_or_else(|| {
                    AppError::Conflict(
                        "此人的网格在申请后已变动：请拒绝这份申请，由申请方重新提交".into(),
                    )
                })?;
            let to = MoveDestination {
                grid: RegionCode::parse(&m.to_grid).map_err(AppError::internal)?,
                household_number: m.to_household.clone(),
                address: m.to_address.clone(),
                relation: m.to_relation.clone(),
            };
            let write = moved_row(&record, &to, self.today())?;
            let audit = audit_record(
                self,
                actor,
                "move_in_approve",
                format!("resident:{}", record.id),
                format!(
                    "迁入申请 {id} 同意：网格 {} → {}；户 {} → {}{}",
                    record.grid_code,
                    m.to_grid,
                    record.household_number,
                    m.to_household,
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!("；{reason}")
                    }
                ),
            );
            self.apply_move(actor, &record, write, Some(id), audit)
                .await?;
        } else if !self
            .store
            .refuse_move_in(
                id,
                &actor.username,
                reason,
                self.now_unix(),
                &audit_record(
                    self,
                    actor,
                    "move_in_refuse",
                    format!("move_in:{id}"),
                    reason,
                ),
            )
            .await?
        {
            return Err(AppError::Conflict(
                "这份申请刚被别人处理过，请刷新页面".into(),
            ));
        }
        self.move_in(actor, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::destination_problem_only;

    #[test]
    fn only_problems_with_the_typed_destination_are_told_to_a_move_in_requester() {
        assert!(destination_problem_only("户编号：户编号应为19位数字"));
        assert!(destination_problem_only(
            "现住址：请填写现住址；网格编码：网格编码不存在"
        ));
        assert!(!destination_problem_only("姓名：姓名“李?华”中有问号"));
        assert!(!destination_problem_only(
            "户编号：户编号应为19位数字；出生日期：日期不对"
        ));
    }
}
