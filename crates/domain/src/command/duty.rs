//! Duty (值班值守, domain-rules.md §10.2): the two shifts of a duty day in Beijing time, what a
//! day's roster must hold (a leader on duty and an A role for every post, both shifts), what it may
//! not hold (the same person twice in one shift, two leaders or two A roles for one post), whether
//! a spot check (抽查) passed, and the accountability list (督查问责) rolled up per office.
//!
//! "不得隐瞒、缓报、谎报": a duty room that does not answer, answers late, does not know the
//! situation or is answered by someone not on the roster is listed for accountability.

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};

use crate::time::{beijing_midnight, beijing_offset};

crate::coded_enum! {
    /// The two shifts of a duty day (Beijing time): 08:00–20:00 and 20:00–08:00 the next morning.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Shift {
        Day => "day", "白班（08:00–20:00）",
        Night => "night", "夜班（20:00–次日08:00）",
    }
}

crate::coded_enum! {
    /// A person's role on a shift (带班领导, A角 the one on post, B角 the back-up).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum DutyRole {
        Leader => "leader", "带班领导",
        A => "a", "A角",
        B => "b", "B角",
    }
}

crate::coded_enum! {
    /// Why an office is listed for accountability (督查问责). The spot-check kinds are filled by
    /// duty; the daily reports add theirs (迟报、漏报) here and feed [`roll_up`] the same way.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum AccountabilityKind {
        NotAnswered => "not_answered", "抽查未应答",
        AnsweredLate => "answered_late", "抽查超时应答",
        DidNotKnow => "did_not_know", "不掌握情况",
        NotOnRoster => "not_on_roster", "非在班人员应答",
    }
}

/// The post every office has (值班室); others (e.g. 信息组) may be added by name.
pub const DEFAULT_POST: &str = "值班室";
/// A post's name, in characters.
pub const POST_MAX_CHARS: usize = 20;
/// A handover note (交接班记录), in characters.
pub const HANDOVER_MAX_CHARS: usize = 1000;
/// A spot check's note, in characters.
pub const SPOT_NOTE_MAX_CHARS: usize = 200;
/// How long a duty room has to answer a spot check unless the checker says otherwise.
pub const SPOT_CHECK_DEFAULT_MINUTES: i64 = 5;
/// The longest answer time a checker may give.
pub const SPOT_CHECK_MAX_MINUTES: i64 = 60;
/// How many offices one random spot check may call at once.
pub const SPOT_CHECK_MAX_OFFICES: usize = 20;
/// The furthest a roster may be drawn up ahead, and the longest range one query reads.
pub const ROSTER_MAX_DAYS: i64 = 62;

/// The duty day and shift `at` falls in. The night shift of date D runs from D 20:00 to D+1
/// 08:00 Beijing time, so 03:00 on D+1 is still D's night shift.
pub fn shift_at(at: DateTime<Utc>) -> (NaiveDate, Shift) {
    let local = at.with_timezone(&beijing_offset());
    let date = local.date_naive();
    match local.hour() {
        0..=7 => (date.pred_opt().unwrap_or(date), Shift::Night),
        8..=19 => (date, Shift::Day),
        _ => (date, Shift::Night),
    }
}

/// When the shift of `date` starts and ends (end exclusive).
pub fn shift_window(date: NaiveDate, shift: Shift) -> (DateTime<Utc>, DateTime<Utc>) {
    let midnight = beijing_midnight(date);
    match shift {
        Shift::Day => (
            midnight + Duration::hours(8),
            midnight + Duration::hours(20),
        ),
        Shift::Night => (
            midnight + Duration::hours(20),
            midnight + Duration::hours(32),
        ),
    }
}

/// The shift before `(date, shift)` (the one handing over to it).
pub fn previous_shift(date: NaiveDate, shift: Shift) -> (NaiveDate, Shift) {
    match shift {
        Shift::Night => (date, Shift::Day),
        Shift::Day => (date.pred_opt().unwrap_or(date), Shift::Night),
    }
}

/// A post's name as typed: trimmed, empty means [`DEFAULT_POST`], bounded.
pub fn parse_post(raw: &str) -> Result<String, String> {
    let post = raw.trim();
    if post.is_empty() {
        return Ok(DEFAULT_POST.to_string());
    }
    if post.chars().count() > POST_MAX_CHARS {
        return Err(format!("岗位名称最多{POST_MAX_CHARS}个字"));
    }
    if post.chars().any(char::is_control) {
        return Err("岗位名称不能包含换行或控制字符".into());
    }
    Ok(post.to_string())
}

