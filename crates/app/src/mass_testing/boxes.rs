//! Specimen boxes (转运箱): packed at the site, handed over, received at the lab.

use super::*;

impl App {
    /// Packs closed tubes into a box at the site (装箱). Returns a line per tube that was not packed.
    pub async fn pack_box(
        &self,
        actor: &Actor,
        site_id: i64,
        box_barcode: &str,
        tubes: &[String],
    ) -> AppResult<Vec<String>> {
        actor.require(Permission::SampleSpecimens)?;
        let site = self.sampling_site(actor, site_id).await?;
        let box_code = parse_box_barcode(box_barcode).map_err(AppError::Invalid)?;
        if tubes.is_empty() || tubes.len() > 1000 {
            return Err(AppError::Invalid(
                "请扫描要装箱的试管（每箱1到1000支）".into(),
            ));
        }
        let mut problems = Vec::new();
        let mut codes = Vec::new();
        for raw in tubes {
            match TubeBarcode::parse(raw) {
                Ok(code) => codes.push(code.to_string()),
                Err(message) => problems.push(message),
            }
        }
        let verdicts = self
            .store
            .pack_box(
                &box_code,
                site.round_id,
                site.id,
                &codes,
                self.now_unix(),
                &actor.display_name,
            )
            .await?
            .map_err(|reason| match reason {
                "box_gone" => {
                    AppError::Conflict(format!("转运箱{box_code}已被取走，不能再装；请换一个箱子"))
                }
                _ => AppError::Conflict(format!("转运箱{box_code}属于其他轮次；请换一个箱子")),
            })?;
        for (code, verdict) in codes.iter().zip(verdicts) {
            if let Some(reason) = verdict {
                problems.push(format!(
                    "试管{code}：{}",
                    match reason {
                        "unknown_tube" => "系统中没有这支试管（还没有绑定任何人）",
                        "tube_of_other_round" => "属于其他轮次",
                        "tube_open" => "还没有封管，请先封管",
                        _ => "已装在其他转运箱",
                    }
                ));
            }
        }
        audit_by(
            self,
            actor,
            "create",
            &format!("specimen_box:{box_code}"),
            &format!("tubes:{}", codes.len()),
        )
        .await?;
        Ok(problems)
    }

    /// Courier pick-up (揽收) or lab receipt (签收) of a box, by scanning its barcode.
    pub async fn hand_over_box(
        &self,
        actor: &Actor,
        box_barcode: &str,
        receive: bool,
    ) -> AppResult<BoxRecord> {
        actor.require(Permission::HandleSpecimens)?;
        let box_code = parse_box_barcode(box_barcode).map_err(AppError::Invalid)?;
        let found = self
            .store
            .specimen_box(&box_code)
            .await?
            .ok_or(AppError::NotFound("该转运箱（请确认已在采样点装箱）"))?;
        load_within(actor, self.store.site(found.site_id)).await?;
        let now = self.now_unix();
        let changed = if receive {
            if actor.role != Role::Lab
                && actor.role != Role::Commander
                && actor.role != Role::Administrator
            {
                return Err(AppError::Forbidden { role: actor.role });
            }
            self.store
                .box_received(&box_code, &actor.display_name, now)
                .await?
        } else {
            self.store
                .box_picked_up(&box_code, &actor.display_name, now)
                .await?
        };
        if changed {
            audit_by(
                self,
                actor,
                "update",
                &format!("specimen_box:{box_code}"),
                if receive { "received" } else { "picked_up" },
            )
            .await?;
        }
        self.store
            .specimen_box(&box_code)
            .await?
            .ok_or(AppError::NotFound("该转运箱"))
    }
}
