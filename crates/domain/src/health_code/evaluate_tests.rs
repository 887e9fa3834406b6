//! Tests of `evaluate`: the shipped tables row by row (Hebei, Shanghai, national), overrides,
//! other provinces' codes, combining facts, and its cost.

use super::*;

#[test]
fn no_facts_is_a_plain_green_code() {
    let state = evaluate(hebei(), &[], &[], a());
    assert_eq!(state, CodeState::green());
    assert_eq!(state.summary_zh(), "绿码");
    // Facts that give nothing under this table leave the code plain green.
    let f = CodeFact::new(FactKind::Companion, a() - d(1));
    assert_eq!(evaluate(shanghai(), &[f], &[], a()), CodeState::green());
    // A fact anchored in the future is not in force yet.
    let f = CodeFact::new(FactKind::CloseContact, a() + h(1));
    assert_eq!(evaluate(hebei(), &[f], &[], a()), CodeState::green());
}

#[test]
fn hebei_screen_and_pool_positives_are_red_until_the_recheck_is_negative() {
    for kind in [
        FactKind::InitialScreenPositive,
        FactKind::PoolPositivePending,
    ] {
        let open = CodeFact::new(kind, a());
        let state = evaluate(hebei(), std::slice::from_ref(&open), &[], a() + d(3));
        assert_eq!(state.colour, CodeColour::Red);
        assert_eq!(state.turns_green_at, None);
        assert!(
            !state.waits_for_test,
            "waits on the recheck, not on any test"
        );
        assert!(
            state.reasons[0].words.contains("单管复核阴性前红码"),
            "{}",
            state.reasons[0].words
        );
        let closed = open.clone().ended(a() + h(10));
        assert_eq!(
            colour(
                hebei(),
                std::slice::from_ref(&closed),
                &[],
                a() + h(10) - sec()
            ),
            CodeColour::Red
        );
        assert_eq!(
            colour(hebei(), &[closed], &[], a() + h(10)),
            CodeColour::Green
        );
    }
}

#[test]
fn hebei_cases_red_in_hospital_yellow_seven_days_then_green_with_a_negative() {
    for kind in [FactKind::Confirmed, FactKind::Asymptomatic] {
        let in_hospital = CodeFact::new(kind, a());
        let state = evaluate(
            hebei(),
            std::slice::from_ref(&in_hospital),
            &[],
            a() + d(20),
        );
        assert_eq!(state.colour, CodeColour::Red);
        assert_eq!((state.turns_green_at, state.waits_for_test), (None, false));
        assert!(state.reasons[0].words.contains("出院（舱）前红码"));

        let discharged = a() + d(12);
        let fact = in_hospital.ended(discharged);
        let day7_test = discharged + d(6) + h(2);
        let negs = [discharged - d(1), day7_test];
        assert_eq!(
            colour(
                hebei(),
                std::slice::from_ref(&fact),
                &negs,
                discharged - sec()
            ),
            CodeColour::Red
        );
        assert_eq!(
            colour(hebei(), std::slice::from_ref(&fact), &negs, discharged),
            CodeColour::Yellow
        );
        assert_eq!(
            colour(
                hebei(),
                std::slice::from_ref(&fact),
                &negs,
                end_of(discharged, 7) - sec()
            ),
            CodeColour::Yellow
        );
        assert_eq!(
            colour(
                hebei(),
                std::slice::from_ref(&fact),
                &negs,
                end_of(discharged, 7)
            ),
            CodeColour::Green
        );
        // Without a negative sampled in the last day of the period, yellow stays.
        let early = [discharged + d(5)];
        let state = evaluate(
            hebei(),
            std::slice::from_ref(&fact),
            &early,
            discharged + d(9),
        );
        assert_eq!(state.colour, CodeColour::Yellow);
        assert!(state.waits_for_test);
        assert_eq!(state.turns_green_at, None);
        assert!(
            state.reasons[0].words.contains("期满"),
            "{}",
            state.reasons[0].words
        );
        // Once the day-7 negative is on record, the return date is known.
        let state = evaluate(
            hebei(),
            std::slice::from_ref(&fact),
            &negs,
            day7_test + h(1),
        );
        assert_eq!(state.colour, CodeColour::Yellow);
        assert_eq!(state.turns_green_at, Some(end_of(discharged, 7)));
        assert!(!state.waits_for_test);
        // A scheduled discharge is a date.
        let state = evaluate(hebei(), &[fact], &negs, discharged - d(1));
        assert_eq!(state.reasons[0].until, Some(discharged));
    }
}

