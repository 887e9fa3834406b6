//! Home isolation and monitoring (居家隔离): check-ins, missed check-ins, door alarms.

use fangkong_domain::isolation::measures::{self as measure_rules, MeasureWork};

use super::measures::{measure_state, refused};
use super::*;

impl App {
    pub async fn home_board(&self, actor: &Actor) -> AppResult<HomeBoard> {
        actor.require(Permission::ViewIsolation)?;
        actor.require(Permission::RecordHomeCheckIns)?;
        let (lower, upper) = actor.jurisdiction_range();
        let today = self.today();
        let yesterday = (today - Days::new(1)).to_string();
        let today_text = today.to_string();
        let people: Vec<HomeView> = self
            .store
            .home_rows((&lower, &upper), LIST_LIMIT)
            .await?
            .into_iter()
            .map(|h| {
                let last = h.last_check_in_day.clone().unwrap_or_default();
                HomeView {
                    measure_id: h.measure_id,
                    name: mask_middle(&h.name, 1, 0),
                    id_number_masked: mask_document(&h.id_type, &h.id_number),
                    grid_code: h.grid_code,
                    category_label: h.category.label_zh(),
                    end_date: h.end_date,
                    missed_today: last < today_text,
                    missed_yesterday: last < yesterday,
                    last_check_in_day: last,
                    last_fever: h.last_fever.unwrap_or(false),
                    alarms: h.alarms,
                }
            })
            .collect();
        let alarms = self
            .store
            .door_alarms((&lower, &upper), 100)
            .await?
            .into_iter()
            .map(|a| AlarmView {
                id: a.id,
                measure_id: a.measure_id,
                name: mask_middle(&a.name, 1, 0),
                grid_code: a.grid_code,
                device_id: a.device_id,
                kind_label: alarm_label(&a.kind).to_string(),
                at: a.at,
                note: a.note,
            })
            .collect();
        // Counted over everyone at home, not only the rows shown.
        let (total, missed) = self.store.home_counts((&lower, &upper), &yesterday).await?;
        Ok(HomeBoard {
            people: crate::Page::new(people, total),
            missed,
            alarms,
        })
    }

    /// A daily check-in of a person at home, by their grid worker (or site staff).
    pub async fn home_check_in(
        &self,
        actor: &Actor,
        measure_id: i64,
        reading: &str,
        symptoms: &str,
    ) -> AppResult<bool> {
        actor.require(Permission::RecordHomeCheckIns)?;
        let m = self.measure_in_jurisdiction(actor, measure_id).await?;
        measure_rules::permits(measure_state(&m)?.status, MeasureWork::AtHome).map_err(refused)?;
        self.write_check_in(actor, &m, "home", reading, symptoms)
            .await
    }

    /// The resident's own measure (if any).
    pub async fn my_measure(&self, actor: &Actor) -> AppResult<MyMeasure> {
        actor.require(Permission::RecordHomeCheckIns)?;
        let resident = self.own_resident(actor).await?;
        let Some(m) = self
            .store
            .open_measure_of(&resident.id_type, &resident.id_number)
            .await?
        else {
            return Ok(MyMeasure {
                measure: None,
                checked_in_today: false,
            });
        };
        let detail = self.detail_of(&m).await?;
        let today = self.today().to_string();
        let checked_in_today = self
            .store
            .check_ins_of(m.id, 5)
            .await?
            .iter()
            .any(|c| c.place == "home" && c.day == today);
        Ok(MyMeasure {
            measure: Some(detail),
            checked_in_today,
        })
    }

    /// A resident checks in for themself (temperature, symptoms).
    pub async fn my_home_check_in(
        &self,
        actor: &Actor,
        reading: &str,
        symptoms: &str,
    ) -> AppResult<bool> {
        actor.require(Permission::RecordHomeCheckIns)?;
        let resident = self.own_resident(actor).await?;
        let m = self
            .store
            .open_measure_of(&resident.id_type, &resident.id_number)
            .await?
            .filter(|m| measure_rules::permits(m.status, MeasureWork::AtHome).is_ok())
            .ok_or_else(|| {
                AppError::Invalid("您目前不在居家隔离或居家健康监测中，不需要打卡".into())
            })?;
        self.write_check_in(actor, &m, "home", reading, symptoms)
            .await
    }

    /// A door sensor's alarm (技防入户/门磁) at the home of a person isolated at home.
    pub async fn record_door_alarm(
        &self,
        actor: &Actor,
        measure_id: i64,
        device_id: &str,
        kind: &str,
        note: &str,
    ) -> AppResult<i64> {
        actor.require(Permission::RecordHomeCheckIns)?;
        let m = self.measure_in_jurisdiction(actor, measure_id).await?;
        measure_rules::permits(measure_state(&m)?.status, MeasureWork::AtHome).map_err(refused)?;
        let kind = kind.trim();
        if !ALARM_KINDS.iter().any(|(k, _)| *k == kind) {
            return Err(AppError::Invalid(format!(
                "未知的报警类型“{kind}”，可选：door_opened、tamper、offline"
            )));
        }
        let device = device_id.trim();
        if device.is_empty() || device.len() > 64 {
            return Err(AppError::Invalid("请提供门磁设备编号（64字符以内）".into()));
        }
        let now = self.now_unix();
        let id = self
            .store
            .insert_door_alarm(
                m.id,
                device,
                kind,
                now,
                now,
                &note.trim().chars().take(200).collect::<String>(),
            )
            .await?;
        Ok(id)
    }
}
