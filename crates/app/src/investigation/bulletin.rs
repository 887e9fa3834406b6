//! The case bulletin (病例通报): the public text of each case since a date.

use super::*;

impl App {
    /// The anonymised text of one case for the public bulletin: sex, age, the village, the public
    /// stops — never a name, ID number, phone or house number.
    pub(crate) async fn bulletin_text(
        &self,
        case: &CaseRecord,
        stops: &[CaseStopRecord],
        ordinal: usize,
    ) -> AppResult<String> {
        let village = case
            .region_code
            .as_str()
            .get(..12)
            .unwrap_or(case.region_code.as_str());
        let place = self.region_path_name(village).await?;
        let age = NaiveDate::parse_from_str(&case.birth_date, "%Y-%m-%d")
            .ok()
            .map(|b| format!("{}岁", age_on(b, self.today())))
            .unwrap_or_default();
        let label = if ordinal > 0 {
            format!("病例{ordinal}")
        } else {
            case.kind.label_zh().to_string()
        };
        let sex = case.sex.map_or("", |sex| sex.label_zh());
        let mut text = format!(
            "{label}：{sex}{}{}，现住{place}。",
            if sex.is_empty() || age.is_empty() {
                ""
            } else {
                "，"
            },
            age
        );
        if !case.public_summary.is_empty() {
            text.push_str(&case.public_summary);
            if !case.public_summary.ends_with('。') {
                text.push('。');
            }
        }
        for stop in stops.iter().filter(|s| s.public) {
            let from = china_offset().timestamp_opt(stop.from_at, 0).single();
            let to = stop
                .to_at
                .and_then(|t| china_offset().timestamp_opt(t, 0).single());
            if let Some(from) = from {
                text.push_str(&from.format("%-m月%-d日%H:%M").to_string());
                if let Some(to) = to {
                    text.push_str(&format!("至{}", to.format("%H:%M")));
                }
                text.push_str(&format!("，{}；", stop.place_name));
            }
        }
        if text.ends_with('；') {
            text.pop();
            text.push('。');
        }
        Ok(text)
    }

    pub(super) async fn region_path_name(&self, code: &str) -> AppResult<String> {
        let mut names = Vec::new();
        for len in [6usize, 9, 12] {
            if let Some(prefix) = code.get(..len)
                && let Some(r) = self.store.region(prefix).await?
            {
                names.push(r.name);
            }
        }
        Ok(if names.is_empty() {
            code.to_string()
        } else {
            names.concat()
        })
    }

    /// The public bulletin of the jurisdiction's cases found since `since` (a Beijing date), oldest
    /// first: the newest 500 texts, and how many cases there are in all. When older cases were left
    /// out, the numbering still counts them (the first text shown of 620 is “病例121”).
    pub async fn case_bulletin(
        &self,
        actor: &Actor,
        since: NaiveDate,
    ) -> AppResult<crate::Page<String>> {
        actor.require(Permission::ViewInvestigation)?;
        let (lower, upper) = actor.jurisdiction_range();
        let range = (lower.as_str(), upper.as_str());
        let since = beijing_midnight(since);
        let total = self.store.count_bulletin_cases(range, since).await?;
        let cases = self.store.bulletin_cases(range, since, 500).await?;
        let left_out = (total - cases.len() as i64).max(0) as usize;
        let mut texts = Vec::with_capacity(cases.len());
        for (i, case) in cases.iter().rev().enumerate() {
            let stops = self.store.case_stops(case.id).await?;
            texts.push(self.bulletin_text(case, &stops, left_out + i + 1).await?);
        }
        Ok(crate::Page::new(texts, total))
    }
}
