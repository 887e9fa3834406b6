//! Specimen boxes (转运箱): packed at the site, handed over, received at the lab.

use super::*;

/// What a packing scan asked for, parsed: the box's barcode and the tube barcodes that read
/// (the unreadable ones are kept as lines to show, not refused: the other tubes still go in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackBox {
    pub box_code: String,
    pub tubes: Vec<TubeBarcode>,
    /// One line per scanned text that is not a tube barcode.
    pub unreadable: Vec<String>,
}

impl PackBox {
    /// Most tubes one box takes.
    pub const MAX_TUBES: usize = 1000;

    pub fn parse(box_barcode: &str, tubes: &[String]) -> AppResult<PackBox> {
        let box_code = parse_box_barcode(box_barcode).map_err(AppError::Invalid)?;
        if tubes.is_empty() || tubes.len() > Self::MAX_TUBES {
            return Err(AppError::Invalid(
                "请扫描要装箱的试管（每箱1到1000支）".into(),
            ));
        }
        let mut parsed = Vec::with_capacity(tubes.len());
        let mut unreadable = Vec::new();
        for raw in tubes {
            match TubeBarcode::parse(raw) {
                Ok(code) => parsed.push(code),
                Err(message) => unreadable.push(message),
            }
        }
        Ok(PackBox {
            box_code,
            tubes: parsed,
            unreadable,
        })
    }
}

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
        let PackBox {
            box_code,
            tubes,
            unreadable: mut problems,
        } = PackBox::parse(box_barcode, tubes)?;
        let site = self.sampling_site(actor, site_id).await?;
        let codes: Vec<String> = tubes.iter().map(|code| code.to_string()).collect();
        let verdicts = self
            .store
            .pack_box(
                &box_code,
                site.round_id,
                site.id,
                &codes,
                self.now_unix(),
                &actor.display_name,
                &audit_record(
                    self,
                    actor,
                    "create",
                    format!("specimen_box:{box_code}"),
                    format!("tubes:{}", codes.len()),
                ),
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
        Ok(problems)
    }

    /// Courier pick-up (揽收) or lab receipt (签收) of a box, by scanning its barcode; the change and
    /// its audit record are one transaction (a repeated scan writes neither).
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
        let audit = audit_record(
            self,
            actor,
            "update",
            format!("specimen_box:{box_code}"),
            if receive { "received" } else { "picked_up" },
        );
        if receive {
            if actor.role != Role::Lab
                && actor.role != Role::Commander
                && actor.role != Role::Administrator
            {
                return Err(AppError::Forbidden { role: actor.role });
            }
            self.store
                .box_received(&box_code, &actor.display_name, now, &audit)
                .await?;
        } else {
            self.store
                .box_picked_up(&box_code, &actor.display_name, now, &audit)
                .await?;
        }
        self.store
            .specimen_box(&box_code)
            .await?
            .ok_or(AppError::NotFound("该转运箱"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packing_scan_keeps_the_tubes_that_read_and_names_the_rest() {
        let tube = TubeBarcode::from_serial(1234).unwrap();
        let command = PackBox::parse(" box-01 ", &[tube.to_string(), "not-a-tube".into()]).unwrap();
        assert_eq!(command.box_code, "BOX-01");
        assert_eq!(command.tubes, vec![tube]);
        assert_eq!(command.unreadable.len(), 1);
    }

    #[test]
    fn a_bad_box_or_an_empty_or_overfull_box_is_refused() {
        let tube = TubeBarcode::from_serial(1).unwrap().to_string();
        let overfull = vec![tube.clone(); PackBox::MAX_TUBES + 1];
        let table: [(&str, &[String], &str); 3] = [
            ("箱", std::slice::from_ref(&tube), "转运箱码"),
            ("BOX-01", &[], "装箱的试管"),
            ("BOX-01", &overfull, "装箱的试管"),
        ];
        for (box_code, tubes, words) in table {
            match PackBox::parse(box_code, tubes) {
                Err(AppError::Invalid(message)) => {
                    assert!(message.contains(words), "{words}: {message}")
                }
                other => panic!("{words}: {other:?}"),
            }
        }
    }
}
