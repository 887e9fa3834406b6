//! The vehicle check (车辆查验, "两码一证"): a supply pass scanned (`FP1:` QR) or its number typed,
//! with the plate and the temperature → the pass judged (genuine, not revoked, in its dates, this
//! plate, this checkpoint's county on its route), each person bound to it judged (code colour now,
//! a negative within 48 h) → through or refused with the reasons, logged as a vehicle passage.

use fangkong_domain::supplies::passes::{self as pass_rules, OnBoard, PassFacts, PassKind};
use fangkong_store::supplies::passes::{Rider, SupplyPassRecord, VehiclePassageRecord};

use super::*;

/// A vehicle check as the page or the API sends it. Unchecked text: no `Debug`.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct VehicleScan {
    /// The client's idempotency key: a retry is answered from the log.
    pub passage_key: String,
    /// The electronic pass's QR (`FP1:…`) or the 12-digit pass number.
    pub pass: String,
    /// The vehicle's plate (an articulated lorry's tractor).
    pub plate: String,
    /// The highest temperature of the people on board.
    pub temperature: String,
}

/// One person on board as the post is told.
#[derive(Debug, Clone, Serialize)]
pub struct OnBoardView {
    pub who: String,
    pub id_masked: String,
    pub colour_label: &'static str,
    pub negative: String,
}

/// The answer to a vehicle check.
#[derive(Debug, Clone, Serialize)]
pub struct VehicleOutcome {
    /// `pass` or `refuse`.
    pub decision: String,
    pub decision_label: &'static str,
    pub reasons: Vec<String>,
    /// `qr` or `typed`.
    pub method: String,
    pub pass_number: String,
    pub plate: String,
    pub route: String,
    pub people: Vec<OnBoardView>,
    /// True when this was a retry of a check already logged.
    pub repeated: bool,
    pub at: i64,
}

/// A logged vehicle check, as the checkpoint's list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct VehiclePassageView {
    pub at_label: String,
    pub method: String,
    pub pass_number: String,
    pub plate: String,
    pub people: i64,
    pub temperature: Option<f64>,
    pub decision_label: &'static str,
    pub reasons: String,
}

fn vehicle_decision_label(code: &str) -> &'static str {
    if code == Decision::Pass.code() {
        "放行"
    } else {
        "不予放行"
    }
}

fn logged_outcome(p: &VehiclePassageRecord, repeated: bool) -> VehicleOutcome {
    VehicleOutcome {
        decision: p.decision.clone(),
        decision_label: vehicle_decision_label(&p.decision),
        reasons: p
            .reasons
            .split('；')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        method: p.method.clone(),
        pass_number: p.pass_number.clone(),
        plate: p.plate.clone(),
        route: String::new(),
        people: Vec::new(),
        repeated,
        at: p.at,
    }
}

