//! `evaluate(policy, facts, negatives, now)`: the code of one person under a policy table.

use super::*;

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/// When a fact stops affecting the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Return {
    At(DateTime<Utc>),
    /// Needs a negative test not yet on record.
    Test,
    /// Needs something that is not a date or a test (discharge, another province, a person).
    Other,
}

impl Return {
    /// Later of two returns; a non-date wins over any date, a test wait over another wait only
    /// when it comes first (the first thing the person waits for is what they are told).
    fn then(self, later: Return) -> Return {
        match (self, later) {
            (Return::At(a), Return::At(b)) => Return::At(a.max(b)),
            (Return::At(_), other) => other,
            (first, _) => first,
        }
    }

    fn date(self) -> Option<DateTime<Utc>> {
        match self {
            Return::At(t) => Some(t),
            _ => None,
        }
    }
}

/// The negative results of one person, read without sorting unless a rule needs spacing.
struct Negatives<'a> {
    times: &'a [DateTime<Utc>],
    now: DateTime<Utc>,
}

impl Negatives<'_> {
    /// The first negative sampled in `[from, now]`.
    fn first_since(&self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.times
            .iter()
            .copied()
            .filter(|t| *t >= from && *t <= self.now)
            .min()
    }

    /// Whether `count` negatives sampled in `[from, now]` each at least `gap_hours` after the one
    /// before exist. Taking the earliest each time is optimal, so one sorted pass decides.
    fn spaced(&self, from: DateTime<Utc>, count: u32, gap_hours: u32) -> bool {
        match count {
            0 => true,
            1 => self.first_since(from).is_some(),
            _ => {
                let mut times: Vec<DateTime<Utc>> = self
                    .times
                    .iter()
                    .copied()
                    .filter(|t| *t >= from && *t <= self.now)
                    .collect();
                times.sort_unstable();
                let gap = Duration::hours(i64::from(gap_hours));
                let mut found = 0;
                let mut last: Option<DateTime<Utc>> = None;
                for t in times {
                    if last.is_none_or(|l| t - l >= gap) {
                        found += 1;
                        last = Some(t);
                        if found >= count {
                            return true;
                        }
                    }
                }
                false
            }
        }
    }
}

/// A fact's colour now.
struct ColourOutcome {
    colour: CodeColour,
    until: Option<DateTime<Utc>>,
    returns: Return,
    words: String,
}

/// Where a fact stands in its rule's course.
enum Stage {
    /// In phase `i`, which ends at `end` if that is a date.
    Phase(usize, Option<DateTime<Utc>>),
    /// Every phase over; waiting for the release negative.
    Release,
}

fn stage(
    rule: &ColourRule,
    fact: &CodeFact,
    negatives: &Negatives,
    now: DateTime<Utc>,
) -> Option<Stage> {
    for (i, phase) in rule.phases.iter().enumerate() {
        match phase.until {
            PhaseEnd::WhileOpen => {
                if fact.is_open(now) {
                    return Some(Stage::Phase(i, fact.ended_at));
                }
            }
            PhaseEnd::Days { from, days: d } => match base(from, fact) {
                Some(b) if now >= after_days(b, d) => {}
                Some(b) => return Some(Stage::Phase(i, Some(after_days(b, d)))),
                None => return Some(Stage::Phase(i, None)),
            },
            PhaseEnd::Negative { from, days: d } => {
                let since = base(from, fact).map(|b| after_days(b, d));
                if !since.is_some_and(|s| s <= now && negatives.first_since(s).is_some()) {
                    return Some(Stage::Phase(i, None));
                }
            }
        }
    }
    let since = rule.release_negative_after?.at(fact);
    if since.is_some_and(|s| s <= now && negatives.first_since(s).is_some()) {
        None
    } else {
        Some(Stage::Release)
    }
}

