//! Multi-point triggers (多点触发, domain-rules.md §10.1): the sentinel channels, the rules (data in
//! `data/warning/triggers.json`) and the alert a signal raises.

crate::coded_enum! {
    /// A sentinel channel: where a signal comes from. Every channel can raise an alert.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SignalChannel {
        FeverClinicPositive => "fever_clinic_positive", "发热门诊阳性",
        PharmacyBuyerPositive => "pharmacy_buyer_positive", "药店购药人员阳性",
        KeyGroupPositive => "key_group_positive", "重点人群常规检测阳性",
        AntigenPositive => "antigen_positive", "抗原检测阳性",
        PoolPositive => "pool_positive", "混管阳性",
        AssistancePush => "assistance_push", "区域协查推送",
        EnvironmentPositive => "environment_positive", "冷链/环境阳性",
        SalesSpike => "sales_spike", "药品销售异常增多",
        FeverVisitSpike => "fever_visit_spike", "发热门诊就诊异常增多",
    }
}

crate::coded_enum! {
    /// How urgent an alert is (预警级别): red first.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum AlertLevel {
        Red => "red", "红色预警",
        Orange => "orange", "橙色预警",
        Yellow => "yellow", "黄色预警",
    }
}

crate::coded_enum! {
    /// Where an alert stands. An open alert is verified (核实处置, with what was done) or dismissed
    /// as a false signal (排除, with why); either closes it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum AlertStatus {
        Open => "open", "待核实",
        Verified => "verified", "已核实处置",
        Dismissed => "dismissed", "已排除",
    }
}

/// One trigger rule: what a signal on its channel raises.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct TriggerRule {
    #[serde(deserialize_with = "channel_code")]
    pub channel: SignalChannel,
    #[serde(deserialize_with = "level_code")]
    pub level: AlertLevel,
    /// Hours from the signal to the verification deadline.
    pub verify_hours: i64,
    /// Who must verify, in the words the duty room uses.
    pub owner: String,
    /// Whether the alert proposes switching the region to emergency command (多点触发 → 平急转换).
    pub proposes_switch: bool,
    /// What the owner must do, in words.
    pub action: String,
    /// Spike rules: today's count must reach `ratio` × the baseline's daily mean …
    #[serde(default)]
    pub ratio: Option<f64>,
    /// … and at least this many.
    #[serde(default)]
    pub min_count: Option<i64>,
    /// The baseline: this many days before today.
    #[serde(default)]
    pub baseline_days: Option<i64>,
}

fn channel_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SignalChannel, D::Error> {
    let code = <String as serde::Deserialize>::deserialize(d)?;
    SignalChannel::from_code(&code)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown channel {code}")))
}

fn level_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<AlertLevel, D::Error> {
    let code = <String as serde::Deserialize>::deserialize(d)?;
    AlertLevel::from_code(&code)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown level {code}")))
}

#[derive(serde::Deserialize)]
struct RuleTable {
    rules: Vec<TriggerRule>,
}

/// The trigger rules (`data/warning/triggers.json`), one per channel.
pub fn rules() -> &'static [TriggerRule] {
    static RULES: std::sync::OnceLock<Vec<TriggerRule>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        serde_json::from_str::<RuleTable>(include_str!("../../data/warning/triggers.json"))
            .expect("data/warning/triggers.json is valid (tested)")
            .rules
    })
}

/// The rule of a channel. Every channel has one (tested).
pub fn rule(channel: SignalChannel) -> &'static TriggerRule {
    rules()
        .iter()
        .find(|r| r.channel == channel)
        .expect("every channel has a rule (tested)")
}

/// An alert to raise: what the store writes, idempotent by `evidence_key`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub channel: SignalChannel,
    pub level: AlertLevel,
    /// The most specific region known (a grid, a township, a county).
    pub region_code: String,
    /// What was seen, in words (no ID numbers or phones: a source key and a place).
    pub evidence: String,
    /// One signal raises one alert: `event:<person_events id>`, `spike:<channel>:<region>:<day>`,
    /// `environment:<id>`, `assistance:<region>:<day>`.
    pub evidence_key: String,
    /// A person the signal is about, when there is one.
    pub resident_id: Option<i64>,
    pub raised_at: i64,
    pub deadline: i64,
    pub owner: String,
    pub proposes_switch: bool,
}

/// The alert `channel`'s rule raises for a signal seen at `at`.
pub fn alert_for(
    channel: SignalChannel,
    region_code: &str,
    evidence: String,
    evidence_key: String,
    resident_id: Option<i64>,
    at: i64,
) -> NewAlert {
    let rule = rule(channel);
    NewAlert {
        channel,
        level: rule.level,
        region_code: region_code.to_string(),
        evidence,
        evidence_key,
        resident_id,
        raised_at: at,
        deadline: at + rule.verify_hours * 3600,
        owner: rule.owner.clone(),
        proposes_switch: rule.proposes_switch,
    }
}

/// A spike: today's count against the mean of the baseline days.
#[derive(Debug, Clone, PartialEq)]
pub struct Spike {
    pub today: i64,
    /// Mean per day over the baseline, in hundredths (words: "日均 3.25").
    pub baseline_mean_x100: i64,
}

impl Spike {
    pub fn words(&self, what: &str) -> String {
        format!(
            "今日{what} {} 人次，前期日均 {}.{:02} 人次",
            self.today,
            self.baseline_mean_x100 / 100,
            self.baseline_mean_x100 % 100
        )
    }
}

