//! Moves in: a resident who changes grid (迁移网格, 迁入) takes their place in every open round's
//! target, exemption and unswabbed list to the new grid; a swab already counted stays where it
//! was taken.

use fangkong_domain::person_event::{RESIDENT_MOVED, ResidentMovedEvent};
use fangkong_store::RoundMove;

use super::*;

/// Where this consumer's cursor in the person-event stream is kept in `settings`.
const EVENT_CURSOR_SETTING: &str = "mass_testing.event_cursor";

impl App {
    /// Follows `resident_moved` person events into the open rounds' per-grid targets
    /// ([`Store::follow_move_in_rounds`]). Each move is applied in one transaction with this
    /// consumer's cursor, so a pass taken twice counts nothing twice. Returns the events read.
    pub async fn sync_testing_events(&self) -> AppResult<usize> {
        let mut total = 0;
        loop {
            let events = self
                .unread_person_events(EVENT_CURSOR_SETTING, 2_000)
                .await?;
            let Some(last) = events.last().map(|e| e.id) else {
                return Ok(total);
            };
            for event in events.iter().filter(|e| e.kind == RESIDENT_MOVED) {
                let (Some(resident_id), Ok(moved)) = (
                    event.resident_id,
                    serde_json::from_str::<ResidentMovedEvent>(&event.detail),
                ) else {
                    tracing::warn!(
                        event_id = event.id,
                        "move event without a resident or with an unreadable detail skipped"
                    );
                    continue;
                };
                self.store
                    .follow_move_in_rounds(
                        &RoundMove {
                            event_id: event.id,
                            resident_id,
                            id_type: event.id_type.clone(),
                            id_number: event.id_number.as_str().into(),
                            from_grid: moved.from_grid,
                            to_grid: moved.to_grid,
                        },
                        EVENT_CURSOR_SETTING,
                    )
                    .await?;
            }
            self.mark_person_events_read(EVENT_CURSOR_SETTING, last)
                .await?;
            total += events.len();
        }
    }
}
