//! Roles, what each may do, and the nine capabilities the navigation shows.

crate::coded_enum! {
    /// A user's role. Every user also has a jurisdiction (a region subtree); the role says what they may
    /// do, the jurisdiction where.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Role {
        Commander => "commander", "指挥部",
        Epidemiologist => "epidemiologist", "流调队员",
        GridWorker => "grid_worker", "网格员",
        Sampler => "sampler", "采样录入员",
        Lab => "lab", "检测机构",
        Checkpoint => "checkpoint", "卡口查验",
        IsolationSite => "isolation_site", "隔离点",
        Transfer => "transfer", "转运专班",
        Supply => "supply", "物资保障",
        DutyOfficer => "duty_officer", "值班员",
        Clinic => "clinic", "发热门诊",
        Pharmacy => "pharmacy", "零售药店",
        Vaccinator => "vaccinator", "接种点",
        Administrator => "administrator", "管理员",
        Resident => "resident", "居民",
    }
}

/// Things a role may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Region pages and counts, the lists of the work a role does in its area (masked).
    ViewPopulation,
    /// Search and browse the register: resident search, resident and household pages (masked). Only the
    /// roles that reach people; a lab works with tubes, a checkpoint and a sampler with the person in
    /// front of them (their lookups by document stay in their own pages).
    SearchRegister,
    /// Show one person's full ID number and phone (audited).
    RevealPersonalData,
    ImportPopulation,
    ExportPopulation,
    RecordDoorVisit,
    ViewAuditLog,
    ManageUsers,
    /// Open and close testing rounds, issue tube barcodes, set up sampling sites.
    ManageTestingRounds,
    /// Bind tubes to people at a sampling table; pack boxes; record exemptions.
    SampleSpecimens,
    /// Courier pick-up and lab receipt of specimen boxes.
    HandleSpecimens,
    UploadLabResults,
    /// Report an antigen self-test (a resident for themself, a grid worker for anyone in the grid).
    ReportAntigen,
    /// See one's own results (residents).
    ViewOwnResults,
    /// Designate risk areas and confirm their steps down (风险区域划定与调整).
    ManageRiskAreas,
    /// Keep the registry of checkpoints and venues (卡口、场所码登记).
    ManageCheckpoints,
    /// Check people at a checkpoint: scan a code or type an ID, log the passage (卡口查验).
    VerifyAtCheckpoint,
    /// See people's health codes and reasons in the jurisdiction (赋码查询).
    ViewHealthCodes,
    /// Add or end code facts, override a colour, decide appeals, recompute codes (赋码、转码、申诉处理).
    DecideHealthCodes,
    /// Ask who passed a checkpoint or visited a venue in a time window (行程查询, for tracing).
    QueryItinerary,
    /// Show one's own health code and scan venue codes (residents).
    ShowOwnCode,
    /// See cases, contacts, trajectories and chains in the jurisdiction (流调查询).
    ViewInvestigation,
    /// Record cases, trajectories, contacts and transmission links (流调溯源).
    InvestigateCases,
    /// See leads and the 24-hour landing view (落地查人台账).
    ViewLeads,
    /// Send leads: grassroots screening, assistance letters in and out, big-data push imports (线索登记、协查).
    SendLeads,
    /// Record the outcome of a lead on the ground: found and controlled, not here, left the province (落地查人).
    LandLeads,
    /// Report oneself as a risk person (群众自报, residents).
    SelfReport,
    /// See isolation sites, people under measures, transfers, hospital beds (隔离转运查询).
    ViewIsolation,
    /// Run an isolation site: rooms, check-in, temperatures, in-site tests, release (隔离点管理).
    ManageIsolationSites,
    /// Assign people to sites and rooms, dispatch and track transfers, vehicles (调度、转运).
    DispatchTransfers,
    /// Daily check-ins of people isolated or monitored at home; door-sensor alarms (居家隔离/健康监测).
    RecordHomeCheckIns,
    /// The command office's picture of its jurisdiction: the situation, what is late, the curve
    /// and the map, reports received from below (态势、超时事项、曲线与地图).
    ViewCommand,
    /// File the daily and zero reports and incident reports of one's own office (日报告、零报告、
    /// 重大事项报告).
    FileReports,
    /// Keep one's office's duty: today's board, handover notes, answering a spot check (值班值守).
    KeepDuty,
    /// Draw up duty rosters; spot-check the duty rooms below and keep the accountability list
    /// (排班、抽查、督查问责).
    ManageDuty,
    /// Review and publish the daily public bulletin (信息发布).
    PublishBulletins,
    /// Run a fever clinic's closed loop: register, triage, screen, observe, refer or release its
    /// patients (发热门诊闭环管理).
    RunFeverClinic,
    /// Report a pharmacy's real-name sales of the four drug classes (零售药店“四类药品”实名登记).
    ReportPharmacySales,
    /// See the sentinels (fever clinics, pharmacies), the alerts and each region's command state
    /// (监测预警).
    ViewWarning,
    /// Verify and close alerts, work the emergency checklist (预警核实处置、应急任务).
    RespondToWarnings,
    /// Switch a region between normal and emergency command (平急转换): a commander of that level.
    SwitchCommandState,
    /// Run emergency drills and read their after-action reports (应急演练).
    RunDrills,
    /// See the supplies of the jurisdiction: reserves and days of cover, the whitelist and its
    /// passes, the deliveries board, gatherings filed, cold-chain batches (物资保障查询).
    ViewSupplies,
    /// Record stock movements, norms and stocktakes; request, approve, dispatch and receive
    /// support between regions (物资储备台账、调拨支援).
    ManageReserves,
    /// Keep the supply whitelist (enterprises, vehicles, drivers, staff) and issue and revoke
    /// vehicle and staff passes (保供企业建档立卡、通行证签发).
    IssuePasses,
    /// Request a delivery: a resident for their household, a grid worker for people without a
    /// phone (物资配送申请).
    RequestDeliveries,
    /// Plan collection points and slots, and fulfil deliveries (最后一百米配送).
    FulfilDeliveries,
    /// File a gathering as its organiser, or for one (聚集性活动报备).
    FileGatherings,
    /// Approve or refuse gatherings at one's level (聚集性活动审批).
    ApproveGatherings,
    /// Record and import vaccine doses (疫苗接种登记).
    RecordVaccinations,
    /// See vaccination coverage and the lists of people not yet vaccinated (接种率、老年人接种推进).
    ViewVaccination,
    /// Register cold-chain batches, their tests and their movements; trace a batch (冷链食品追溯).
    ManageColdChain,
    /// See the big-data push jobs (大数据推送: risk-area visitors, 时空伴随者, e-fence) and what
    /// they found (masked).
    ViewAnalytics,
    /// Set the jurisdiction's analysis rules, run a job by hand, load the cell map and import an
    /// operator's pings.
    ManageAnalytics,
}

