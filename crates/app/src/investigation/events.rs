//! Person events in: a single-tube positive opens an initial-screen case (初筛阳性) by itself.

use super::*;
use crate::EventCursor;

impl App {
    /// Opens initial-screen-positive cases from mass testing's single positives (at once after a
    /// results upload, and in the background pass). Returns the events read.
    pub async fn sync_case_events(&self) -> AppResult<usize> {
        let mut cursor = EventCursor::new(EVENT_CURSOR_SETTING, 2_000);
        while let Some(events) = cursor.next(self).await? {
            let regime = self.tracing_regime().await?;
            for event in events.iter().filter(|e| e.kind == "single_positive") {
                if self
                    .store
                    .open_case_of(&event.id_type, &event.id_number)
                    .await?
                    .is_some()
                {
                    continue;
                }
                let resident = match event.resident_id {
                    Some(id) => self.store.resident(id).await?,
                    None => None,
                };
                let region_code = if event.grid_code.is_empty() {
                    continue;
                } else {
                    event.grid_code.clone()
                };
                let (name, sex, birth, address, phone) = match &resident {
                    Some(r) => (
                        r.name.clone(),
                        r.sex.code().to_string(),
                        r.birth_date.clone(),
                        r.address.clone(),
                        r.phone.clone(),
                    ),
                    None => (
                        "（未登记）".into(),
                        String::new(),
                        String::new(),
                        Address::default(),
                        None,
                    ),
                };
                let case_event = CaseEvent {
                    case_id: 0,
                    case_kind: CaseKind::InitialScreenPositive.code().to_string(),
                    name: name.clone(),
                    address: address.clone(),
                    hospital: String::new(),
                };
                let write = CaseWrite {
                    case_key: format!("event:{}", event.id),
                    case_number_prefix: self.case_number_prefix(&region_code).await?,
                    kind: CaseKind::InitialScreenPositive.code().to_string(),
                    id_type: event.id_type.clone(),
                    id_number: event.id_number.as_str().into(),
                    resident_id: event.resident_id,
                    name,
                    sex,
                    birth_date: birth,
                    phone,
                    address,
                    grid_code: event.grid_code.clone(),
                    region_code,
                    onset_date: None,
                    first_positive_at: Some(event.at),
                    found_by: FoundBy::MassTesting.code().to_string(),
                    found_at: event.at,
                    severity: Severity::None.code().to_string(),
                    hospital: String::new(),
                    regime: regime.code().to_string(),
                    reported_at: None,
                    isolated_at: None,
                    infector_case_id: None,
                    infector_note: String::new(),
                    created_by: "system".into(),
                    created_at: self.now_unix(),
                    event_detail: case_event_template(&case_event),
                };
                self.store.insert_case(&write, None).await?;
            }
        }
        Ok(cursor.read())
    }
}