/// One line of a roster: who holds which role at which post on which shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterLine {
    pub date: NaiveDate,
    pub shift: Shift,
    pub post: String,
    pub role: DutyRole,
    pub user_id: i64,
    /// The person's name as shown, for the messages.
    pub name: String,
}

/// Why `new` cannot join the roster that already holds `existing` (an overlap), or `Ok`.
/// Refused: the same person twice on one shift (whatever the role or post), a second leader on a
/// shift, a second A role for one post on a shift.
pub fn check_overlap(existing: &[RosterLine], new: &RosterLine) -> Result<(), String> {
    let same_shift = existing
        .iter()
        .filter(|e| e.date == new.date && e.shift == new.shift);
    let when = format!("{} {}", new.date, shift_words(new.shift));
    for e in same_shift {
        if e.user_id == new.user_id {
            return Err(format!(
                "排班重叠：{}已在{when}担任{}（{}），同一人同一班次只能排一次",
                e.name,
                e.role.label_zh(),
                e.post
            ));
        }
        if new.role == DutyRole::Leader && e.role == DutyRole::Leader {
            return Err(format!(
                "排班重叠：{when}已有带班领导{}，每个班次只能有一名带班领导",
                e.name
            ));
        }
        if new.role == DutyRole::A && e.role == DutyRole::A && e.post == new.post {
            return Err(format!(
                "排班重叠：{when}{}已有A角{}，每个岗位每个班次只能有一名A角",
                new.post, e.name
            ));
        }
    }
    Ok(())
}

fn shift_words(shift: Shift) -> &'static str {
    match shift {
        Shift::Day => "白班",
        Shift::Night => "夜班",
    }
}

/// The gaps (缺岗) of `date`'s roster, each a Chinese reason: every shift needs a leader on duty,
/// and every post named on that day (at least [`DEFAULT_POST`]) needs an A role on every shift.
/// Empty when the day is covered.
pub fn roster_gaps(date: NaiveDate, lines: &[RosterLine]) -> Vec<String> {
    let day: Vec<&RosterLine> = lines.iter().filter(|l| l.date == date).collect();
    let mut posts: Vec<&str> = day.iter().map(|l| l.post.as_str()).collect();
    if posts.is_empty() {
        posts.push(DEFAULT_POST);
    }
    posts.sort();
    posts.dedup();
    let mut gaps = Vec::new();
    for shift in Shift::ALL {
        let on = |role: DutyRole, post: Option<&str>| {
            day.iter()
                .any(|l| l.shift == shift && l.role == role && post.is_none_or(|p| l.post == p))
        };
        if !on(DutyRole::Leader, None) {
            gaps.push(format!("{date} {}缺带班领导", shift_words(shift)));
        }
        for post in &posts {
            if !on(DutyRole::A, Some(post)) {
                gaps.push(format!("{date} {}{post}缺A角", shift_words(shift)));
            }
        }
    }
    gaps
}

/// What the checker recorded of a spot check's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotAnswer {
    /// When the duty room answered; `None`: it did not.
    pub answered_at: Option<DateTime<Utc>>,
    /// Whether the person who answered is on the roster of the shift called.
    pub answerer_on_roster: bool,
    /// Whether they knew the situation (the figures, who is where).
    pub knew_situation: bool,
}

/// Why a spot check failed: empty = passed. In time = answered at or before the deadline.
pub fn spot_check_failures(
    deadline: DateTime<Utc>,
    answer: &SpotAnswer,
) -> Vec<AccountabilityKind> {
    let Some(at) = answer.answered_at else {
        return vec![AccountabilityKind::NotAnswered];
    };
    let mut failures = Vec::new();
    if at > deadline {
        failures.push(AccountabilityKind::AnsweredLate);
    }
    if !answer.answerer_on_roster {
        failures.push(AccountabilityKind::NotOnRoster);
    }
    if !answer.knew_situation {
        failures.push(AccountabilityKind::DidNotKnow);
    }
    failures
}

/// The answer time a checker gives: empty = [`SPOT_CHECK_DEFAULT_MINUTES`], else 1 to
/// [`SPOT_CHECK_MAX_MINUTES`] minutes.
pub fn parse_minutes(raw: &str) -> Result<i64, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(SPOT_CHECK_DEFAULT_MINUTES);
    }
    match raw.parse::<i64>() {
        Ok(m) if (1..=SPOT_CHECK_MAX_MINUTES).contains(&m) => Ok(m),
        _ => Err(format!("请填写1到{SPOT_CHECK_MAX_MINUTES}之间的整数分钟")),
    }
}

