//! Who may see a run (a residents import, a lead push import, a lab upload) and an audit entry:
//! the user who did it, and users whose jurisdiction contains that user's jurisdiction.

use std::collections::HashMap;

use fangkong_domain::ids::mask_middle;
use fangkong_domain::region::{RegionCode, RegionLevel};

use crate::{Actor, App, AppResult};

impl App {
    /// Whether `actor` may see work done by `username`: their own, or by a user whose jurisdiction
    /// lies inside the actor's. Work of a username no user has (any more) is seen only at province
    /// level.
    pub(crate) async fn sees_work_of(&self, actor: &Actor, username: &str) -> AppResult<bool> {
        if username == actor.username {
            return Ok(true);
        }
        Ok(match self.store.user_by_username(username).await? {
            Some(user) => RegionCode::parse(&user.jurisdiction)
                .is_ok_and(|theirs| actor.jurisdiction.contains(&theirs)),
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
