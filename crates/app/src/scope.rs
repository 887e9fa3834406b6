//! The jurisdiction boundary for targets: the one scoped loader, [`load_within`], through which an
//! app function fetches a record by id, and who may see a run (a residents import, a lead push
//! import, a lab upload) or an audit entry — the user who did it, and users whose jurisdiction
//! contains that user's jurisdiction.
//!
//! Every record a user can name by id is [`Placed`]: it says which region it belongs to. Fetching it
//! through [`load_within`] answers a record outside the actor's jurisdiction exactly like a missing
//! one (`NotFound`, 404), so ids cannot be enumerated, and a new function cannot forget the check:
//! the architecture test allows the region comparison itself only in this file and `lib.rs`.

use std::collections::HashMap;
use std::future::Future;

use fangkong_domain::ids::mask_middle;
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_store::command::duty::{RosterRecord, SpotCheckRecord};
use fangkong_store::command::incidents::IncidentRecord;
use fangkong_store::command::reports::DailyReportRecord;
use fangkong_store::investigation::{CaseRecord, ContactRecord};
use fangkong_store::isolation::{
    HospitalRecord, IsolationSiteRecord, MeasureRecord, TransferRecord, VehicleRecord,
};
use fangkong_store::warning::emergency::TaskRecord;
use fangkong_store::warning::triggers::AlertRecord;
use fangkong_store::{
    AppealRecord, CheckpointRecord, FactRecord, HouseholdRecord, LeadRecord, ResidentRecord,
    RiskAreaRecord, RoundRecord, SiteRecord, StoreError, VenueRecord,
};

use crate::{Actor, App, AppError, AppResult};

/// A record that belongs to one place of the region tree.
pub trait Placed {
    /// What a user calls one, for the not-found answer ("该病例").
    const WHAT: &'static str;
    /// The region code (a grid, a village, a county…) the record belongs to.
    fn place(&self) -> &str;
}

/// The one way an app function fetches a target by id: `lookup` (a store query) and then the
/// jurisdiction check; missing and foreign records both answer `NotFound(T::WHAT)`.
pub(crate) async fn load_within<T: Placed>(
    actor: &Actor,
    lookup: impl Future<Output = Result<Option<T>, StoreError>>,
) -> AppResult<T> {
    let record = lookup.await?.ok_or(AppError::NotFound(T::WHAT))?;
    ensure_within(actor, &record)?;
    Ok(record)
}

/// The check of [`load_within`] for a record already in hand.
pub(crate) fn ensure_within<T: Placed>(actor: &Actor, record: &T) -> AppResult<()> {
    let place = RegionCode::parse(record.place()).map_err(AppError::internal)?;
    actor.require_found_within(&place, T::WHAT)
}

/// The places of the records users name by id: which column says where each one belongs.
macro_rules! placed {
    ($($record:ty => $field:ident, $what:literal;)*) => {
        $(impl Placed for $record {
            const WHAT: &'static str = $what;
            fn place(&self) -> &str {
                self.$field.as_str()
            }
        })*
    };
}

placed! {
    ResidentRecord => grid_code, "该居民";
    HouseholdRecord => grid_code, "该户";
    CaseRecord => region_code, "该病例";
    ContactRecord => case_region_code, "该接触者";
    LeadRecord => grid_code, "该线索";
    MeasureRecord => grid_code, "该管控人员";
    IsolationSiteRecord => region_code, "该隔离点";
    VehicleRecord => region_code, "该车辆";
    HospitalRecord => region_code, "该医院";
    TransferRecord => region_code, "该转运任务";
    RoundRecord => region_code, "该检测轮次";
    SiteRecord => region_code, "该采样点";
    RiskAreaRecord => region_code, "该风险区域";
    CheckpointRecord => region_code, "该卡口";
    VenueRecord => region_code, "该场所";
    FactRecord => grid_code, "该赋码记录";
    AppealRecord => grid_code, "该申诉";
    RosterRecord => office_code, "该排班";
    SpotCheckRecord => office_code, "该抽查";
    DailyReportRecord => office_code, "该日报告";
    IncidentRecord => office_code, "该事项";
    AlertRecord => region_code, "该预警";
    TaskRecord => region_code, "该应急任务";
}

impl App {
    /// Whether `actor` may see work done by `username`: their own, or by a user whose jurisdiction
    /// lies inside the actor's. Work of a username no user has (any more) is seen only at province
    /// level.
    pub(crate) async fn sees_work_of(&self, actor: &Actor, username: &str) -> AppResult<bool> {
        if username == actor.username {
            return Ok(true);
        }
        Ok(match self.store.user_by_username(username).await? {
            Some(user) => actor.jurisdiction.contains(&user.jurisdiction),
            None => actor.jurisdiction.level() == RegionLevel::Province,
        })
    }

    /// [`App::sees_work_of`] for many records, looking each username up once.
    pub(crate) async fn filter_seen<T>(
        &self,
        actor: &Actor,
        records: Vec<T>,
        username: impl Fn(&T) -> &str,
    ) -> AppResult<Vec<T>> {
        let mut seen: HashMap<String, bool> = HashMap::new();
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            let name = username(&record).to_string();
            let visible = match seen.get(&name) {
                Some(&v) => v,
                None => {
                    let v = self.sees_work_of(actor, &name).await?;
                    seen.insert(name, v);
                    v
                }
            };
            if visible {
                out.push(record);
            }
        }
        Ok(out)
    }
}

/// A username as the audit log shows it: one that looks like a mainland ID number (18 characters,
/// digits and a final X) or a mobile number (11 digits starting with 1) — typed into the username
/// box at a failed login — is masked like the register masks them.
pub fn masked_username(username: &str) -> String {
    let bytes = username.as_bytes();
    let id_like = bytes.len() == 18
        && bytes[..17].iter().all(u8::is_ascii_digit)
        && (bytes[17].is_ascii_digit() || bytes[17] == b'X' || bytes[17] == b'x');
    let phone_like = bytes.len() == 11 && bytes[0] == b'1' && bytes.iter().all(u8::is_ascii_digit);
    if id_like {
        mask_middle(username, 6, 4)
    } else if phone_like {
        mask_middle(username, 3, 4)
    } else {
        username.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::masked_username;

    #[test]
    fn usernames_that_look_like_an_id_number_or_a_phone_are_masked() {
        assert_eq!(masked_username("130109198012230013"), "130109********0013");
        assert_eq!(masked_username("13010919801223001x"), "130109********001x");
        assert_eq!(masked_username("13912345678"), "139****5678");
        assert_eq!(masked_username("commander"), "commander");
        assert_eq!(masked_username("23912345678"), "23912345678");
        assert_eq!(masked_username("用户"), "用户");
        assert_eq!(masked_username(""), "");
    }
}