impl Role {
    /// Accepts the code or the Chinese label.
    pub fn parse(raw: &str) -> Result<Role, String> {
        let raw = raw.trim();
        Role::ALL
            .into_iter()
            .find(|role| role.code() == raw || role.label_zh() == raw)
            .ok_or_else(|| {
                let known: Vec<&str> = Role::ALL.iter().map(|r| r.code()).collect();
                format!("未知角色“{raw}”，可选：{}", known.join(", "))
            })
    }

    pub fn allows(&self, permission: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match permission {
            // Everyone who works the outbreak needs to find people in their area.
            ViewPopulation => !matches!(self, Resident | Pharmacy),
            SearchRegister => matches!(
                self,
                GridWorker | Epidemiologist | Commander | Administrator
            ),
            // Those who must reach a person: call them, find them, check their papers.
            RevealPersonalData => matches!(
                self,
                Commander
                    | Epidemiologist
                    | GridWorker
                    | Sampler
                    | Checkpoint
                    | IsolationSite
                    | Administrator
            ),
            ImportPopulation => matches!(self, Commander | GridWorker | Administrator),
            ExportPopulation => matches!(self, Commander | Administrator),
            RecordDoorVisit => matches!(self, GridWorker | Commander | Administrator),
            ViewAuditLog | ManageUsers => matches!(self, Administrator),
            ManageTestingRounds => matches!(self, Commander | Administrator),
            SampleSpecimens => matches!(
                self,
                Sampler | GridWorker | Clinic | Commander | Administrator
            ),
            HandleSpecimens => matches!(
                self,
                Sampler | Transfer | Lab | Clinic | Commander | Administrator
            ),
            UploadLabResults => matches!(self, Lab | Commander | Administrator),
            ReportAntigen => matches!(self, Resident | GridWorker | Commander | Administrator),
            ViewOwnResults | ShowOwnCode => matches!(self, Resident),
            ManageRiskAreas | ManageCheckpoints => matches!(self, Commander | Administrator),
            VerifyAtCheckpoint => matches!(self, Checkpoint | Commander | Administrator),
            ViewHealthCodes => matches!(
                self,
                Commander | Epidemiologist | GridWorker | Checkpoint | DutyOfficer | Administrator
            ),
            DecideHealthCodes => matches!(self, Commander | Epidemiologist | Administrator),
            QueryItinerary => matches!(self, Commander | Epidemiologist | Administrator),
            ViewInvestigation => matches!(
                self,
                Commander | Epidemiologist | DutyOfficer | Administrator
            ),
            InvestigateCases => matches!(self, Commander | Epidemiologist | Administrator),
            ViewLeads => matches!(
                self,
                Commander | Epidemiologist | GridWorker | DutyOfficer | Administrator
            ),
            SendLeads => matches!(
                self,
                Commander | Epidemiologist | GridWorker | Administrator
            ),
            LandLeads => matches!(
                self,
                GridWorker | Epidemiologist | Commander | Administrator
            ),
            SelfReport => matches!(self, Resident),
            ViewIsolation => matches!(
                self,
                Commander
                    | Epidemiologist
                    | IsolationSite
                    | Transfer
                    | DutyOfficer
                    | GridWorker
                    | Administrator
            ),
            ManageIsolationSites => matches!(self, IsolationSite | Commander | Administrator),
            DispatchTransfers => matches!(self, Transfer | Commander | Administrator),
            ViewCommand | FileReports | KeepDuty => {
                matches!(self, Commander | DutyOfficer | Administrator)
            }
            ManageDuty | PublishBulletins => matches!(self, Commander | Administrator),
            RunFeverClinic => matches!(self, Clinic | Commander | Administrator),
            ReportPharmacySales => matches!(self, Pharmacy | Commander | Administrator),
            ViewWarning => matches!(
                self,
                Commander | Epidemiologist | DutyOfficer | Administrator
            ),
            RespondToWarnings => matches!(
                self,
                Commander | Epidemiologist | DutyOfficer | Administrator
            ),
            SwitchCommandState | RunDrills => matches!(self, Commander | Administrator),
            ViewSupplies => matches!(self, Supply | Commander | DutyOfficer | Administrator),
            ManageReserves | IssuePasses => matches!(self, Supply | Commander | Administrator),
            RequestDeliveries | FileGatherings => {
                matches!(self, Resident | GridWorker | Commander | Administrator)
            }
            FulfilDeliveries => matches!(self, GridWorker | Supply | Commander | Administrator),
            ApproveGatherings => matches!(self, Commander | Administrator),
            RecordVaccinations => matches!(self, Vaccinator | Commander | Administrator),
            ViewVaccination => matches!(
                self,
                Vaccinator | GridWorker | Commander | DutyOfficer | Administrator
            ),
            ManageColdChain => matches!(self, Supply | Epidemiologist | Commander | Administrator),
            ViewAnalytics => matches!(
                self,
                Epidemiologist | Commander | DutyOfficer | Administrator
            ),
            ManageAnalytics => matches!(self, Epidemiologist | Commander | Administrator),
            RecordHomeCheckIns => matches!(
                self,
                GridWorker | Resident | IsolationSite | Commander | Administrator
            ),
        }
    }
}

