//! What is late (超时事项): one list across modules of everything past its deadline or about to
//! pass it, with who owns each — read through the modules' own functions (the same lists their
//! pages show), each group bounded to its first items with the count of all and a link to the
//! module's full list.

use fangkong_domain::command::incidents::DEFAULT_SILENCE_HOURS;
use fangkong_domain::command::late::{DUE_SOON_SECONDS, LateKind, Lateness};
use fangkong_domain::investigation::DeadlineState;
use fangkong_domain::mass_testing::{BOX_LATE_AFTER_SECONDS, ResultDelay, box_is_late};
use fangkong_domain::role::Permission;
use fangkong_domain::time::beijing_label;
use fangkong_store::investigation::CaseFilter;
use serde::Serialize;

use crate::investigation::case_row;
use crate::today::allowed;
use crate::{Actor, App, AppResult};

/// How many items of one kind the list shows (the count says how many there are).
pub const ITEMS_PER_KIND: usize = 20;

/// One late (or nearly late) thing.
#[derive(Debug, Clone, Serialize)]
pub struct LateItem {
    /// What it is, without personal data: a case number, a lead number, a box barcode.
    pub what: String,
    /// Where (a grid or region name, or code).
    pub place: String,
    /// The deadline, Beijing time.
    pub due: String,
    /// "超时 3小时20分" / "还有 45分".
    pub lateness: String,
    pub late: bool,
    pub href: String,
}

/// The items of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct LateGroup {
    pub kind: LateKind,
    pub label: &'static str,
    pub owner: &'static str,
    /// Past the deadline (all of them, not only the items shown).
    pub late: i64,
    /// Due within two hours.
    pub due_soon: i64,
    pub items: Vec<LateItem>,
    /// The module's page listing all of them.
    pub href: String,
}

/// The late list of the actor's jurisdiction.
#[derive(Debug, Clone, Serialize)]
pub struct LateList {
    pub region_code: String,
    pub region_name: String,
    pub as_of: String,
    pub total_late: i64,
    pub total_due_soon: i64,
    /// Kinds with something late or due soon, in `LateKind::ALL` order.
    pub groups: Vec<LateGroup>,
}

impl LateGroup {
    fn new(kind: LateKind, href: impl Into<String>) -> LateGroup {
        LateGroup {
            kind,
            label: kind.label_zh(),
            owner: kind.owner_zh(),
            late: 0,
            due_soon: 0,
            items: Vec::new(),
            href: href.into(),
        }
    }

    /// Counts an item as late or due soon by its deadline, then [`LateGroup::push`]es it: for the
    /// lists whose query returns exactly the items past or near their deadline.
    fn tally(&mut self, what: String, place: String, due: i64, now: i64, href: String) {
        match Lateness::of(due, now) {
            Lateness::Late(_) => self.late += 1,
            Lateness::DueSoon(_) => self.due_soon += 1,
            Lateness::NotYet => {}
        }
        self.push(what, place, due, now, href);
    }

    fn push(&mut self, what: String, place: String, due: i64, now: i64, href: String) {
        let lateness = Lateness::of(due, now);
        if self.items.len() < ITEMS_PER_KIND && lateness != Lateness::NotYet {
            self.items.push(LateItem {
                what,
                place,
                due: beijing_label(chrono::DateTime::from_timestamp(due, 0).unwrap_or_default()),
                lateness: lateness.words(),
                late: matches!(lateness, Lateness::Late(_)),
                href,
            });
        }
    }
}