/// Whether `today` is a spike over `baseline` (one count per baseline day, zero for a day without
/// any) under the channel's rule: at least `min_count` and at least `ratio` × the mean. A rule
/// without spike parameters never fires; an empty baseline counts as a mean of zero, so only
/// `min_count` holds a new sentinel back.
pub fn spike(channel: SignalChannel, today: i64, baseline: &[i64]) -> Option<Spike> {
    let rule = rule(channel);
    let (ratio, min_count) = (rule.ratio?, rule.min_count?);
    let days = rule.baseline_days.unwrap_or(7).max(1);
    let sum: i64 = baseline.iter().take(days as usize).sum();
    let mean = sum as f64 / days as f64;
    (today >= min_count && today as f64 >= ratio * mean).then(|| Spike {
        today,
        baseline_mean_x100: (mean * 100.0).round() as i64,
    })
}

/// What an alert's owner may do to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertInput {
    /// Verified and acted on: what was done.
    Verify { note: String },
    /// A false signal: why.
    Dismiss { note: String },
}

/// The change an input makes: the new status, stamped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertChange {
    pub status: AlertStatus,
    pub note: String,
    pub at: i64,
}

/// An alert's one state change: only an open alert closes, and never without words.
pub fn transition(status: AlertStatus, input: AlertInput, now: i64) -> Result<AlertChange, String> {
    if status != AlertStatus::Open {
        return Err(format!("该预警已{}，不能再处理", status.label_zh()));
    }
    let (status, note) = match input {
        AlertInput::Verify { note } => (AlertStatus::Verified, note),
        AlertInput::Dismiss { note } => (AlertStatus::Dismissed, note),
    };
    let note = note.trim().to_string();
    if note.is_empty() {
        return Err(match status {
            AlertStatus::Dismissed => "请填写排除理由".into(),
            _ => "请填写核实与处置情况".into(),
        });
    }
    if note.chars().count() > 500 {
        return Err("处置情况不超过500字".into());
    }
    Ok(AlertChange {
        status,
        note,
        at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_has_exactly_one_rule() {
        for channel in SignalChannel::ALL {
            assert_eq!(
                rules().iter().filter(|r| r.channel == channel).count(),
                1,
                "{channel:?}"
            );
        }
    }

    #[test]
    fn a_fever_clinic_positive_is_red_due_in_two_hours_and_proposes_the_switch() {
        let alert = alert_for(
            SignalChannel::FeverClinicPositive,
            "130109110201",
            "藁城区人民医院发热门诊 患者抗原阳性".into(),
            "event:7".into(),
            Some(3),
            1_000,
        );
        assert_eq!(alert.level, AlertLevel::Red);
        assert_eq!(alert.deadline, 1_000 + 2 * 3600);
        assert!(alert.proposes_switch);
        let pool = alert_for(
            SignalChannel::PoolPositive,
            "130109",
            String::new(),
            "x".into(),
            None,
            0,
        );
        assert!(!pool.proposes_switch);
        assert_eq!(pool.deadline, 6 * 3600);
    }

    #[test]
    fn a_spike_needs_both_the_ratio_and_the_minimum() {
        // Sales: ratio 2.0, at least 20, 7 baseline days.
        let baseline = [10, 10, 10, 10, 10, 10, 10];
        assert!(
            spike(SignalChannel::SalesSpike, 19, &[0; 7]).is_none(),
            "below the minimum"
        );
        assert!(spike(SignalChannel::SalesSpike, 19, &baseline).is_none());
        let s = spike(SignalChannel::SalesSpike, 20, &baseline).expect("twice the mean");
        assert_eq!(s.baseline_mean_x100, 1000);
        assert_eq!(s.words("购药"), "今日购药 20 人次，前期日均 10.00 人次");
        assert!(
            spike(SignalChannel::SalesSpike, 20, &[0; 7]).is_some(),
            "new activity"
        );
        // Days missing from the baseline count as zero.
        assert!(spike(SignalChannel::FeverVisitSpike, 10, &[8]).is_some());
        assert!(spike(SignalChannel::FeverVisitSpike, 10, &[80]).is_none());
        assert!(
            spike(SignalChannel::PoolPositive, 1_000, &[]).is_none(),
            "not a spike rule"
        );
    }

    #[test]
    fn only_an_open_alert_closes_and_never_without_words() {
        let verify = |note: &str| AlertInput::Verify { note: note.into() };
        let done = transition(AlertStatus::Open, verify(" 已转运 "), 5).unwrap();
        assert_eq!(
            done,
            AlertChange {
                status: AlertStatus::Verified,
                note: "已转运".into(),
                at: 5
            }
        );
        assert_eq!(
            transition(AlertStatus::Open, verify(" "), 5).unwrap_err(),
            "请填写核实与处置情况"
        );
        let dismiss = AlertInput::Dismiss {
            note: String::new(),
        };
        assert_eq!(
            transition(AlertStatus::Open, dismiss, 5).unwrap_err(),
            "请填写排除理由"
        );
        assert!(
            transition(AlertStatus::Verified, verify("x"), 5)
                .unwrap_err()
                .contains("已核实处置")
        );
        assert!(transition(AlertStatus::Open, verify(&"长".repeat(501)), 5).is_err());
    }
}
