//! Antigen self-tests (抗原自测): a resident's report with an optional photo; the reports a grid sees.

use super::*;

/// An antigen self-test as reported, parsed: whose (staff name the resident; a resident reports
/// for themself), the result and when it was taken (Beijing time; None = now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportAntigen {
    /// None when the form names nobody (a resident reporting for themself).
    pub resident_id: Option<i64>,
    pub result: TestResult,
    /// Unix seconds of the Beijing time typed.
    pub tested_at: Option<i64>,
}

/// The refusal when staff report without naming the resident.
fn choose_resident() -> AppError {
    AppError::Invalid("请选择上报的居民".into())
}

impl TryFrom<&AntigenForm> for ReportAntigen {
    type Error = AppError;

    fn try_from(form: &AntigenForm) -> Result<Self, AppError> {
        let resident_id = match form.resident_id.trim() {
            "" => None,
            raw => Some(raw.parse::<i64>().map_err(|_| choose_resident())?),
        };
        let result = TestResult::parse(&form.result)
            .ok_or_else(|| AppError::Invalid("请选择抗原结果：阴性、阳性或无效".into()))?;
        let tested_at = if form.tested_at.trim().is_empty() {
            None
        } else {
            // The browser's date-and-time field: a time of day is needed (the 7-day window
            // below is counted to the minute).
            let at = fangkong_domain::time::parse_beijing_minute(&form.tested_at, "检测时间")
                .map_err(|_| AppError::Invalid("检测时间格式应为“2022-01-10T08:30”".into()))?;
            Some(at.timestamp())
        };
        Ok(ReportAntigen {
            resident_id,
            result,
            tested_at,
        })
    }
}

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
        let command = ReportAntigen::try_from(form)?;
        if actor.role != Role::Resident && command.resident_id.is_none() {
            return Err(choose_resident());
        }
        if let Some((bytes, kind)) = photo {
            if bytes.len() > 4 * 1024 * 1024 {
                return Err(AppError::Invalid("照片不能超过4MB".into()));
            }
            if !matches!(kind, "image/jpeg" | "image/png" | "image/webp") {
                return Err(AppError::Invalid("照片应为JPG、PNG或WEBP格式".into()));
            }
        }
        let now = self.now_unix();
        let tested_at = match command.tested_at {
            None => now,
            Some(t) => {
                if t > now + 600 || t < now - 7 * 86_400 {
                    return Err(AppError::Invalid(
                        "检测时间应在最近7天内，且不能晚于现在".into(),
                    ));
                }
                t
            }
        };
        let resident_id = match command.resident_id {
            // A resident reports only for themself, whatever the form names.
            Some(id) if actor.role != Role::Resident => id,
            _ => self
                .store
                .user_resident_id(actor.user_id)
                .await?
                .ok_or_else(|| {
                    AppError::Invalid("您的账号还没有关联到实有人口登记，请联系社区网格员".into())
                })?,
        };
        let resident = load_within(actor, self.store.resident(resident_id)).await?;
        let id = self
            .store
            .insert_antigen_report(
                &resident.id_type,
                &resident.id_number,
                &resident.name,
                Some(resident.id),
                &resident.grid_code,
                tested_at,
                command.result.code(),
                photo,
                now,
                &actor.display_name,
                &audit_record(
                    self,
                    actor,
                    "create",
                    "",
                    format!("resident:{}", resident.id),
                ),
            )
            .await?;
        self.feed_health_codes().await;
        Ok(id)
    }

    /// The newest antigen reports of the region (at most 500) with their ID numbers masked, and how
    /// many there are in all.
    pub async fn antigen_reports(
        &self,
        actor: &Actor,
        region_code: &str,
    ) -> AppResult<crate::Page<(AntigenReportRecord, String)>> {
        actor.require(Permission::ViewPopulation)?;
        let code = region_in_jurisdiction(actor, region_code)?;
        let (lower, upper) = code.subtree_range();
        let range = (lower.as_str(), upper.as_str());
        let total = self.store.count_antigen_reports(range).await?;
        let rows = self
            .store
            .antigen_reports(range, 500)
            .await?
            .into_iter()
            .map(|r| {
                let masked = mask_document(&r.id_type, &r.id_number);
                (r, masked)
            })
            .collect();
        Ok(crate::Page::new(rows, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_parsed_whole_before_anything_is_read() {
        let form = AntigenForm {
            resident_id: " 42 ".into(),
            result: "positive".into(),
            tested_at: "2022-11-20T08:30".into(),
        };
        assert_eq!(
            ReportAntigen::try_from(&form).unwrap(),
            ReportAntigen {
                resident_id: Some(42),
                result: TestResult::Positive,
                // 2022-11-20 08:30 Beijing.
                tested_at: Some(1_668_904_200),
            }
        );
        let own = ReportAntigen::try_from(&AntigenForm {
            resident_id: String::new(),
            tested_at: String::new(),
            ..form.clone()
        })
        .unwrap();
        assert_eq!((own.resident_id, own.tested_at), (None, None));
        type Change = fn(&mut AntigenForm);
        let table: [(Change, &str); 3] = [
            (|f| f.resident_id = "王".into(), "上报的居民"),
            (|f| f.result = "maybe".into(), "抗原结果"),
            (|f| f.tested_at = "20日上午".into(), "检测时间"),
        ];
        for (change, field) in table {
            let mut bad = form.clone();
            change(&mut bad);
            match ReportAntigen::try_from(&bad) {
                Err(AppError::Invalid(message)) => {
                    assert!(message.contains(field), "{field}: {message}")
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