impl App {
    /// Everything late or due within two hours in the actor's jurisdiction.
    pub async fn late_list(&self, actor: &Actor) -> AppResult<LateList> {
        actor.require(Permission::ViewCommand)?;
        let now = self.now_unix();
        let today = self.today();
        let (lower, upper) = actor.jurisdiction_range();
        let range = (lower.as_str(), upper.as_str());
        let mut groups = Vec::new();

        // Cases: the investigation module's deadline query, run as of two hours from now so the
        // cases about to be late come too; the late counts are the investigation overview's.
        let rules = self
            .tracing_regime()
            .await?
            .tracing_rules_in(actor.jurisdiction.as_str());
        let counts = self
            .store
            .case_counts(range, now, rules.report_hours, rules.investigation_hours)
            .await?;
        let soon = CaseFilter {
            kind: None,
            status: Some("active".into()),
            overdue_at: Some((
                now + DUE_SOON_SECONDS,
                rules.report_hours,
                rules.investigation_hours,
            )),
        };
        let cases = self
            .store
            .cases_page(range, &soon, None, 500, false)
            .await?;
        let mut report = LateGroup::new(LateKind::CaseReport, "/cases?overdue=1");
        let mut investigation = LateGroup::new(LateKind::CaseInvestigation, "/cases?overdue=1");
        report.late = counts.report_overdue;
        investigation.late = counts.investigation_overdue;
        for case in &cases {
            let row = case_row(case, now, today);
            let what = format!("{} {}", row.case_number, row.kind_label);
            let href = format!("/cases/{}", row.id);
            if matches!(row.report, DeadlineState::Open | DeadlineState::Overdue) {
                if row.report_due >= now {
                    report.due_soon += 1;
                }
                report.push(
                    what.clone(),
                    row.address.clone(),
                    row.report_due,
                    now,
                    href.clone(),
                );
            }
            if matches!(
                row.investigation,
                DeadlineState::Open | DeadlineState::Overdue
            ) && row.investigation_due - now <= DUE_SOON_SECONDS
            {
                if row.investigation_due >= now {
                    investigation.due_soon += 1;
                }
                investigation.push(what, row.address.clone(), row.investigation_due, now, href);
            }
        }
        groups.push(report);
        groups.push(investigation);

        // Leads past 24 hours: the leads module's overdue list.
        let mut leads = LateGroup::new(LateKind::Lead, "/leads?overdue=1");
        if let Some(overdue) = allowed(self.overdue_leads(actor, "", 1).await)? {
            leads.late = overdue.total;
            for lead in &overdue.rows {
                leads.push(
                    format!("线索#{} {}", lead.id, lead.category_label),
                    lead.grid_name.clone(),
                    lead.deadline,
                    now,
                    format!("/leads/{}", lead.id),
                );
            }
        }
        leads.due_soon = self
            .store
            .count_open_leads_due_between(range, now, now + DUE_SOON_SECONDS)
            .await?;
        groups.push(leads);

        // Transfers waiting: the transfers board, oldest first.
        if let Some(board) = allowed(self.transfers_board(actor).await)? {
            for (kind, waiting) in [
                (LateKind::AwaitingHospital, &board.to_hospitals),
                (LateKind::AwaitingCoach, &board.to_sites),
            ] {
                let mut group = LateGroup::new(kind, "/transfers");
                group.late = waiting.total;
                for m in &waiting.rows {
                    group.push(
                        format!("管控#{} {}", m.id, m.category_label),
                        m.grid_code.clone(),
                        m.status_since,
                        now,
                        format!("/isolation/measures/{}", m.id),
                    );
                }
                groups.push(group);
            }
        }

        // Rechecks owed: the recheck page's pending tasks.
        let jurisdiction = actor.jurisdiction.as_str();
        let mut rechecks = LateGroup::new(LateKind::Recheck, "/testing/rechecks?status=pending");
        if let Some(page) = allowed(
            self.recheck_tasks_page(actor, jurisdiction, Some("pending"))
                .await,
        )? {
            rechecks.late = page.total;
            for task in &page.rows {
                rechecks.push(
                    format!("复核#{} {}", task.id, task.reason_label),
                    task.grid_code.clone(),
                    task.created_at,
                    now,
                    "/testing/rechecks?status=pending".into(),
                );
            }
        }
        groups.push(rechecks);

        // The open rounds' tubes without results and boxes on the road.
        let mut tubes = LateGroup::new(LateKind::TubeWithoutResult, "/testing/results");
        let mut boxes = LateGroup::new(LateKind::BoxOnRoad, "/testing/boxes");
        if let Some(rounds) = allowed(self.rounds(actor).await)? {
            for round in rounds.iter().filter(|r| r.is_open()) {
                let [_, _, day] = self
                    .store
                    .awaiting_result_counts(
                        round.id,
                        ResultDelay::ALL.map(|d| now - d.hours() * 3600),
                    )
                    .await?;
                tubes.late += day;
                for b in self.store.boxes_in_transit(round.id).await? {
                    if box_is_late(b.packed_at, now) {
                        boxes.late += 1;
                        boxes.push(
                            format!("转运箱 {}（{}管）", b.barcode, b.tube_count),
                            round.name.clone(),
                            b.packed_at + BOX_LATE_AFTER_SECONDS,
                            now,
                            "/testing/boxes".into(),
                        );
                    }
                }
            }
        }
        groups.push(tubes);
        groups.push(boxes);

        // Home isolation: missed check-ins and door alarms, from the home board.
        if let Some(board) = allowed(self.home_board(actor).await)? {
            let mut missed = LateGroup::new(LateKind::HomeCheckIn, "/home-monitoring");
            missed.late = board.missed;
            groups.push(missed);
            let mut alarms = LateGroup::new(LateKind::DoorAlarm, "/home-monitoring");
            alarms.late = board.alarms.len() as i64;
            for alarm in &board.alarms {
                alarms.push(
                    format!("门磁 {} {}", alarm.device_id, alarm.kind_label),
                    alarm.grid_code.clone(),
                    alarm.at,
                    now,
                    "/home-monitoring".into(),
                );
            }
            groups.push(alarms);
        }

        // The command offices' own duties: daily reports past due and missing (漏报), incidents
        // whose first report came late or that have had no news for a day.
        let mut reports = LateGroup::new(LateKind::ReportNotFiled, "/command/reports");
        for missing in self.reports_not_filed(actor).await? {
            reports.late += 1;
            reports.push(
                format!("{} 日报告", missing.day),
                missing.office_name.clone(),
                missing.due_at,
                now,
                format!(
                    "/command/reports?office={}&day={}",
                    missing.office_code, missing.day
                ),
            );
        }
        groups.push(reports);
        let mut incidents = LateGroup::new(LateKind::IncidentFirstReport, "/command/incidents");
        for incident in self.incidents_overdue(actor).await? {
            incidents.late += 1;
            incidents.push(
                format!("{} {}", incident.kind.label_zh(), incident.summary),
                incident.office_name.clone(),
                if incident.overdue {
                    incident.deadline
                } else {
                    incident.last_report_at + DEFAULT_SILENCE_HOURS * 3600
                },
                now,
                format!("/command/incidents/{}", incident.id),
            );
        }
        groups.push(incidents);

        // Early warning: alerts not verified in time, the emergency checklist's tasks.
        let mut alerts = LateGroup::new(LateKind::Alert, "/warning/alerts?status=open");
        for alert in self
            .store
            .alerts_due(range, now + DUE_SOON_SECONDS, 500)
            .await?
        {
            alerts.tally(
                format!("预警#{} {}", alert.id, alert.evidence),
                alert.region_code.to_string(),
                alert.deadline,
                now,
                format!("/warning/alerts/{}", alert.id),
            );
        }
        groups.push(alerts);
        let mut tasks = LateGroup::new(LateKind::EmergencyTask, "/warning/emergency");
        for task in self
            .store
            .open_tasks_due(range, now + DUE_SOON_SECONDS, 500)
            .await?
        {
            tasks.tally(
                format!("{}（{}）", task.title, task.owner),
                task.region_code.to_string(),
                task.due_at,
                now,
                format!("/warning/emergency?region={}", task.region_code),
            );
        }
        groups.push(tasks);

        // Supplies: deliveries to sealed and isolated households past their due time (medicine
        // is due within 2–6 hours, the rest within 6–24).
        let mut deliveries = LateGroup::new(LateKind::Delivery, "/supplies/deliveries?overdue=1");
        for request in self
            .deliveries_due(actor, now + DUE_SOON_SECONDS, 500)
            .await?
        {
            deliveries.tally(
                format!(
                    "配送需求#{} {}{}",
                    request.id,
                    request.category.label_zh(),
                    if request.elderly_alone {
                        "（独居老人）"
                    } else {
                        ""
                    }
                ),
                request.grid_code.clone(),
                request.due_at,
                now,
                "/supplies/deliveries?overdue=1".to_string(),
            );
        }
        groups.push(deliveries);

        let groups: Vec<LateGroup> = groups
            .into_iter()
            .filter(|g| g.late > 0 || g.due_soon > 0)
            .collect();
        Ok(LateList {
            region_code: actor.jurisdiction.as_str().to_string(),
            region_name: self.region_name(&actor.jurisdiction).await?,
            as_of: beijing_label(self.now()),
            total_late: groups.iter().map(|g| g.late).sum(),
            total_due_soon: groups.iter().map(|g| g.due_soon).sum(),
            groups,
        })
    }
}
