//! Itinerary queries (行程查询): who passed a checkpoint or visited a venue in a window.

use super::*;

impl App {
    /// Who passed a checkpoint or visited a venue between two Beijing times (audited: tracing).
    pub async fn who_was_at(
        &self,
        actor: &Actor,
        place_kind: &str,
        place_id: i64,
        from: &str,
        to: &str,
    ) -> AppResult<Vec<ItineraryRow>> {
        actor.require(Permission::QueryItinerary)?;
        match place_kind {
            "venue" => {
                load_within(actor, self.store.venue(place_id)).await?;
            }
            "checkpoint" => {
                load_within(actor, self.store.checkpoint(place_id)).await?;
            }
            _ => return Err(AppError::Invalid("地点类型应为卡口或场所".into())),
        }
        let from = day_start_time(from, "开始时间")?;
        let to = day_start_time(to, "结束时间")?;
        if to <= from {
            return Err(AppError::Invalid("结束时间要晚于开始时间".into()));
        }
        if to - from > 31 * 86_400 {
            return Err(AppError::Invalid("一次最多查询31天".into()));
        }
        let stops = self
            .store
            .who_was_at(place_kind, place_id, from, to, WHO_WAS_AT_LIMIT + 1)
            .await?;
        // Never a silently shortened list: tracing would miss people.
        if stops.len() as i64 > WHO_WAS_AT_LIMIT {
            return Err(AppError::Invalid(format!(
                "该时段超过{WHO_WAS_AT_LIMIT}人次，请缩小时间范围分段查询"
            )));
        }
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "query_itinerary",
            &format!("{place_kind}:{place_id}"),
            &format!(
                "{} – {}: {} people",
                beijing_label(from),
                beijing_label(to),
                stops.len()
            ),
        )
        .await?;
        Ok(stops.into_iter().map(itinerary_row).collect())
    }

    /// One person's passages and venue visits (audited).
    pub async fn itinerary_of(
        &self,
        actor: &Actor,
        id_type: &str,
        id_number: &str,
        from: &str,
        to: &str,
    ) -> AppResult<Vec<ItineraryRow>> {
        actor.require(Permission::QueryItinerary)?;
        let document = parse_document(id_type, id_number)?;
        let person = CodePerson {
            id_type: document.id_type().code().to_string(),
            id_number: document.number().into(),
        };
        let from = day_start_time(from, "开始时间")?;
        let to = day_start_time(to, "结束时间")?;
        let (lower, _) = actor.jurisdiction_range();
        let stops: Vec<ItineraryStop> = self
            .store
            .itinerary_of(&person, from, to)
            .await?
            .into_iter()
            .collect();
        // Only stops at places inside the jurisdiction are shown to a county user; the province sees all.
        let mut places: HashMap<(String, i64), bool> = HashMap::new();
        let mut visible = Vec::new();
        for stop in stops {
            let key = (stop.place_kind.clone(), stop.place_id);
            let inside = match places.get(&key) {
                Some(v) => *v,
                None => {
                    let region = if stop.place_kind == "venue" {
                        self.store
                            .venue(stop.place_id)
                            .await?
                            .map(|v| v.region_code)
                    } else {
                        self.store
                            .checkpoint(stop.place_id)
                            .await?
                            .map(|c| c.region_code)
                    };
                    let v = region.is_some_and(|r| r.as_str().starts_with(&lower));
                    places.insert(key, v);
                    v
                }
            };
            if inside {
                visible.push(stop);
            }
        }
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "query_itinerary",
            &mask_document(&person.id_type, &person.id_number),
            &format!("{} stops", visible.len()),
        )
        .await?;
        Ok(visible.into_iter().map(itinerary_row).collect())
    }
}