/// When the course that stands at `stage` ends, if nothing but time passes.
fn course_return(
    rule: &ColourRule,
    fact: &CodeFact,
    stage: &Stage,
    negatives: &Negatives,
    now: DateTime<Utc>,
) -> Return {
    let mut ret = Return::At(now);
    let first = match stage {
        Stage::Phase(i, _) => *i,
        Stage::Release => rule.phases.len(),
    };
    for phase in &rule.phases[first..] {
        let end = match phase.until {
            PhaseEnd::WhileOpen => fact.ended_at.map_or(Return::Other, Return::At),
            PhaseEnd::Days { from, days: d } => {
                base(from, fact).map_or(Return::Other, |b| Return::At(after_days(b, d)))
            }
            PhaseEnd::Negative { from, days: d } => match base(from, fact) {
                None => Return::Other,
                Some(b) => {
                    let since = after_days(b, d);
                    match negatives.first_since(since) {
                        Some(t) if since <= now => Return::At(t),
                        _ => Return::Test,
                    }
                }
            },
        };
        ret = ret.then(end);
    }
    if let Some(offset) = rule.release_negative_after {
        let release = match offset.at(fact) {
            None => Return::Other,
            Some(since) if since <= now && negatives.first_since(since).is_some() => {
                Return::At(since)
            }
            Some(_) => Return::Test,
        };
        ret = ret.then(release);
    }
    ret
}

fn describe_phase(
    phase: &Phase,
    fact: &CodeFact,
    ended_zh: &str,
    current_end: Option<DateTime<Utc>>,
) -> String {
    let colour = phase.colour.label_zh();
    match phase.until {
        PhaseEnd::WhileOpen => format!("{ended_zh}前{colour}"),
        PhaseEnd::Days { from, days: d } => match (current_end, base(from, fact)) {
            (Some(end), _) => format!("{colour}至{}", month_day_time_zh(end)),
            (None, Some(b)) => format!("{colour}至{}", month_day_time_zh(after_days(b, d))),
            (None, None) => format!("{ended_zh}后{colour}{d}天"),
        },
        PhaseEnd::Negative { from, days: d } => format!(
            "{colour}，{}的核酸阴性后解除",
            Offset { from, days: d }.words(fact, ended_zh)
        ),
    }
}

fn colour_outcome(
    policy: &CodePolicy,
    rule: &ColourRule,
    fact: &CodeFact,
    negatives: &Negatives,
    now: DateTime<Utc>,
) -> Option<ColourOutcome> {
    let stage = stage(rule, fact, negatives, now)?;
    let ended_zh = rule.ended_zh.as_deref().unwrap_or("解除");
    let mut words = format!(
        "{}：{} {}，",
        fact.kind.label_zh(),
        fact.kind.anchor_zh(),
        month_day_zh(fact.anchor)
    );
    let (colour, until) = match stage {
        Stage::Phase(i, end) => {
            words.push_str(&describe_phase(&rule.phases[i], fact, ended_zh, end));
            for phase in &rule.phases[i + 1..] {
                words.push_str("，之后");
                words.push_str(&describe_phase(phase, fact, ended_zh, None));
            }
            match rule.release_negative_after {
                Some(offset) => words.push_str(&format!(
                    "，{}的核酸阴性后转绿",
                    offset.words(fact, ended_zh)
                )),
                None => words.push_str("，之后转绿"),
            }
            (rule.phases[i].colour, end)
        }
        Stage::Release => {
            let last = rule.phases.last().expect("checked: phases are not empty");
            let offset = rule
                .release_negative_after
                .expect("a release stage has a release rule");
            words.push_str(&format!(
                "期满，{}，待{}的核酸阴性后转绿",
                last.colour.label_zh(),
                offset.words(fact, ended_zh)
            ));
            (last.colour, None)
        }
    };
    words.push_str(&format!("（{}）", policy.short_zh));
    let returns = course_return(rule, fact, &stage, negatives, now);
    Some(ColourOutcome {
        colour,
        until,
        returns,
        words,
    })
}