#[test]
fn hebei_suspected_red_until_excluded() {
    let f = CodeFact::new(FactKind::Suspected, a());
    assert_eq!(
        colour(hebei(), std::slice::from_ref(&f), &[], a() + d(30)),
        CodeColour::Red
    );
    let f = f.ended(a() + d(1));
    assert_eq!(colour(hebei(), &[f], &[], a() + d(1)), CodeColour::Green);
}

#[test]
fn hebei_seven_day_red_rows() {
    for kind in [
        FactKind::Inbound,
        FactKind::SecondaryContact,
        FactKind::LeftHighRiskArea,
        FactKind::LeftMediumRiskArea,
    ] {
        let f = CodeFact::new(kind, a());
        let negs = [a() + d(6) + h(1)];
        assert_eq!(
            colour(hebei(), std::slice::from_ref(&f), &negs, a()),
            CodeColour::Red,
            "{kind:?}"
        );
        assert_eq!(
            colour(hebei(), std::slice::from_ref(&f), &negs, end(7) - sec()),
            CodeColour::Red
        );
        assert_eq!(
            colour(hebei(), std::slice::from_ref(&f), &negs, end(7)),
            CodeColour::Green
        );
        // A negative from day 5 does not release.
        let state = evaluate(hebei(), std::slice::from_ref(&f), &[a() + d(4)], a() + d(8));
        assert_eq!(state.colour, CodeColour::Red);
        assert!(state.waits_for_test);
        // Early on, the release still needs a test not yet possible: no date.
        let state = evaluate(hebei(), std::slice::from_ref(&f), &[], a() + d(1));
        assert_eq!((state.turns_green_at, state.waits_for_test), (None, true));
        assert_eq!(state.reasons[0].until, Some(end(7)));
    }
}

#[test]
fn hebei_close_contact_red_seven_yellow_to_ten_green_with_a_negative() {
    let f = CodeFact::new(FactKind::CloseContact, a());
    let negs = [a() + d(9) + h(2)];
    let at = |now| colour(hebei(), std::slice::from_ref(&f), &negs, now);
    assert_eq!(at(a()), CodeColour::Red);
    assert_eq!(at(end(7) - sec()), CodeColour::Red);
    assert_eq!(at(end(7)), CodeColour::Yellow);
    assert_eq!(at(end(10) - sec()), CodeColour::Yellow);
    assert_eq!(at(end(10)), CodeColour::Green);
    // A negative from day 9 (before the last 24 h) does not release.
    let state = evaluate(
        hebei(),
        std::slice::from_ref(&f),
        &[a() + d(8)],
        a() + d(11),
    );
    assert_eq!(state.colour, CodeColour::Yellow);
    assert!(state.waits_for_test);
    // Words and dates.
    let state = evaluate(hebei(), std::slice::from_ref(&f), &[], a() + d(1));
    let words = &state.reasons[0].words;
    assert!(
        words.starts_with("密接：末次接触 11月20日，红码至11月27日00:00"),
        "{words}"
    );
    assert!(words.contains("之后黄码至11月30日00:00"), "{words}");
    assert!(
        words.contains("11月29日00:00后采样的核酸阴性后转绿"),
        "{words}"
    );
    assert!(words.ends_with("（河北2022-11）"), "{words}");
    assert_eq!(state.reasons[0].until, Some(end(7)));
    // With the day-10 negative on record, the return is a date.
    let state = evaluate(hebei(), &[f], &negs, a() + d(9) + h(3));
    assert_eq!(state.colour, CodeColour::Yellow);
    assert_eq!(state.turns_green_at, Some(end(10)));
    assert_eq!(state.reasons[0].returns_at, Some(end(10)));
    assert!(
        state.summary_zh().contains("预计11月30日00:00转绿"),
        "{}",
        state.summary_zh()
    );
}