impl App {
    /// Checks a vehicle at a checkpoint against its supply pass and logs the check (refusals too).
    pub async fn check_vehicle_at_checkpoint(
        &self,
        actor: &Actor,
        checkpoint_id: i64,
        scan: &VehicleScan,
    ) -> AppResult<VehicleOutcome> {
        actor.require(Permission::VerifyAtCheckpoint)?;
        let checkpoint = self.checkpoint_in(actor, checkpoint_id).await?;
        let key = scan.passage_key.trim();
        if key.is_empty() || key.len() > 100 {
            return Err(AppError::Invalid(
                "缺少查验编号（passage_key），请刷新页面后重试".into(),
            ));
        }
        if !checkpoint.active {
            return Err(AppError::Invalid("该卡口已撤除，不能再登记查验".into()));
        }
        let passage_key = format!("vehicle:{checkpoint_id}:{key}");
        if let Some(logged) = self.store.vehicle_passage_by_key(&passage_key).await? {
            return Ok(logged_outcome(&logged, true));
        }
        let plate = cp::parse_plate(&scan.plate)
            .map_err(|e| AppError::field("车牌号", format!("{e}（半挂车填牵引车车牌）")))?;
        let temperature = match scan.temperature.trim() {
            "" => None,
            text => Some(
                cp::parse_temperature(text)
                    .map(|t| (f64::from(t) * 10.0).round() / 10.0)
                    .map_err(|e| AppError::field("体温", e.to_string()))?,
            ),
        };
        let code = scan.pass.trim();
        if code.is_empty() {
            return Err(AppError::field(
                "通行证",
                "请扫描电子通行证二维码，或输入12位通行证编号",
            ));
        }
        let now = self.now_unix();
        let mut passage = VehiclePassageRecord {
            id: 0,
            passage_key,
            checkpoint_id,
            at: now,
            method: if code.starts_with(fangkong_signed_code::PASS_PREFIX) {
                "qr".into()
            } else {
                "typed".into()
            },
            pass_id: None,
            pass_number: String::new(),
            plate: plate.clone(),
            temperature,
            people: 0,
            decision: Decision::Refuse.code().to_string(),
            reasons: String::new(),
            recorder: actor.username.clone(),
        };
        // The pass: from its QR (genuine by signature, then looked up for revocation), or by number.
        let pass: Option<SupplyPassRecord> = if passage.method == "qr" {
            let keys = self.code_keys().await?;
            match fangkong_signed_code::verify_pass(&keys.trust, code, now) {
                Ok(claims) => {
                    passage.pass_number = claims.number.clone();
                    let stored = self.store.supply_pass_by_number(&claims.number).await?;
                    if stored.is_none() {
                        return self
                            .log_vehicle(
                                passage,
                                vec![format!(
                                    "二维码签名有效，但本系统查无通行证 {}：请核实后上报",
                                    claims.number
                                )],
                                Vec::new(),
                                &[],
                                "",
                            )
                            .await;
                    }
                    stored
                }
                Err(rejection) => {
                    return self
                        .log_vehicle(passage, vec![rejection.words_zh()], Vec::new(), &[], "")
                        .await;
                }
            }
        } else {
            let Some((_, _)) = pass_rules::split_pass_number(code) else {
                return Err(AppError::field(
                    "通行证",
                    format!(
                        "“{}”不是通行证编号：应为12位数字（县级区划代码6位 + 流水号6位），或扫描二维码",
                        crate::import::shown(code, 20)
                    ),
                ));
            };
            let number: String = code.chars().filter(char::is_ascii_digit).collect();
            passage.pass_number = number.clone();
            let stored = self.store.supply_pass_by_number(&number).await?;
            if stored.is_none() {
                return self
                    .log_vehicle(
                        passage,
                        vec![format!(
                            "查无通行证 {number}：编号不存在，可能是伪造的通行证，不能放行"
                        )],
                        Vec::new(),
                        &[],
                        "",
                    )
                    .await;
            }
            stored
        };
        let Some(pass) = pass else {
            return Err(AppError::internal("a pass vanished"));
        };
        passage.pass_id = Some(pass.id);
        let facts = PassFacts {
            number: pass.number.clone(),
            kind: PassKind::from_code(&pass.kind).unwrap_or(PassKind::Staff),
            plate: pass.plate.clone(),
            route: pass.route.split(',').map(str::to_string).collect(),
            valid_from: pass.valid_from,
            valid_until: pass.valid_until,
            revoked: pass.status != "valid",
        };
        let checkpoint_county = checkpoint.region_code.as_str().get(..6).unwrap_or_default();
        // The counties' names, read only for a route that misses this county (the rare refusal).
        let mut names: HashMap<String, String> = HashMap::new();
        if !facts.route.iter().any(|c| c == checkpoint_county) {
            for code in facts
                .route
                .iter()
                .map(String::as_str)
                .chain([checkpoint_county])
            {
                if let Ok(region) = RegionCode::parse(code) {
                    let name = self.region_name(&region).await?;
                    let label = if name == code {
                        code.to_string()
                    } else {
                        format!("{name}（{code}）")
                    };
                    names.insert(code.to_string(), label);
                }
            }
        }
        let mut problems = pass_rules::judge_pass(
            &facts,
            Some(&plate),
            checkpoint_county,
            now,
            beijing_label,
            |code| names.get(code).cloned().unwrap_or_else(|| code.to_string()),
        );
        if pass.status != "valid" && !pass.revoked_reason.is_empty() {
            problems.push(format!("撤销原因：{}", pass.revoked_reason));
        }
        // Each person on board: the code now (online) and the newest negative.
        let mut on_board = Vec::new();
        let mut shown = Vec::new();
        let mut riders = Vec::new();
        for person in self.store.supply_pass_people(pass.id).await? {
            let code_person = CodePerson {
                id_type: person.id_type.clone(),
                id_number: person.id_number.clone().into(),
            };
            let (colour, _) = self.colour_now(&code_person, now).await?;
            let negative = self
                .supply_person_negative(
                    &person.id_type,
                    &person.id_number,
                    Some(person.last_negative_at),
                )
                .await?;
            let who = fangkong_domain::ids::mask_middle(&person.name, 1, 0);
            shown.push(OnBoardView {
                who: who.clone(),
                id_masked: mask_document(&person.id_type, &person.id_number),
                colour_label: colour.label_zh(),
                negative: negative.map(beijing_label).unwrap_or_default(),
            });
            riders.push(Rider {
                id_type: person.id_type.clone(),
                id_number: person.id_number.as_str().into(),
                colour: colour.code().to_string(),
            });
            on_board.push(OnBoard {
                who,
                colour,
                last_negative_at: negative,
            });
        }
        passage.people = on_board.len() as i64;
        let (through, reasons) = pass_rules::decide_vehicle(problems, &on_board, temperature, now);
        if through {
            passage.decision = Decision::Pass.code().to_string();
        }
        let route = facts.route.join("→");
        self.log_vehicle(passage, reasons, shown, &riders, &route)
            .await
    }