/// A fact's pop-up now: its lifting time if that is a date, whether it waits for tests, its words.
struct PopupOutcome {
    lift_at: Option<DateTime<Utc>>,
    waits_for_test: bool,
    words: String,
}

fn popup_outcome(
    rule: &PopupRule,
    fact: &CodeFact,
    negatives: &Negatives,
    now: DateTime<Utc>,
) -> Option<PopupOutcome> {
    let auto = rule.auto_lift_days.map(|d| after_days(fact.anchor, d));
    if auto.is_some_and(|t| now >= t) {
        return None;
    }
    // A check counts only if done after the cause arose (a stale check from before proves nothing).
    let checked = !rule.needs_check
        || fact
            .checked_at
            .is_some_and(|c| c >= fact.anchor && c <= now);
    if rule.negatives > 0
        && checked
        && negatives.spaced(fact.anchor, rule.negatives, rule.min_gap_hours)
    {
        return None;
    }
    Some(PopupOutcome {
        lift_at: auto,
        waits_for_test: auto.is_none() && rule.negatives > 0,
        words: format!("{}：{}", rule.cause_zh, rule.how_to_lift_zh()),
    })
}

/// The code of a person who has an open override: its colour, no pop-up.
fn overridden(fact: &CodeFact, others: CodeState) -> CodeState {
    let colour = fact.colour.unwrap_or(CodeColour::Red);
    let mut words = format!(
        "{}：{}赋{}",
        fact.kind.label_zh(),
        month_day_zh(fact.anchor),
        colour.label_zh()
    );
    if fact.colour.is_none() {
        words.push_str("（未注明颜色，按红码处理）");
    }
    if let Some(note) = &fact.note {
        words.push_str(&format!("，理由：{note}"));
    }
    if let Some(end) = fact.ended_at {
        words.push_str(&format!("，至{}", month_day_time_zh(end)));
    }
    // After the override ends the rules apply again: green then only if they are green by then.
    let returns_at = match fact.ended_at {
        Some(end) if colour != CodeColour::Green => {
            if others.colour == CodeColour::Green && others.popup.is_none() {
                Some(end)
            } else {
                others.turns_green_at.map(|t| t.max(end))
            }
        }
        _ => None,
    };
    CodeState {
        colour,
        popup: None,
        reasons: vec![CodeReason {
            kind: fact.kind,
            colour,
            words,
            until: fact.ended_at,
            returns_at,
            popup: false,
        }],
        turns_green_at: returns_at,
        waits_for_test: false,
    }
}