#[test]
fn hebei_companion_popup_needs_a_check_and_two_negatives_24h_apart() {
    let f = CodeFact::new(FactKind::Companion, a());
    let checked = f.clone().checked(a() + h(5));
    // The pop-up alone: green colour, pop-up shown.
    let state = evaluate(hebei(), std::slice::from_ref(&f), &[], a() + h(1));
    assert_eq!(state.colour, CodeColour::Green);
    let popup = state.popup.clone().unwrap();
    assert_eq!(popup.kind, FactKind::Companion);
    assert_eq!(
        popup.words,
        "时空伴随/重点场所停留：请向社区报备，到达后两次核酸间隔24小时均阴性后解除，或14天后自动解除"
    );
    assert_eq!(state.turns_green_at, Some(end(14)));
    assert!(!state.waits_for_test, "the automatic lifting is a date");
    assert!(state.reasons[0].popup);
    assert!(
        state.summary_zh().starts_with("绿码（弹窗）"),
        "{}",
        state.summary_zh()
    );

    let two_apart = [a() + h(6), a() + h(30)];
    let too_close = [a() + h(6), a() + h(26)];
    let now = a() + d(2);
    assert!(
        evaluate(hebei(), std::slice::from_ref(&checked), &too_close, now)
            .popup
            .is_some()
    );
    assert!(
        evaluate(hebei(), std::slice::from_ref(&checked), &two_apart, now)
            .popup
            .is_none()
    );
    // Not checked: tests alone do not lift it.
    assert!(
        evaluate(hebei(), std::slice::from_ref(&f), &two_apart, now)
            .popup
            .is_some()
    );
    // A check from before the cause does not count.
    let stale = f.clone().checked(a() - h(1));
    assert!(evaluate(hebei(), &[stale], &two_apart, now).popup.is_some());
    // Negatives before arrival do not count; one sampled in the future neither.
    let before = [a() - h(30), a() - h(2)];
    assert!(
        evaluate(hebei(), std::slice::from_ref(&checked), &before, now)
            .popup
            .is_some()
    );
    let future = [a() + h(6), now + h(1)];
    assert!(
        evaluate(hebei(), std::slice::from_ref(&checked), &future, now)
            .popup
            .is_some()
    );
    // Three tests, the middle one too close: the first and the last are 24 h apart.
    let three = [a() + h(44), a() + h(6), a() + h(20)];
    assert!(
        evaluate(hebei(), std::slice::from_ref(&checked), &three, now)
            .popup
            .is_none()
    );
    // Automatic lifting after 14 days.
    assert!(
        evaluate(hebei(), std::slice::from_ref(&f), &[], end(14) - sec())
            .popup
            .is_some()
    );
    assert_eq!(evaluate(hebei(), &[f], &[], end(14)), CodeState::green());
}

#[test]
fn hebei_outbreak_county_popup_needs_a_check_and_one_negative() {
    let f = CodeFact::new(FactKind::LeftOutbreakCounty, a());
    let negs = [a() + h(3)];
    assert!(
        evaluate(hebei(), std::slice::from_ref(&f), &negs, a() + d(1))
            .popup
            .is_some()
    );
    let checked = f.checked(a() + h(1));
    assert!(
        evaluate(
            hebei(),
            std::slice::from_ref(&checked),
            &[a() - h(1)],
            a() + d(1)
        )
        .popup
        .is_some()
    );
    assert!(
        evaluate(hebei(), &[checked], &negs, a() + d(1))
            .popup
            .is_none()
    );
}

#[test]
fn hebei_surveillance_popups_lift_with_one_negative_after_the_anchor() {
    for kind in [
        FactKind::DueNotTested,
        FactKind::FeverClinic,
        FactKind::PharmacyPurchase,
    ] {
        let f = CodeFact::new(kind, a());
        let state = evaluate(hebei(), std::slice::from_ref(&f), &[a() - h(1)], a() + h(2));
        assert_eq!(state.colour, CodeColour::Green);
        assert!(state.popup.is_some(), "{kind:?}");
        assert!(!state.popup.unwrap().words.contains("报备"));
        assert!(
            evaluate(hebei(), std::slice::from_ref(&f), &[a() + h(1)], a() + h(2))
                .popup
                .is_none()
        );
        assert!(evaluate(hebei(), &[f], &[], a() + d(14)).popup.is_none());
    }
}

