//! Reading the audit log (administrators only), scoped to the administrator's subtree.

use fangkong_domain::region::RegionLevel;
use fangkong_domain::role::Permission;
use fangkong_store::AuditRecord;

use crate::scope::masked_username;
use crate::{Actor, App, AppResult};

/// Who did something, as a page names them: a background step's words, or else the user's display
/// name (see [`App::actor_names`]).
pub fn system_actor_label(username: &str) -> Option<&'static str> {
    Some(match username {
        "investigation" => "流调判定（自动）",
        "system" => "系统（自动）",
        "analytics" => "大数据分析（自动）",
        "seed" => "数据初始化",
        "command-line" => "命令行",
        _ => return None,
    })
}

impl App {
    /// Display names for the usernames a page shows as "who" (办理人、划定人): a background
    /// step in words, a user by their display name, and a name no longer known as it is.
    pub async fn actor_names(
        &self,
        usernames: &[&str],
    ) -> AppResult<std::collections::HashMap<String, String>> {
        let mut names = std::collections::HashMap::new();
        for &username in usernames {
            if names.contains_key(username) {
                continue;
            }
            let name = match system_actor_label(username) {
                Some(words) => words.to_string(),
                None => self
                    .store
                    .user_by_username(username)
                    .await?
                    .map_or_else(|| username.to_string(), |u| u.display_name),
            };
            names.insert(username.to_string(), name);
        }
        Ok(names)
    }

    /// The newest entries (200 a page) of users inside the actor's jurisdiction; a province-level
    /// administrator also sees entries of nobody known (failed logins with unknown usernames).
    /// Usernames that look like an ID number or a phone are shown masked.
    pub async fn audit_log(
        &self,
        actor: &Actor,
        action: &str,
        before_id: Option<i64>,
    ) -> AppResult<Vec<AuditRecord>> {
        actor.require(Permission::ViewAuditLog)?;
        let before = before_id.unwrap_or(i64::MAX);
        let mut records = if actor.jurisdiction.level() == RegionLevel::Province {
            self.store.audit_page(action.trim(), before, 200).await?
        } else {
            let (lower, upper) = actor.jurisdiction_range();
            self.store
                .audit_page_within(action.trim(), before, 200, (&lower, &upper))
                .await?
        };
        for record in &mut records {
            record.username = masked_username(&record.username);
        }
        Ok(records)
    }
}

/// The Chinese words of an audit action, as the log page and its filter show it (the code stays
/// what is stored and filtered on). Every action `app` writes is here: the architecture test reads
/// the sources.
pub const AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("reveal", "查看完整个人信息"),
    ("analytics_job", "大数据分析任务完成"),
    ("set_analytics_policy", "设置大数据分析规则"),
    ("import_pings", "导入位置数据"),
    ("load_cell_map", "导入基站网格对照表"),
    ("draft_bulletin", "生成疫情通报草稿"),
    ("edit_bulletin", "审核修改疫情通报"),
    ("publish_bulletin", "发布疫情通报"),
    ("alert_close", "核实处置预警"),
    ("environment_positive", "上报冷链/环境阳性"),
    ("record_vaccine_dose", "登记疫苗接种"),
    ("import_vaccine_doses", "导入接种记录"),
    ("record_contraindication", "登记接种禁忌"),
    ("register_cold_chain_batch", "登记冷链食品批次"),
    ("record_cold_chain_movement", "登记冷链批次流向"),
    ("record_cold_chain_test", "登记冷链批次检测结果"),
    ("command_switch", "平急转换"),
    ("emergency_task_done", "完成应急任务"),
    ("export", "导出"),
    ("import", "导入"),
    ("create", "新增"),
    ("update", "修改"),
    ("unchanged", "保存（无改动）"),
    ("login", "登录"),
    ("login_failed", "登录失败"),
    ("logout", "退出"),
    ("add_code_fact", "添加赋码依据"),
    ("end_code_fact", "结束赋码依据"),
    ("add_dcc_signers", "导入欧盟证书签发者"),
    ("assign", "分派线索"),
    ("clear", "解除密接判定"),
    ("community_check", "社区核查报备"),
    ("create_checkpoint", "设立卡口"),
    ("create_venue", "登记场所码"),
    ("decide_appeal", "处理申诉"),
    ("file_appeal", "提交申诉"),
    ("issue_tubes", "发放采样管"),
    ("designate_risk_area", "划定风险区域"),
    ("risk_area_step", "调整风险区域等级"),
    ("record_area_round", "登记区域核酸全阴"),
    ("import_contacts", "导入接触者名单"),
    ("land", "线索落地"),
    ("mark_round_untested", "标记应检未检"),
    ("move_grid", "迁移网格"),
    ("move_in_request", "申请迁入"),
    ("move_in_approve", "批准迁入"),
    ("move_in_refuse", "驳回迁入"),
    ("query_itinerary", "行程查询"),
    ("read_itinerary", "查看行程"),
    ("set_code_policy", "切换赋码规则"),
    ("set_local_test_codes", "设置本地检测项目代码"),
    ("set_tracing_regime", "切换防控方案版本"),
    ("view_health_code", "查看健康码"),
    ("view_person_file", "查看一人一档"),
    ("add_duty_roster", "排班"),
    ("remove_duty_roster", "撤销排班"),
    ("write_handover", "填写交接班记录"),
    ("call_spot_check", "值班抽查"),
    ("record_spot_check", "记录抽查结果"),
    ("file_daily_report", "报送日报告"),
    ("correct_daily_report", "更正日报告"),
    ("set_report_due", "设置日报告报送时限"),
    ("file_incident", "重大事项首报"),
    ("follow_up_incident", "重大事项续报"),
    ("close_incident", "重大事项终报"),
    ("acknowledge_incident", "上级收到重大事项"),
    ("create_warehouse", "登记物资储备仓库"),
    ("record_reserve_movement", "物资出入库登记"),
    ("set_reserve_rate", "填报物资日消耗量"),
    ("request_support", "申请跨地区物资支援"),
    ("approve_support", "同意物资支援申请"),
    ("refuse_support", "拒绝物资支援申请"),
    ("dispatch_support", "支援物资发运出库"),
    ("receive_support", "支援物资签收入库"),
    ("register_pharmacy", "登记零售药店"),
    ("register_supply_enterprise", "保供企业纳入白名单"),
    ("add_supply_vehicle", "登记保供车辆"),
    ("add_supply_person", "登记保供企业人员"),
    ("record_supply_negative", "登记保供人员核酸报告"),
    ("issue_supply_pass", "签发保供通行证"),
    ("revoke_supply_pass", "撤销保供通行证"),
    ("report_pharmacy_sale", "药店销售实名登记"),
    ("report_pharmacy_sales", "药店系统上报销售记录"),
    ("import_pharmacy_sales", "上传药店销售记录"),
    ("start_drill", "开始应急演练"),
    ("measure_drill", "应急演练评分"),
    ("file_drill_report", "归档应急演练报告"),
    ("request_delivery", "申请物资配送"),
    ("add_delivery_point", "设置物资收货点"),
    ("allocate_deliveries", "物资配送排时段"),
    ("step_delivery", "更新物资配送状态"),
    ("file_gathering", "聚集性活动报批"),
    ("decide_gathering", "审批聚集性活动"),
];

