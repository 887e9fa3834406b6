//! Antigen self-tests (抗原自测): a resident's report with an optional photo; the reports a grid sees.

use super::*;

impl App {
    /// Records an antigen self-test. A resident reports for themself; a grid worker for a resident
    /// of the grid. A positive becomes a PCR recheck task routed to the grid.
    pub async fn report_antigen(
        &self,
        actor: &Actor,
        form: &AntigenForm,
        photo: Option<(&[u8], &str)>,
    ) -> AppResult<i64> {
        actor.require(Permission::ReportAntigen)?;
        let resident_id = if actor.role == Role::Resident {
            self.store
                .user_resident_id(actor.user_id)
                .await?
                .ok_or_else(|| {
                    AppError::Invalid("您的账号还没有关联到实有人口登记，请联系社区网格员".into())
                })?
        } else {
            form.resident_id
                .trim()
                .parse::<i64>()
                .map_err(|_| AppError::Invalid("请选择上报的居民".into()))?
        };
        let resident = load_within(actor, self.store.resident(resident_id)).await?;
        let result = TestResult::parse(&form.result)
            .ok_or_else(|| AppError::Invalid("请选择抗原结果：阴性、阳性或无效".into()))?;
        let now = self.now_unix();
        let tested_at = if form.tested_at.trim().is_empty() {
            now
        } else {
            let local =
                chrono::NaiveDateTime::parse_from_str(form.tested_at.trim(), "%Y-%m-%dT%H:%M")
                    .map_err(|_| AppError::Invalid("检测时间格式应为“2022-01-10T08:30”".into()))?;
            let t = china_offset()
                .from_local_datetime(&local)
                .single()
                .map(|t| t.timestamp())
                .unwrap_or(now);
            if t > now + 600 || t < now - 7 * 86_400 {
                return Err(AppError::Invalid(
                    "检测时间应在最近7天内，且不能晚于现在".into(),
                ));
            }
            t
        };
        if let Some((bytes, kind)) = photo {
            if bytes.len() > 4 * 1024 * 1024 {
                return Err(AppError::Invalid("照片不能超过4MB".into()));
            }
            if !matches!(kind, "image/jpeg" | "image/png" | "image/webp") {
                return Err(AppError::Invalid("照片应为JPG、PNG或WEBP格式".into()));
            }
        }
        let id = self
            .store
            .insert_antigen_report(
                &resident.id_type,
                &resident.id_number,
                &resident.name,
                Some(resident.id),
                &resident.grid_code,
                tested_at,
                result.code(),
                photo,
                now,
                &actor.display_name,
            )
            .await?;
        audit_by(
            self,
            actor,
            "create",
            &format!("antigen_report:{id}"),
            &format!("resident:{}", resident.id),
        )
        .await?;
        self.feed_health_codes().await;
        Ok(id)
    }

    pub async fn antigen_reports(
        &self,
        actor: &Actor,
        region_code: &str,
    ) -> AppResult<Vec<(AntigenReportRecord, String)>> {
        actor.require(Permission::ViewPopulation)?;
        let code = region_in_jurisdiction(actor, region_code)?;
        let (lower, upper) = code.subtree_range();
        Ok(self
            .store
            .antigen_reports((&lower, &upper), 500)
            .await?
            .into_iter()
            .map(|r| {
                let masked = mask_document(&r.id_type, &r.id_number);
                (r, masked)
            })
            .collect())
    }
}