#[test]
fn hebei_risk_area_outflow_is_red_and_pops_up() {
    let f = CodeFact::new(FactKind::LeftHighRiskArea, a());
    let state = evaluate(hebei(), std::slice::from_ref(&f), &[], a() + d(1));
    assert_eq!(state.colour, CodeColour::Red);
    assert_eq!(
        state.popup.as_ref().unwrap().kind,
        FactKind::LeftHighRiskArea
    );
    assert_eq!(state.reasons.len(), 1);
    assert!(state.reasons[0].popup && state.reasons[0].words.contains("；弹窗："));
    // Checked, two negatives 24 h apart: pop-up lifted, red stays to day 7, then green with the
    // day-7 negative.
    let f = f.checked(a() + h(2));
    let negs = [a() + h(3), a() + h(27), a() + d(6) + h(1)];
    let state = evaluate(hebei(), std::slice::from_ref(&f), &negs, a() + d(2));
    assert_eq!(
        (state.colour, state.popup.is_none()),
        (CodeColour::Red, true)
    );
    assert_eq!(colour(hebei(), &[f], &negs, a() + d(7)), CodeColour::Green);
}

#[test]
fn shanghai_rows() {
    let p = shanghai();
    let cc = CodeFact::new(FactKind::CloseContact, a());
    let negs = [a() + d(20) + h(1)];
    assert_eq!(
        colour(p, std::slice::from_ref(&cc), &negs, end(14) - sec()),
        CodeColour::Red
    );
    assert_eq!(
        colour(p, std::slice::from_ref(&cc), &negs, end(14)),
        CodeColour::Yellow
    );
    assert_eq!(
        colour(p, std::slice::from_ref(&cc), &negs, end(21) - sec()),
        CodeColour::Yellow
    );
    assert_eq!(colour(p, &[cc], &negs, end(21)), CodeColour::Green);

    let sc = CodeFact::new(FactKind::SecondaryContact, a());
    let negs = [a() + d(6) + h(1)];
    assert_eq!(
        colour(p, std::slice::from_ref(&sc), &negs, a()),
        CodeColour::Yellow
    );
    assert_eq!(
        colour(p, std::slice::from_ref(&sc), &negs, end(7) - sec()),
        CodeColour::Yellow
    );
    assert_eq!(colour(p, &[sc], &negs, end(7)), CodeColour::Green);

    for (kind, c) in [
        (FactKind::Inbound, CodeColour::Red),
        (FactKind::LeftHighRiskArea, CodeColour::Red),
        (FactKind::LeftMediumRiskArea, CodeColour::Yellow),
    ] {
        let f = CodeFact::new(kind, a());
        let negs = [a() + d(13) + h(1)];
        assert_eq!(
            colour(p, std::slice::from_ref(&f), &negs, end(14) - sec()),
            c,
            "{kind:?}"
        );
        assert_eq!(
            colour(p, std::slice::from_ref(&f), &negs, end(14)),
            CodeColour::Green
        );
        assert_eq!(colour(p, &[f], &[], a() + d(15)), c, "no release test yet");
    }

    for kind in [
        FactKind::InitialScreenPositive,
        FactKind::PoolPositivePending,
        FactKind::Confirmed,
        FactKind::Asymptomatic,
        FactKind::Suspected,
    ] {
        let f = CodeFact::new(kind, a());
        assert_eq!(
            colour(p, std::slice::from_ref(&f), &[], a() + d(1)),
            CodeColour::Red
        );
        assert_eq!(
            colour(p, &[f.ended(a() + d(1))], &[], a() + d(1)),
            CodeColour::Green
        );
    }

    // 应检未检: yellow until a negative sampled after the deadline.
    let due = CodeFact::new(FactKind::DueNotTested, a());
    let state = evaluate(p, std::slice::from_ref(&due), &[a() - h(1)], a() + h(5));
    assert_eq!(state.colour, CodeColour::Yellow);
    assert_eq!((state.turns_green_at, state.waits_for_test), (None, true));
    assert!(
        state.reasons[0]
            .words
            .contains("11月20日10:00后采样的核酸阴性后解除"),
        "{}",
        state.reasons[0].words
    );
    assert!(state.popup.is_none(), "Shanghai has no pop-ups");
    assert_eq!(
        colour(p, &[due], &[a() + h(1)], a() + h(5)),
        CodeColour::Green
    );
}

