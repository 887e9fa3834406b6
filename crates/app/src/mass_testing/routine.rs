//! Routine testing of key groups (重点人群): who is overdue by their schedule.

use super::*;

impl App {
    /// Key-group members in a region overdue for their routine test under `schedule`.
    pub async fn key_group_overdue(
        &self,
        actor: &Actor,
        region_code: &str,
        group: KeyGroup,
        schedule: &RoutineSchedule,
    ) -> AppResult<KeyGroupOverdue> {
        actor.require(Permission::ViewPopulation)?;
        let code = region_in_jurisdiction(actor, region_code)?;
        if code.level() < RegionLevel::County {
            return Err(AppError::Invalid(
                "重点人群逾期名单请按县（区）或以下查看".into(),
            ));
        }
        let hours = schedule.interval_hours(group).unwrap_or(168);
        let (lower, upper) = code.subtree_range();
        let people = self
            .store
            .key_group_overdue(
                (&lower, &upper),
                group.code(),
                self.now_unix() - hours * 3600,
                1000,
            )
            .await?
            .into_iter()
            .map(|p| OverdueView {
                resident_id: p.id,
                id_number_masked: mask_document(&p.id_type, &p.id_number),
                name: p.name.into(),
                grid_code: p.grid_code,
                last_sampled_at: p.last_sampled_at,
            })
            .collect();
        Ok(KeyGroupOverdue {
            schedule: schedule.name,
            group,
            group_label: group.label_zh(),
            interval_hours: hours,
            interval_label: RoutineSchedule::interval_label_zh(hours),
            people,
        })
    }

    /// The routine schedules the pages offer.
    pub fn routine_schedules(&self) -> &'static [RoutineSchedule] {
        &ROUTINE_SCHEDULES
    }
}
