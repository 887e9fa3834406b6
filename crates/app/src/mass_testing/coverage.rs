//! Coverage (应检尽检): a grid's sampled and missing people, exemptions with a reason.

use super::*;

/// An exemption as asked for: the reason, and the proof (needed for 不在本地), at most 200
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetExemption {
    pub kind: ExemptionKind,
    pub note: String,
}

impl SetExemption {
    pub fn parse(kind: &str, note: &str) -> AppResult<SetExemption> {
        let kind = ExemptionKind::from_code(kind.trim()).ok_or_else(|| {
            AppError::Invalid("请选择免采原因：卧床（上门采样）或不在本地".into())
        })?;
        let note = note.trim();
        if kind == ExemptionKind::Away && note.is_empty() {
            return Err(AppError::Invalid(
                "不在本地须写明证明（如外地核酸报告、车票、单位证明）".into(),
            ));
        }
        Ok(SetExemption {
            kind,
            note: note.chars().take(200).collect(),
        })
    }
}

impl App {
    /// One grid's coverage in a round with the list of residents not yet swabbed.
    pub async fn grid_coverage(
        &self,
        actor: &Actor,
        round_id: i64,
        grid_code: &str,
    ) -> AppResult<GridCoverage> {
        actor.require(Permission::ViewPopulation)?;
        let round = self.visible_round(actor, round_id).await?;
        let grid = parse_region_code(grid_code)?;
        if grid.level() != RegionLevel::Grid {
            return Err(AppError::Invalid(
                "未采样名单按网格查看：请选择一个网格".into(),
            ));
        }
        actor.require_within(&grid)?;
        let (lower, upper) = grid.subtree_range();
        let mut line = CoverageLine {
            code: grid.as_str().to_string(),
            name: self.region_name(&grid).await?,
            target: 0,
            exempt: 0,
            sampled: 0,
            outside: 0,
            walk_ins: 0,
            per_mille: 0,
        };
        for row in self
            .store
            .round_progress(round_id, (&lower, &upper))
            .await?
        {
            line.add(&row);
        }
        line.finish();
        let cutoff = self
            .infant_cutoff_of(&round)
            .map(|d| d.format("%Y-%m-%d").to_string());
        let today = self.today();
        let mut missing = Vec::new();
        let mut exempted = Vec::new();
        for r in self
            .store
            .missing_in_grid(round_id, grid.as_str(), cutoff.as_deref())
            .await?
        {
            let exemption = r.exemption;
            let birth = NaiveDate::parse_from_str(&r.birth_date, "%Y-%m-%d").ok();
            let view = MissingView {
                resident_id: r.id,
                id_number_masked: mask_document(&r.id_type, &r.id_number),
                age: birth.map_or(0, |b| {
                    fangkong_domain::mass_testing::age_in_months(b, today) / 12
                }),
                phone_masked: crate::population::mask_phone(r.phone.as_deref()),
                name: r.name.into(),
                address: r.address.into(),
                household_number: r.household_number,
                exemption,
                exemption_label: exemption
                    .map(|e| e.label_zh().to_string())
                    .unwrap_or_default(),
                exemption_note: r.exemption_note.unwrap_or_default(),
            };
            if exemption.is_some() {
                exempted.push(view);
            } else {
                missing.push(view);
            }
        }
        Ok(GridCoverage {
            grid_name: line.name.clone(),
            grid_code: grid.as_str().to_string(),
            round: self.round_view(round).await?,
            line,
            missing,
            exempted,
        })
    }

    /// Marks a resident exempt in a round (bedridden → door-to-door sampling; away, with proof).
    /// Parsed into [`SetExemption`] first; the exemption, the grid's count and the audit record are
    /// one transaction.
    pub async fn set_exemption(
        &self,
        actor: &Actor,
        round_id: i64,
        resident_id: i64,
        kind: &str,
        note: &str,
    ) -> AppResult<()> {
        actor.require(Permission::SampleSpecimens)?;
        let command = SetExemption::parse(kind, note)?;
        self.visible_round(actor, round_id).await?;
        let resident = load_within(actor, self.store.resident(resident_id)).await?;
        self.store
            .set_exemption(
                round_id,
                resident_id,
                &resident.grid_code,
                command.kind.code(),
                &command.note,
                self.now_unix(),
                &actor.display_name,
                &audit_record(
                    self,
                    actor,
                    "update",
                    format!("resident:{resident_id}"),
                    format!("exemption:{}:{round_id}", command.kind.code()),
                ),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exemption_is_a_reason_and_bounded_words() {
        assert_eq!(
            SetExemption::parse(" bedridden ", " ").unwrap(),
            SetExemption {
                kind: ExemptionKind::Bedridden,
                note: String::new(),
            }
        );
        let long = SetExemption::parse("away", &"票".repeat(300)).unwrap();
        assert_eq!(long.note.chars().count(), 200);
        for (kind, note, words) in [("asleep", "", "免采原因"), ("away", " ", "证明")] {
            match SetExemption::parse(kind, note) {
                Err(AppError::Invalid(message)) => {
                    assert!(message.contains(words), "{words}: {message}")
                }
                other => panic!("{words}: {other:?}"),
            }
        }
    }
}