#[test]
fn national_rows() {
    let p = national();
    let fever = CodeFact::new(FactKind::FeverClinic, a());
    assert_eq!(
        colour(p, std::slice::from_ref(&fever), &[], a() + h(1)),
        CodeColour::Yellow
    );
    assert_eq!(
        colour(p, &[fever], &[a() + h(1)], a() + h(1)),
        CodeColour::Green
    );
    let case = CodeFact::new(FactKind::Confirmed, a());
    assert_eq!(
        colour(p, std::slice::from_ref(&case), &[], a() + d(1)),
        CodeColour::Red
    );
    assert_eq!(
        colour(p, &[case.ended(a() + d(1))], &[], a() + d(1)),
        CodeColour::Green
    );
    // Kinds the national table does not know do nothing.
    let cc = CodeFact::new(FactKind::CloseContact, a());
    assert_eq!(colour(p, &[cc], &[], a() + d(1)), CodeColour::Green);
}

#[test]
fn an_open_override_beats_everything() {
    let case = CodeFact::new(FactKind::Confirmed, a());
    let popup = CodeFact::new(FactKind::Companion, a());
    let green = CodeFact::new(FactKind::ManualOverride, a() + h(1))
        .with_colour(CodeColour::Green)
        .with_note("误判，已核实");
    let facts = [case.clone(), popup.clone(), green.clone()];
    let state = evaluate(hebei(), &facts, &[], a() + h(2));
    assert_eq!(state.colour, CodeColour::Green);
    assert!(state.popup.is_none());
    assert_eq!(state.reasons.len(), 1);
    assert_eq!(state.reasons[0].kind, FactKind::ManualOverride);
    assert!(
        state.reasons[0].words.contains("理由：误判，已核实"),
        "{}",
        state.reasons[0].words
    );
    // Before the override, and after it is closed, the rules apply.
    assert_eq!(
        colour(hebei(), &facts, &[], a() + h(1) - sec()),
        CodeColour::Red
    );
    let closed = [case.clone(), green.clone().ended(a() + h(3))];
    assert_eq!(colour(hebei(), &closed, &[], a() + h(3)), CodeColour::Red);
    // A red override beats a green code; with an end it returns then.
    let red = CodeFact::new(FactKind::ManualOverride, a())
        .with_colour(CodeColour::Red)
        .ended(a() + d(2));
    let state = evaluate(hebei(), std::slice::from_ref(&red), &[], a() + d(1));
    assert_eq!(state.colour, CodeColour::Red);
    assert_eq!(state.turns_green_at, Some(a() + d(2)));
    // The newest override wins.
    let later = CodeFact::new(FactKind::ManualOverride, a() + h(5)).with_colour(CodeColour::Yellow);
    assert_eq!(
        colour(hebei(), &[red, later], &[], a() + d(1)),
        CodeColour::Yellow
    );
    // Without a colour: red, and said so.
    let blank = CodeFact::new(FactKind::ManualOverride, a());
    let state = evaluate(hebei(), &[blank], &[], a() + h(1));
    assert_eq!(state.colour, CodeColour::Red);
    assert!(state.reasons[0].words.contains("未注明颜色"));
}

#[test]
fn another_provinces_colour_is_mirrored_until_it_clears_it() {
    let f = CodeFact::new(FactKind::OtherProvince, a())
        .with_colour(CodeColour::Yellow)
        .with_note("北京市");
    for p in policies() {
        let state = evaluate(p, std::slice::from_ref(&f), &[a() + h(1)], a() + d(30));
        assert_eq!(state.colour, CodeColour::Yellow, "{}", p.id);
        assert_eq!((state.turns_green_at, state.waits_for_test), (None, false));
        assert!(
            state.reasons[0].words.contains("北京市"),
            "{}",
            state.reasons[0].words
        );
        let cleared = f.clone().ended(a() + d(3));
        assert_eq!(evaluate(p, &[cleared], &[], a() + d(3)), CodeState::green());
    }
    let red = CodeFact::new(FactKind::OtherProvince, a()).with_colour(CodeColour::Red);
    assert_eq!(colour(hebei(), &[red], &[], a()), CodeColour::Red);
}