/// The words of `action`; an action without words (written by an older version) is “其他操作”.
pub fn audit_action_label(action: &str) -> &'static str {
    AUDIT_ACTIONS
        .iter()
        .find(|(code, _)| *code == action)
        .map_or("其他操作", |(_, label)| label)
}

/// The kinds of records an audit target names (`lead:12`), in Chinese.
const TARGET_KINDS: &[(&str, &str)] = &[
    ("admission", "收治"),
    ("antigen_report", "抗原自测"),
    ("case", "病例"),
    ("case_stop", "病例轨迹"),
    ("contact", "接触者"),
    ("daily_report", "日报告"),
    ("door_visit", "入户走访"),
    ("exemption", "免检登记"),
    ("hospital", "定点医院"),
    ("household", "户"),
    ("import", "导入批次"),
    ("incident", "重大事项"),
    ("isolation_site", "隔离点"),
    ("lead", "线索"),
    ("lead_import", "推送导入批次"),
    ("measure", "管控措施"),
    ("measure_test", "管控检测"),
    ("move_in", "迁入申请"),
    ("region", "区划"),
    ("resident", "居民"),
    ("result_upload", "结果上传"),
    ("sampling_site", "采样点"),
    ("specimen_box", "转运箱"),
    ("test_round", "检测轮次"),
    ("transfer", "转运任务"),
    ("user", "用户"),
    ("vehicle", "车辆"),
    ("venue", "场所"),
    ("checkpoint", "卡口"),
    ("risk_area", "风险区域"),
    ("duty_roster", "排班"),
    ("duty_handover", "交接班记录"),
    ("spot_check", "值班抽查"),
    ("fever_clinic", "发热门诊"),
    ("fever_visit", "发热门诊就诊"),
    ("delivery", "配送需求"),
    ("delivery_point", "收货点"),
    ("gathering", "聚集性活动"),
];

/// An audit target in words: `lead:12` → “线索 #12”; a target of another shape is shown as it is.
pub fn audit_target_label(target: &str) -> String {
    match target.split_once(':') {
        Some((kind, id)) => match TARGET_KINDS.iter().find(|(k, _)| *k == kind) {
            Some((_, words)) => format!("{words} #{id}"),
            None => target.to_string(),
        },
        None => target.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_as_words() {
        assert_eq!(audit_action_label("designate_risk_area"), "划定风险区域");
        assert_eq!(audit_action_label("something_old"), "其他操作");
        let mut codes: Vec<&str> = AUDIT_ACTIONS.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), AUDIT_ACTIONS.len(), "each action once");
    }

    #[test]
    fn targets_read_as_words() {
        assert_eq!(audit_target_label("lead:12"), "线索 #12");
        assert_eq!(audit_target_label("test_round:3"), "检测轮次 #3");
        assert_eq!(audit_target_label("17"), "17");
        assert_eq!(audit_target_label("unknown:5"), "unknown:5");
    }
}
