//! What is late (超时事项): the kinds of deadline the command office watches across modules, who
//! owns each, and when a deadline counts as past or about to pass.

crate::coded_enum! {
    /// A kind of deadline on the late list, in the order the list shows them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum LateKind {
        /// A case's online report is due 2 hours after it is found (网络直报).
        CaseReport => "case_report", "病例2小时网络直报",
        /// A case's investigation report is due 24 hours after it is found.
        CaseInvestigation => "case_investigation", "病例24小时流调报告",
        /// A lead must be landed within 24 hours of receipt (落地查人).
        Lead => "lead", "线索24小时落地",
        /// A person waits for an ambulance to a designated hospital.
        AwaitingHospital => "awaiting_hospital", "等待救护车送定点医院",
        /// A person allocated a room waits for the coach to the site.
        AwaitingCoach => "awaiting_coach", "等待转运到隔离点",
        /// A single-tube recheck not yet sampled (单管复核).
        Recheck => "recheck", "待单管复核",
        /// Tubes received more than 24 hours ago without a result.
        TubeWithoutResult => "tube_without_result", "试管超过24小时未出结果",
        /// A specimen box on the road more than 2 hours.
        BoxOnRoad => "box_on_road", "转运箱超过2小时未送达",
        /// A person isolated at home without a check-in yesterday or today.
        HomeCheckIn => "home_check_in", "居家隔离漏打卡",
        /// A door-sensor alarm not yet handled.
        DoorAlarm => "door_alarm", "门磁报警",
        /// An office's daily or zero report past its due time (漏报).
        ReportNotFiled => "report_not_filed", "日报告/零报告未报送",
        /// An incident's first report past the required time (重大事项首报).
        IncidentFirstReport => "incident_first_report", "重大事项首报超时或一天无续报",
        /// An alert not verified by its deadline (预警核实).
        Alert => "alert", "预警超时未核实",
        /// A task of the emergency checklist past its due time (应急任务).
        EmergencyTask => "emergency_task", "应急任务超时未完成",
        /// A delivery to a sealed or isolated household past its due time (medicine: 2–6 h).
        Delivery => "delivery", "封控隔离家庭物资配送超时",
    }
}

impl LateKind {
    /// Who must act, as the duty room would name them on the phone.
    pub fn owner_zh(self) -> &'static str {
        match self {
            LateKind::CaseReport => "病例所在地疾控中心（网络直报）",
            LateKind::CaseInvestigation => "流调队",
            LateKind::Lead | LateKind::HomeCheckIn | LateKind::DoorAlarm => "所在网格网格员",
            LateKind::Recheck => "所在网格网格员与采样点",
            LateKind::AwaitingHospital | LateKind::AwaitingCoach => "转运专班",
            LateKind::TubeWithoutResult | LateKind::BoxOnRoad => "检测机构与转运人员",
            LateKind::ReportNotFiled | LateKind::IncidentFirstReport => "该级指挥部值班室",
            LateKind::Alert => "预警规则指定的核实单位",
            LateKind::EmergencyTask => "应急清单指定的责任专班",
            LateKind::Delivery => "所在网格网格员与配送志愿者",
        }
    }
}

/// How long before a deadline an item joins the list as about to be late.
pub const DUE_SOON_SECONDS: i64 = 2 * 3600;

/// Where one deadline stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lateness {
    /// Past the deadline by this many minutes.
    Late(i64),
    /// Due within [`DUE_SOON_SECONDS`], in this many minutes.
    DueSoon(i64),
    NotYet,
}

impl Lateness {
    pub fn of(due: i64, now: i64) -> Lateness {
        if now > due {
            Lateness::Late((now - due) / 60)
        } else if due - now <= DUE_SOON_SECONDS {
            Lateness::DueSoon((due - now) / 60)
        } else {
            Lateness::NotYet
        }
    }

    /// "超时 3小时20分" / "还有 45分" / "".
    pub fn words(self) -> String {
        match self {
            Lateness::Late(m) => format!("超时 {}", minutes_words(m)),
            Lateness::DueSoon(m) => format!("还有 {}", minutes_words(m)),
            Lateness::NotYet => String::new(),
        }
    }
}

/// "2天3小时" / "3小时20分" / "45分".
pub fn minutes_words(minutes: i64) -> String {
    let minutes = minutes.max(0);
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    if days > 0 {
        format!("{days}天{hours}小时")
    } else if hours > 0 {
        format!("{hours}小时{mins}分")
    } else {
        format!("{mins}分")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_late_after_it_passes_and_due_soon_within_two_hours_before() {
        let due = 1_000_000;
        let table = [
            (due - 3 * 3600, Lateness::NotYet),
            (due - 2 * 3600, Lateness::DueSoon(120)),
            (due - 45 * 60, Lateness::DueSoon(45)),
            (due, Lateness::DueSoon(0)),
            (due + 1, Lateness::Late(0)),
            (due + 200 * 60, Lateness::Late(200)),
        ];
        for (now, expected) in table {
            assert_eq!(
                Lateness::of(due, now),
                expected,
                "now = due {:+}",
                now - due
            );
        }
    }

    #[test]
    fn lateness_reads_in_days_hours_and_minutes() {
        assert_eq!(Lateness::Late(200).words(), "超时 3小时20分");
        assert_eq!(Lateness::DueSoon(45).words(), "还有 45分");
        assert_eq!(Lateness::Late(3 * 1440 + 60).words(), "超时 3天1小时");
        assert_eq!(Lateness::NotYet.words(), "");
    }

    #[test]
    fn every_kind_has_an_owner_and_a_label() {
        for kind in LateKind::ALL {
            assert!(!kind.owner_zh().is_empty());
            assert_eq!(LateKind::from_code(kind.code()), Some(kind));
        }
    }
}