/// The nine capabilities of fangkong (product.md), in the order the navigation shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    pub slug: &'static str,
    pub label_zh: &'static str,
    pub built: bool,
}

pub const CAPABILITIES: [Capability; 9] = [
    Capability {
        slug: "population",
        label_zh: "区划、网格与实有人口",
        built: true,
    },
    Capability {
        slug: "mass_testing",
        label_zh: "全员/区域核酸检测",
        built: true,
    },
    Capability {
        slug: "health_code",
        label_zh: "健康码、场所码与卡口查验",
        built: true,
    },
    Capability {
        slug: "investigation",
        label_zh: "流调溯源",
        built: true,
    },
    Capability {
        slug: "risk_area",
        label_zh: "风险区域与大数据",
        built: true,
    },
    Capability {
        slug: "isolation",
        label_zh: "隔离、转运与救治",
        built: true,
    },
    Capability {
        slug: "supplies",
        label_zh: "物资保障与民生",
        built: true,
    },
    Capability {
        slug: "command",
        label_zh: "指挥调度与值班报送",
        built: true,
    },
    Capability {
        slug: "platform",
        label_zh: "平台：用户、审计与接口",
        built: true,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_parses_from_its_code_and_its_chinese_label() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.code()), Ok(role));
            assert_eq!(Role::parse(role.label_zh()), Ok(role));
        }
        assert!(Role::parse("boss").unwrap_err().contains("未知角色"));
    }

    #[test]
    fn residents_cannot_view_the_population_and_only_administrators_read_the_audit_log() {
        assert!(!Role::Resident.allows(Permission::ViewPopulation));
        assert!(Role::Lab.allows(Permission::ViewPopulation));
        assert!(!Role::Lab.allows(Permission::RevealPersonalData));
        let searchers: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.allows(Permission::SearchRegister))
            .collect();
        assert_eq!(
            searchers,
            vec![
                Role::Commander,
                Role::Epidemiologist,
                Role::GridWorker,
                Role::Administrator
            ]
        );
        let auditors: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.allows(Permission::ViewAuditLog))
            .collect();
        assert_eq!(auditors, vec![Role::Administrator]);
    }
}