#[test]
fn several_facts_combine_worst_colour_last_popup_latest_return() {
    let companion = CodeFact::new(FactKind::Companion, a());
    let county = CodeFact::new(FactKind::LeftOutbreakCounty, a() + d(2));
    let pool = CodeFact::new(FactKind::PoolPositivePending, a() + d(3)).ended(a() + d(4));
    let fever = CodeFact::new(FactKind::FeverClinic, a() + d(3));
    let facts = [companion, county, pool, fever];
    let state = evaluate(hebei(), &facts, &[], a() + d(3) + h(1));
    assert_eq!(state.colour, CodeColour::Red);
    // Both county and fever lift 14 days after their anchor; the fever one is latest.
    assert_eq!(state.popup.as_ref().unwrap().kind, FactKind::FeverClinic);
    assert_eq!(state.turns_green_at, Some(end(17)));
    assert_eq!(state.reasons.len(), 4);
    assert_eq!(
        state.reasons[0].kind,
        FactKind::PoolPositivePending,
        "red first"
    );
    assert_eq!(state.reasons[0].until, Some(a() + d(4)));
    assert_eq!(
        state.reasons[3].kind,
        FactKind::Companion,
        "the earliest lift last"
    );
    assert!(
        state
            .summary_zh()
            .starts_with("红码（弹窗）：混管阳性待复核"),
        "{}",
        state.summary_zh()
    );
    assert!(state.summary_zh().contains("等4项"));
    // Anything waiting on a non-date makes the return unknown.
    let mut facts = facts.to_vec();
    facts.push(CodeFact::new(FactKind::Confirmed, a()));
    let state = evaluate(hebei(), &facts, &[], a() + d(3) + h(1));
    assert_eq!(state.turns_green_at, None);
}

#[test]
fn evaluation_is_cheap_enough_for_millions() {
    // Not a benchmark (debug builds are slow); a guard against accidental quadratic work.
    let facts: Vec<CodeFact> = (0..50)
        .map(|i| CodeFact::new(FactKind::Companion, a() - h(i)))
        .collect();
    let negs: Vec<DateTime<Utc>> = (0..200).map(|i| a() - h(i)).collect();
    let state = evaluate(hebei(), &facts, &negs, a() + d(2));
    assert_eq!(state.reasons.len(), 50);
}

#[test]
fn a_close_contacts_code_and_isolation_plan_count_the_same_days() {
    use crate::investigation::Regime;
    use crate::isolation::{PersonCategory, plan, schedule};
    // Last exposure late in the evening: day 1 is still that date, for the plan and the code.
    let exposure = bj("2022-11-20 22:30");
    let plan = plan(Regime::Ninth, PersonCategory::CloseContact).unwrap();
    let schedule = schedule(plan, beijing_date(exposure));
    let centralised_end = schedule.centralised_end().unwrap();
    let f = CodeFact::new(FactKind::CloseContact, exposure);
    let turns_yellow = end_of(exposure, 7);
    // Red through the last day of the centralised phase, yellow from the first day at home.
    assert_eq!(beijing_date(turns_yellow - sec()), centralised_end);
    assert_eq!(
        colour(hebei(), std::slice::from_ref(&f), &[], turns_yellow - sec()),
        CodeColour::Red
    );
    assert_eq!(
        colour(hebei(), std::slice::from_ref(&f), &[], turns_yellow),
        CodeColour::Yellow
    );
    // The home phase's last day is the code's day 10: the plan's day-10 test releases both.
    let last_home_day = schedule.phases.last().unwrap().end;
    assert_eq!(beijing_date(end_of(exposure, 10) - sec()), last_home_day);
    let day10_test = crate::time::beijing_midnight(last_home_day) + h(9);
    assert_eq!(
        colour(hebei(), &[f], &[day10_test], end_of(exposure, 10)),
        CodeColour::Green
    );
}
