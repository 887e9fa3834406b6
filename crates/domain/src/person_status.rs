//! A person's status badges (状态标记) as the register's lists show them beside each name: 确诊,
//! 密接, 集中隔离中, 红码, 待落地 … One badge per current fact of another module, so a grid worker
//! sees at a glance who in a household or grid is a case, a contact, under control, coded or still
//! to be found on the ground (一人一档's summary line).
//!
//! The store reads the current rows of each module (an active case, an active contact, an open
//! measure, a non-green code, an open lead) as (source, code) pairs; this module decides which of
//! them is a badge, its words and its tone, and the order they are shown in.

crate::coded_enum! {
    /// Which module a status row comes from.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum StatusSource {
        /// An active case (`cases.kind`).
        Case => "case", "病例",
        /// An active contact (`contacts.category`).
        Contact => "contact", "接触者",
        /// An isolation measure (`isolation_measures.status`).
        Measure => "measure", "隔离管控",
        /// The stored health code (`health_codes.colour`).
        Code => "code", "健康码",
        /// A lead (`leads.status`).
        Lead => "lead", "线索",
    }
}

crate::coded_enum! {
    /// One badge, in the order shown (the most serious first).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum StatusBadge {
        Confirmed => "confirmed", "确诊",
        Asymptomatic => "asymptomatic", "无症状",
        InitialScreenPositive => "initial_screen_positive", "初筛阳性",
        Suspected => "suspected", "疑似",
        CloseContact => "close_contact", "密接",
        SecondaryContact => "secondary_contact", "次密接",
        Hospitalised => "hospitalised", "住院救治",
        InSite => "in_site", "集中隔离中",
        AtHome => "at_home", "居家管控中",
        /// Waiting for a room, the coach or the ambulance.
        AwaitingTransfer => "awaiting_transfer", "待转运",
        RedCode => "red_code", "红码",
        YellowCode => "yellow_code", "黄码",
        /// A lead still open: the person is not yet found on the ground (落地查人).
        LeadOpen => "lead_open", "待落地",
    }
}

impl StatusBadge {
    /// The badge of one current row, or `None` for a row that is no badge (a general contact, a
    /// released measure, a green code, a closed lead, an unknown code).
    pub fn of(source: StatusSource, code: &str) -> Option<StatusBadge> {
        use StatusBadge as B;
        match (source, code) {
            (StatusSource::Case, "confirmed") => Some(B::Confirmed),
            (StatusSource::Case, "asymptomatic") => Some(B::Asymptomatic),
            (StatusSource::Case, "initial_screen_positive") => Some(B::InitialScreenPositive),
            (StatusSource::Case, "suspected") => Some(B::Suspected),
            (StatusSource::Contact, "close") => Some(B::CloseContact),
            (StatusSource::Contact, "secondary") => Some(B::SecondaryContact),
            (StatusSource::Measure, "hospitalised") => Some(B::Hospitalised),
            (StatusSource::Measure, "in_site") => Some(B::InSite),
            (StatusSource::Measure, "at_home") => Some(B::AtHome),
            (StatusSource::Measure, "awaiting_placement" | "allocated" | "awaiting_hospital") => {
                Some(B::AwaitingTransfer)
            }
            (StatusSource::Code, "red") => Some(B::RedCode),
            (StatusSource::Code, "yellow") => Some(B::YellowCode),
            (StatusSource::Lead, "pending" | "unrouted") => Some(B::LeadOpen),
            _ => None,
        }
    }

    /// How it is drawn: `bad` (infected, red code), `warn` (contacts, waiting, yellow code, not yet
    /// found) or `info` (under control).
    pub fn tone(self) -> &'static str {
        use StatusBadge as B;
        match self {
            B::Confirmed | B::Asymptomatic | B::InitialScreenPositive | B::RedCode => "bad",
            B::Suspected
            | B::CloseContact
            | B::SecondaryContact
            | B::AwaitingTransfer
            | B::YellowCode
            | B::LeadOpen => "warn",
            B::Hospitalised | B::InSite | B::AtHome => "info",
        }
    }
}

/// The badges of one person's current rows: each once, the most serious first.
pub fn badges_of<'a>(rows: impl IntoIterator<Item = (StatusSource, &'a str)>) -> Vec<StatusBadge> {
    let mut badges: Vec<StatusBadge> = rows
        .into_iter()
        .filter_map(|(source, code)| StatusBadge::of(source, code))
        .collect();
    badges.sort_unstable();
    badges.dedup();
    badges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_current_row_is_one_badge_in_order_of_seriousness() {
        let rows = [
            (StatusSource::Code, "red"),
            (StatusSource::Measure, "in_site"),
            (StatusSource::Contact, "close"),
            (StatusSource::Contact, "close"),
            (StatusSource::Lead, "pending"),
        ];
        let badges = badges_of(rows);
        assert_eq!(
            badges,
            vec![
                StatusBadge::CloseContact,
                StatusBadge::InSite,
                StatusBadge::RedCode,
                StatusBadge::LeadOpen
            ]
        );
        let words: Vec<&str> = badges.iter().map(|b| b.label_zh()).collect();
        assert_eq!(words, ["密接", "集中隔离中", "红码", "待落地"]);
    }

    #[test]
    fn rows_that_are_no_badge_are_left_out() {
        for (source, code) in [
            (StatusSource::Contact, "general"),
            (StatusSource::Measure, "released"),
            (StatusSource::Code, "green"),
            (StatusSource::Lead, "controlled"),
            (StatusSource::Lead, "letter_out"),
            (StatusSource::Case, "something_else"),
        ] {
            assert_eq!(StatusBadge::of(source, code), None, "{source:?} {code}");
        }
        assert_eq!(
            StatusBadge::of(StatusSource::Measure, "allocated"),
            Some(StatusBadge::AwaitingTransfer)
        );
    }

    #[test]
    fn infections_and_red_codes_are_drawn_as_bad_and_control_as_info() {
        assert_eq!(StatusBadge::Confirmed.tone(), "bad");
        assert_eq!(StatusBadge::RedCode.tone(), "bad");
        assert_eq!(StatusBadge::SecondaryContact.tone(), "warn");
        assert_eq!(StatusBadge::AtHome.tone(), "info");
    }
}