    async fn log_vehicle(
        &self,
        mut passage: VehiclePassageRecord,
        reasons: Vec<String>,
        people: Vec<OnBoardView>,
        riders: &[Rider],
        route: &str,
    ) -> AppResult<VehicleOutcome> {
        passage.reasons = reasons.join("；");
        if !self.store.insert_vehicle_passage(&passage, riders).await? {
            let logged = self
                .store
                .vehicle_passage_by_key(&passage.passage_key)
                .await?
                .ok_or_else(|| AppError::internal("a logged vehicle passage vanished"))?;
            return Ok(logged_outcome(&logged, true));
        }
        Ok(VehicleOutcome {
            decision_label: vehicle_decision_label(&passage.decision),
            decision: passage.decision,
            reasons,
            method: passage.method,
            pass_number: passage.pass_number,
            plate: passage.plate,
            route: route.to_string(),
            people,
            repeated: false,
            at: passage.at,
        })
    }

    /// A checkpoint's latest vehicle checks.
    pub async fn vehicle_passages(
        &self,
        actor: &Actor,
        checkpoint_id: i64,
        limit: i64,
    ) -> AppResult<Vec<VehiclePassageView>> {
        actor.require(Permission::VerifyAtCheckpoint)?;
        self.checkpoint_in(actor, checkpoint_id).await?;
        Ok(self
            .store
            .vehicle_passages_at(checkpoint_id, limit.clamp(1, 200))
            .await?
            .into_iter()
            .map(|p| VehiclePassageView {
                at_label: beijing_label(p.at),
                method: if p.method == "qr" {
                    "扫码".into()
                } else {
                    "输入编号".into()
                },
                pass_number: p.pass_number,
                plate: p.plate,
                people: p.people,
                temperature: p.temperature,
                decision_label: vehicle_decision_label(&p.decision),
                reasons: p.reasons,
            })
            .collect())
    }
}
