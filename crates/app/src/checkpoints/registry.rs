//! The checkpoint registry (卡口): checkpoints, their lines and staff.

use super::*;

/// A checkpoint as the form asked for it, every value parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCheckpoint {
    pub name: String,
    pub kind: CheckpointKind,
    /// The kind's default line when the form leaves it empty.
    pub line: DefenceLine,
    pub region: RegionCode,
}

impl TryFrom<&CheckpointForm> for CreateCheckpoint {
    type Error = AppError;

    fn try_from(form: &CheckpointForm) -> Result<Self, AppError> {
        let name = form.name.trim();
        if name.is_empty() {
            return Err(AppError::Invalid(
                "请填写卡口名称，例如“G107京港澳高速冀京界卡口”".into(),
            ));
        }
        let kind = CheckpointKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::Invalid("请选择卡口类型".into()))?;
        let line = if form.line.trim().is_empty() {
            kind.default_line()
        } else {
            DefenceLine::from_code(form.line.trim()).ok_or_else(|| {
                AppError::Invalid("防线无法识别：应为省域周边、省域内或环京周边".into())
            })?
        };
        let region = RegionCode::parse(&form.region_code).map_err(AppError::Invalid)?;
        Ok(CreateCheckpoint {
            name: name.to_string(),
            kind,
            line,
            region,
        })
    }
}

impl App {
    /// Registers a checkpoint: the form is parsed into [`CreateCheckpoint`] before anything is
    /// read; the checkpoint and its audit record are one transaction.
    pub async fn create_checkpoint(&self, actor: &Actor, form: &CheckpointForm) -> AppResult<i64> {
        actor.require(Permission::ManageCheckpoints)?;
        let command = CreateCheckpoint::try_from(form)?;
        actor.require_within(&command.region)?;
        if self.store.region(command.region.as_str()).await?.is_none() {
            return Err(region_unknown(&command.region));
        }
        let id = self
            .store
            .insert_checkpoint(
                &command.name,
                command.kind.code(),
                command.line.code(),
                command.region.as_str(),
                self.now_unix(),
                &actor.username,
                &audit_record(self, actor, "create_checkpoint", "", command.name.as_str()),
            )
            .await?;
        Ok(id)
    }

    pub async fn checkpoints(&self, actor: &Actor) -> AppResult<Vec<CheckpointView>> {
        if !(actor.role.allows(Permission::VerifyAtCheckpoint)
            || actor.role.allows(Permission::ManageCheckpoints))
        {
            return Err(AppError::Forbidden { role: actor.role });
        }
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self
            .store
            .checkpoints((&lower, &upper))
            .await?
            .into_iter()
            .map(checkpoint_view)
            .collect())
    }

    /// A checkpoint, from memory after the first read (the verifier reads it on every check).
    pub(super) async fn checkpoint_in(
        &self,
        actor: &Actor,
        id: i64,
    ) -> AppResult<CheckpointRecord> {
        let cached = self
            .codes
            .checkpoints
            .read()
            .expect("checkpoint lock")
            .get(&id)
            .cloned();
        let checkpoint = match cached {
            Some(c) => c,
            None => {
                let found = self
                    .store
                    .checkpoint(id)
                    .await?
                    .ok_or(AppError::NotFound("该卡口"))?;
                self.codes
                    .checkpoints
                    .write()
                    .expect("checkpoint lock")
                    .insert(id, found.clone());
                found
            }
        };
        if !actor.jurisdiction.as_str().is_empty()
            && !checkpoint
                .region_code
                .as_str()
                .starts_with(actor.jurisdiction.as_str())
        {
            return Err(AppError::NotFound("该卡口"));
        }
        Ok(checkpoint)
    }

    pub async fn checkpoint(&self, actor: &Actor, id: i64) -> AppResult<CheckpointView> {
        if !(actor.role.allows(Permission::VerifyAtCheckpoint)
            || actor.role.allows(Permission::ManageCheckpoints))
        {
            return Err(AppError::Forbidden { role: actor.role });
        }
        Ok(checkpoint_view(self.checkpoint_in(actor, id).await?))
    }

    /// The latest passages at a checkpoint (masked) and counts per decision today.
    pub async fn checkpoint_passages(
        &self,
        actor: &Actor,
        id: i64,
        limit: i64,
    ) -> AppResult<(Vec<PassageView>, Vec<(String, &'static str, i64)>)> {
        actor.require(Permission::VerifyAtCheckpoint)?;
        self.checkpoint_in(actor, id).await?;
        let now = self.now_unix();
        let day_start = self
            .today()
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(crate::china_offset()).single())
            .map(|t| t.timestamp())
            .unwrap_or(now - 86_400);
        let passages = self
            .store
            .passages_at(id, now - 7 * 86_400, now + 60, limit)
            .await?;
        let counts = self
            .store
            .passage_counts(id, day_start)
            .await?
            .into_iter()
            .map(|(code, n)| {
                let label = decision_label(&code);
                (code, label, n)
            })
            .collect();
        Ok((
            passages
                .into_iter()
                .map(|p| PassageView {
                    at_label: beijing_label(p.at),
                    at: p.at,
                    method: p.method.clone(),
                    id_number_masked: if p.id_number.is_empty() {
                        "—".into()
                    } else {
                        mask_document(&p.id_type, &p.id_number)
                    },
                    colour_label: p.colour.map(CodeColour::label_zh).unwrap_or("—"),
                    temperature: p.temperature,
                    plate: p.plate.clone().unwrap_or_default(),
                    decision_label: decision_label(&p.decision),
                    reasons: p.reasons.clone(),
                })
                .collect(),
            counts,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> CheckpointForm {
        CheckpointForm {
            name: " G107冀京界卡口 ".into(),
            kind: "beijing_ring".into(),
            line: String::new(),
            region_code: "130109".into(),
        }
    }

    #[test]
    fn a_good_form_is_a_checkpoint_with_its_kind_line() {
        assert_eq!(
            CreateCheckpoint::try_from(&good()).unwrap(),
            CreateCheckpoint {
                name: "G107冀京界卡口".into(),
                kind: CheckpointKind::BeijingRing,
                line: CheckpointKind::BeijingRing.default_line(),
                region: RegionCode::parse("130109").unwrap(),
            }
        );
        let inside = CreateCheckpoint::try_from(&CheckpointForm {
            line: "in_province".into(),
            ..good()
        })
        .unwrap();
        assert_eq!(inside.line, DefenceLine::InProvince);
    }

    #[test]
    fn each_bad_field_is_refused_by_its_name() {
        type Change = fn(&mut CheckpointForm);
        let table: [(Change, &str); 4] = [
            (|f| f.name = " ".into(), "卡口名称"),
            (|f| f.kind = "tollgate".into(), "卡口类型"),
            (|f| f.line = "moat".into(), "防线"),
            (|f| f.region_code = "13x".into(), "区划编码"),
        ];
        for (change, field) in table {
            let mut form = good();
            change(&mut form);
            match CreateCheckpoint::try_from(&form) {
                Err(AppError::Invalid(message)) => {
                    assert!(message.contains(field), "{field}: {message}")
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