/// Picks up to `n` of `candidates` at random, driven by `seed` (the caller's randomness: the
/// domain has none), without repeats, in the candidates' order.
pub fn pick<T: Clone>(candidates: &[T], n: usize, mut seed: u64) -> Vec<T> {
    let mut index: Vec<usize> = (0..candidates.len()).collect();
    let n = n.min(index.len());
    for i in 0..n {
        // xorshift64*: enough to spread a seed over a few hundred offices.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = i + (seed.wrapping_mul(0x2545_F491_4F6C_DD1D) % (index.len() - i) as u64) as usize;
        index.swap(i, j);
    }
    let mut chosen: Vec<usize> = index.into_iter().take(n).collect();
    chosen.sort_unstable();
    chosen.into_iter().map(|i| candidates[i].clone()).collect()
}

/// One failure listed for accountability: which office, why, when, from what (e.g. 抽查 #12).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountabilityItem {
    pub office: String,
    pub kind: AccountabilityKind,
    pub at: i64,
    pub source: String,
}

/// An office's failures rolled up.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfficeAccountability {
    pub office: String,
    /// Count per kind, in [`AccountabilityKind::ALL`]'s order (kinds with none left out).
    pub counts: Vec<(AccountabilityKind, usize)>,
    pub total: usize,
    /// The latest failure (unix seconds).
    pub last_at: i64,
    pub items: Vec<AccountabilityItem>,
}

/// The accountability list: failures per office, worst first (most failures, then most not
/// answered, then the most recent, then the office code). Any module feeds it its own items.
pub fn roll_up(mut items: Vec<AccountabilityItem>) -> Vec<OfficeAccountability> {
    items.sort_by(|a, b| a.office.cmp(&b.office).then(b.at.cmp(&a.at)));
    let mut offices: Vec<OfficeAccountability> = Vec::new();
    for item in items {
        match offices.last_mut() {
            Some(last) if last.office == item.office => last.items.push(item),
            _ => offices.push(OfficeAccountability {
                office: item.office.clone(),
                counts: Vec::new(),
                total: 0,
                last_at: item.at,
                items: vec![item],
            }),
        }
    }
    for office in &mut offices {
        office.total = office.items.len();
        office.last_at = office.items.iter().map(|i| i.at).max().unwrap_or(0);
        office.counts = AccountabilityKind::ALL
            .into_iter()
            .map(|k| (k, office.items.iter().filter(|i| i.kind == k).count()))
            .filter(|(_, n)| *n > 0)
            .collect();
    }
    let not_answered = |o: &OfficeAccountability| {
        o.items
            .iter()
            .filter(|i| i.kind == AccountabilityKind::NotAnswered)
            .count()
    };
    offices.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then(not_answered(b).cmp(&not_answered(a)))
            .then(b.last_at.cmp(&a.last_at))
            .then(a.office.cmp(&b.office))
    });
    offices
}

