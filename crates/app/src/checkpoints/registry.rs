//! The checkpoint registry (卡口): checkpoints, their lines and staff.

use super::*;

impl App {
    pub async fn create_checkpoint(&self, actor: &Actor, form: &CheckpointForm) -> AppResult<i64> {
        actor.require(Permission::ManageCheckpoints)?;
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
        actor.require_within(&region)?;
        if self.store.region(region.as_str()).await?.is_none() {
            return Err(AppError::Invalid(format!(
                "区划编码“{}”不存在",
                region.as_str()
            )));
        }
        let id = self
            .store
            .insert_checkpoint(
                name,
                kind.code(),
                line.code(),
                region.as_str(),
                self.now_unix(),
                &actor.username,
            )
            .await?;
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "create_checkpoint",
            &id.to_string(),
            name,
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
                    colour_label: p
                        .colour
                        .as_deref()
                        .and_then(CodeColour::from_code)
                        .map(|c| c.label_zh())
                        .unwrap_or("—"),
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