/// The pure colour function (§14.4–14.5). Colour = the worst over the active facts, except that an
/// open manual override wins outright (colour, and no pop-up); the pop-up shown is the active one
/// that lifts last; `turns_green_at` is the latest return over the active facts, `None` if any waits
/// on something that is not a date. `negatives` = sampling times of negative PCR results, any order.
pub fn evaluate(
    policy: &CodePolicy,
    facts: &[CodeFact],
    negatives: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> CodeState {
    if facts.is_empty() {
        return CodeState::green();
    }
    // The newest open override wins (a later decision replaces an earlier one).
    let override_fact = facts
        .iter()
        .filter(|f| f.kind == FactKind::ManualOverride && f.anchor <= now && f.is_open(now))
        .max_by_key(|f| f.anchor);
    if let Some(fact) = override_fact {
        let others: Vec<CodeFact> = facts
            .iter()
            .filter(|f| f.kind != FactKind::ManualOverride)
            .cloned()
            .collect();
        let rest = evaluate(policy, &others, negatives, now);
        return overridden(fact, rest);
    }

    let negatives = Negatives {
        times: negatives,
        now,
    };
    let mut state = CodeState::green();
    let mut popup_lift: Option<Option<DateTime<Utc>>> = None;
    let mut returns = Return::At(now);
    for fact in facts {
        if fact.anchor > now || fact.kind == FactKind::ManualOverride {
            continue;
        }
        let colour = if fact.kind == FactKind::OtherProvince {
            other_province(policy, fact, now)
        } else {
            policy
                .colour_rule(fact.kind)
                .and_then(|rule| colour_outcome(policy, rule, fact, &negatives, now))
        };
        let popup = policy
            .popup_rule(fact.kind)
            .and_then(|rule| popup_outcome(rule, fact, &negatives, now));
        if colour.is_none() && popup.is_none() {
            continue;
        }
        let mut reason = CodeReason {
            kind: fact.kind,
            colour: CodeColour::Green,
            words: String::new(),
            until: None,
            returns_at: None,
            popup: popup.is_some(),
        };
        let mut fact_return = Return::At(now);
        if let Some(c) = colour {
            state.colour = state.colour.max(c.colour);
            reason.colour = c.colour;
            reason.words = c.words;
            reason.until = c.until;
            fact_return = c.returns;
        }
        if let Some(p) = popup {
            if reason.words.is_empty() {
                reason.words = format!(
                    "{}：{} {}，弹窗：{}（{}）",
                    fact.kind.label_zh(),
                    fact.kind.anchor_zh(),
                    month_day_zh(fact.anchor),
                    p.words,
                    policy.short_zh
                );
                reason.until = p.lift_at;
            } else {
                reason.words.push_str(&format!("；弹窗：{}", p.words));
            }
            let popup_return = match (p.lift_at, p.waits_for_test) {
                (Some(t), _) => Return::At(t),
                (None, true) => Return::Test,
                (None, false) => Return::Other,
            };
            fact_return = fact_return.then(popup_return);
            // None (no automatic lifting) is the latest of all.
            let later = match (popup_lift, p.lift_at) {
                (None, _) => true,
                (Some(None), _) => false,
                (Some(Some(_)), None) => true,
                (Some(Some(shown)), Some(t)) => t > shown,
            };
            if later {
                popup_lift = Some(p.lift_at);
                state.popup = Some(Popup {
                    kind: fact.kind,
                    words: p.words,
                });
            }
        }
        reason.returns_at = fact_return.date();
        if fact_return == Return::Test {
            state.waits_for_test = true;
        }
        returns = returns.then(fact_return);
        state.reasons.push(reason);
    }
    if state.colour == CodeColour::Green && state.popup.is_none() {
        state.turns_green_at = None;
        state.waits_for_test = false;
        // Facts that only ever give green need no reason on a plain green code.
        state.reasons.clear();
        return state;
    }
    state.turns_green_at = returns.date();
    // Worst first: colour, then pop-ups, then the one that lasts longest (no date = longest).
    state.reasons.sort_by(|a, b| {
        b.colour
            .cmp(&a.colour)
            .then(b.popup.cmp(&a.popup))
            .then_with(|| match (a.returns_at, b.returns_at) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => y.cmp(&x),
            })
    });
    state
}

/// Another province's colour, mirrored while that province has not cleared it (§3.2, §14.4).
fn other_province(
    policy: &CodePolicy,
    fact: &CodeFact,
    now: DateTime<Utc>,
) -> Option<ColourOutcome> {
    if !fact.is_open(now) {
        return None;
    }
    let colour = fact.colour.unwrap_or(CodeColour::Red);
    if colour == CodeColour::Green {
        return None;
    }
    let mut words = format!(
        "{}：{} {}赋{}",
        fact.kind.label_zh(),
        fact.note.as_deref().unwrap_or("外省"),
        month_day_zh(fact.anchor),
        colour.label_zh()
    );
    if fact.colour.is_none() {
        words.push_str("（未注明颜色，按红码处理）");
    }
    words.push_str(&format!(
        "，赋码省份转绿并报送国家平台后解除（{}）",
        policy.short_zh
    ));
    Some(ColourOutcome {
        colour,
        until: fact.ended_at,
        returns: fact.ended_at.map_or(Return::Other, Return::At),
        words,
    })
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;