/// The dates from `from` to `to` (both included), or why the range cannot be read.
pub fn date_range(from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>, String> {
    if to < from {
        return Err("结束日期不能早于开始日期".into());
    }
    if (to - from).num_days() >= ROSTER_MAX_DAYS {
        return Err(format!("一次最多查询{ROSTER_MAX_DAYS}天"));
    }
    Ok(from.iter_days().take_while(|d| *d <= to).collect())
}

/// Whether `date` may be rostered when today is `today`: from yesterday (a night shift still
/// running) up to [`ROSTER_MAX_DAYS`] ahead.
pub fn check_roster_date(date: NaiveDate, today: NaiveDate) -> Result<(), String> {
    let days = (date - today).num_days();
    if days < -1 {
        return Err("已经过去的班次不能再排班".into());
    }
    if days > ROSTER_MAX_DAYS {
        return Err(format!("最多提前{ROSTER_MAX_DAYS}天排班"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2021, 1, day).unwrap()
    }

    fn beijing(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        beijing_offset()
            .with_ymd_and_hms(2021, 1, day, hour, minute, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn line(day: u32, shift: Shift, post: &str, role: DutyRole, user: i64) -> RosterLine {
        RosterLine {
            date: d(day),
            shift,
            post: post.into(),
            role,
            user_id: user,
            name: format!("值班员{user}"),
        }
    }

    #[test]
    fn the_shift_of_a_beijing_time_night_crossing_midnight() {
        let table = [
            (beijing(6, 7, 59), d(5), Shift::Night),
            (beijing(6, 8, 0), d(6), Shift::Day),
            (beijing(6, 12, 30), d(6), Shift::Day),
            (beijing(6, 19, 59), d(6), Shift::Day),
            (beijing(6, 20, 0), d(6), Shift::Night),
            (beijing(6, 23, 59), d(6), Shift::Night),
            (beijing(7, 0, 0), d(6), Shift::Night),
            (beijing(7, 3, 0), d(6), Shift::Night),
        ];
        for (at, date, shift) in table {
            assert_eq!(shift_at(at), (date, shift), "{at}");
            let (start, end) = shift_window(date, shift);
            assert!(start <= at && at < end, "{at} inside its window");
        }
        assert_eq!(shift_window(d(6), Shift::Night).1, beijing(7, 8, 0));
        assert_eq!(previous_shift(d(6), Shift::Day), (d(5), Shift::Night));
        assert_eq!(previous_shift(d(6), Shift::Night), (d(6), Shift::Day));
    }

    #[test]
    fn a_day_needs_a_leader_and_an_a_role_per_post_on_both_shifts() {
        use DutyRole::*;
        use Shift::*;
        let full = vec![
            line(6, Day, "值班室", Leader, 1),
            line(6, Day, "值班室", A, 2),
            line(6, Day, "值班室", B, 3),
            line(6, Night, "值班室", Leader, 4),
            line(6, Night, "值班室", A, 5),
        ];
        let table: Vec<(&str, Vec<RosterLine>, Vec<&str>)> = vec![
            ("covered", full.clone(), vec![]),
            (
                "nothing",
                vec![],
                vec![
                    "2021-01-06 白班缺带班领导",
                    "2021-01-06 白班值班室缺A角",
                    "2021-01-06 夜班缺带班领导",
                    "2021-01-06 夜班值班室缺A角",
                ],
            ),
            (
                "no night leader",
                full.iter().filter(|l| l.user_id != 4).cloned().collect(),
                vec!["2021-01-06 夜班缺带班领导"],
            ),
            (
                "a B role is no A role",
                full.iter()
                    .map(|l| {
                        let mut l = l.clone();
                        if l.user_id == 5 {
                            l.role = B;
                        }
                        l
                    })
                    .collect(),
                vec!["2021-01-06 夜班值班室缺A角"],
            ),
            (
                "a second post needs its A role on both shifts",
                full.iter()
                    .cloned()
                    .chain([line(6, Day, "信息组", A, 6)])
                    .collect(),
                vec!["2021-01-06 夜班信息组缺A角"],
            ),
            (
                "another day's lines do not count",
                full.iter()
                    .map(|l| RosterLine {
                        date: d(7),
                        ..l.clone()
                    })
                    .collect(),
                vec![
                    "2021-01-06 白班缺带班领导",
                    "2021-01-06 白班值班室缺A角",
                    "2021-01-06 夜班缺带班领导",
                    "2021-01-06 夜班值班室缺A角",
                ],
            ),
        ];
        for (name, lines, expected) in table {
            assert_eq!(roster_gaps(d(6), &lines), expected, "{name}");
        }
    }

    #[test]
    fn overlaps_are_refused_with_the_reason() {
        use DutyRole::*;
        use Shift::*;
        let existing = vec![
            line(6, Day, "值班室", Leader, 1),
            line(6, Day, "值班室", A, 2),
            line(6, Night, "值班室", A, 5),
        ];
        let table: Vec<(&str, RosterLine, Option<&str>)> = vec![
            ("B role free", line(6, Day, "值班室", B, 3), None),
            (
                "same person same shift",
                line(6, Day, "信息组", B, 2),
                Some("值班员2已在2021-01-06 白班担任A角（值班室）"),
            ),
            (
                "second leader",
                line(6, Day, "值班室", Leader, 7),
                Some("已有带班领导值班员1"),
            ),
            (
                "second A same post",
                line(6, Day, "值班室", A, 8),
                Some("值班室已有A角值班员2"),
            ),
            ("A at another post", line(6, Day, "信息组", A, 8), None),
            (
                "same person next shift",
                line(6, Night, "值班室", B, 2),
                None,
            ),
            (
                "same person another day",
                line(7, Day, "值班室", A, 2),
                None,
            ),
        ];
        for (name, new, refused) in table {
            match (check_overlap(&existing, &new), refused) {
                (Ok(()), None) => {}
                (Err(reason), Some(words)) => {
                    assert!(reason.starts_with("排班重叠："), "{name}: {reason}");
                    assert!(reason.contains(words), "{name}: {reason}");
                }
                (got, want) => panic!("{name}: got {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn a_spot_check_passes_only_answered_in_time_by_the_roster_knowing_the_situation() {
        use AccountabilityKind::*;
        let deadline = beijing(6, 10, 5);
        let answer = |at: Option<DateTime<Utc>>, on: bool, knew: bool| SpotAnswer {
            answered_at: at,
            answerer_on_roster: on,
            knew_situation: knew,
        };
        let table = [
            (answer(Some(beijing(6, 10, 2)), true, true), vec![]),
            (answer(Some(deadline), true, true), vec![]),
            (
                answer(Some(beijing(6, 10, 6)), true, true),
                vec![AnsweredLate],
            ),
            (answer(None, true, true), vec![NotAnswered]),
            (
                answer(Some(beijing(6, 10, 1)), false, true),
                vec![NotOnRoster],
            ),
            (
                answer(Some(beijing(6, 10, 1)), true, false),
                vec![DidNotKnow],
            ),
            (
                answer(Some(beijing(6, 10, 9)), false, false),
                vec![AnsweredLate, NotOnRoster, DidNotKnow],
            ),
        ];
        for (a, expected) in table {
            assert_eq!(spot_check_failures(deadline, &a), expected, "{a:?}");
        }
    }

    #[test]
    fn answer_minutes_and_posts_are_bounded() {
        assert_eq!(parse_minutes(""), Ok(SPOT_CHECK_DEFAULT_MINUTES));
        assert_eq!(parse_minutes(" 10 "), Ok(10));
        for bad in ["0", "61", "-1", "五", "1.5"] {
            assert!(parse_minutes(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_post("  ").unwrap(), DEFAULT_POST);
        assert_eq!(parse_post("信息组").unwrap(), "信息组");
        assert!(parse_post(&"岗".repeat(POST_MAX_CHARS + 1)).is_err());
        assert!(parse_post("值班\n室").is_err());
        assert!(check_roster_date(d(5), d(6)).is_ok());
        assert!(check_roster_date(d(4), d(6)).is_err());
        assert!(date_range(d(6), d(5)).is_err());
        assert_eq!(date_range(d(5), d(7)).unwrap(), vec![d(5), d(6), d(7)]);
    }

    #[test]
    fn random_picks_are_distinct_bounded_and_vary_with_the_seed() {
        let offices: Vec<u32> = (0..30).collect();
        let mut seen = std::collections::BTreeSet::new();
        for seed in 1..40u64 {
            let chosen = pick(&offices, 3, seed);
            assert_eq!(chosen.len(), 3);
            let mut unique = chosen.clone();
            unique.dedup();
            assert_eq!(unique.len(), 3, "no repeats");
            seen.insert(chosen);
        }
        assert!(seen.len() > 10, "the seed changes the pick");
        assert_eq!(pick(&offices[..2], 5, 7).len(), 2);
        assert!(pick::<u32>(&[], 3, 7).is_empty());
    }

    #[test]
    fn the_accountability_list_puts_the_worst_office_first() {
        use AccountabilityKind::*;
        let item = |office: &str, kind, at| AccountabilityItem {
            office: office.into(),
            kind,
            at,
            source: "抽查".into(),
        };
        let list = roll_up(vec![
            item("130109110", DidNotKnow, 10),
            item("130109100", NotAnswered, 5),
            item("130109110", AnsweredLate, 20),
            item("130109120", DidNotKnow, 30),
            item("130109130", NotAnswered, 1),
            item("130109130", DidNotKnow, 2),
        ]);
        let order: Vec<&str> = list.iter().map(|o| o.office.as_str()).collect();
        assert_eq!(
            order,
            ["130109130", "130109110", "130109100", "130109120"],
            "two failures before one; a not-answered before a later one of another kind"
        );
        assert_eq!(list[1].total, 2);
        assert_eq!(list[1].last_at, 20);
        assert_eq!(list[1].counts, vec![(AnsweredLate, 1), (DidNotKnow, 1)]);
    }
}
