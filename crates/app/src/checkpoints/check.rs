//! The check (查验): a QR, an EU DCC or an ID number → a decision → a passage logged through the
//! group-commit writer; arrivals from risk areas get their landing test and code.

use super::*;

impl App {
    /// Verifies what a checkpoint scanned or typed, decides by the checkpoint's rule and logs the
    /// passage durably before answering. An unreadable, forged or expired code is refused with the
    /// reason and logged too (as "rejected"), so attempts are on record.
    pub async fn verify_at_checkpoint(
        &self,
        actor: &Actor,
        checkpoint_id: i64,
        scan: &CheckpointScan,
    ) -> AppResult<CheckOutcome> {
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
        // Read what was typed; a mistake is answered in words and, like every refusal at the post,
        // logged (an impossible temperature is refused, never stored as a reading).
        let temperature = match scan.temperature.trim() {
            "" => Ok(None),
            // One decimal, as the thermometer shows it.
            text => cp::parse_temperature(text)
                .map(|t| Some((f64::from(t) * 10.0).round() / 10.0))
                .map_err(|e| e.to_string()),
        };
        let plate = match scan.plate.trim() {
            "" => Ok(None),
            text => cp::parse_plate(text).map(Some).map_err(|e| e.to_string()),
        };
        // A retry is found by the unique key when its passage is written (no read on the way in:
        // thousands of checks a second should not pay for the rare retry); it gets the logged answer.
        let passage_key = format!("{checkpoint_id}:{key}");
        let kind = checkpoint.kind;
        let rule = cp::rule_for(kind);
        let now = self.now_unix();
        let code = scan.code.trim();
        let mut passage = PassageWrite {
            id: 0,
            passage_key,
            checkpoint_id,
            at: now,
            method: if code.starts_with("HC1:") {
                "dcc".into()
            } else if code.starts_with(fangkong_signed_code::CODE_PREFIX) {
                "qr".into()
            } else {
                "id".into()
            },
            id_type: "mainland_id".into(),
            id_number: Default::default(),
            resident_id: None,
            colour: None,
            popup: false,
            temperature: temperature.clone().ok().flatten(),
            plate: plate.clone().ok().flatten(),
            from_region: None,
            decision: String::new(),
            reasons: String::new(),
            recorder: actor.username.clone(),
        };
        if let Err(words) = temperature.as_ref().and(plate.as_ref()) {
            // Logged under a key of its own: the corrected check that follows (same page, same key)
            // must be decided, not answered with this refusal.
            let mut refused = passage.clone();
            refused.passage_key = format!("{}:bad-input", passage.passage_key);
            let _ = self.log_rejected(refused, words.clone()).await?;
            return Err(AppError::Invalid(words.clone()));
        }
        let mut name: Option<String> = None;
        let (person, resident_id, colour, popup, last_negative, inbound) = if code
            .starts_with("HC1:")
        {
            passage.method = "dcc".into();
            let keys = self.code_keys().await?;
            match fangkong_signed_code::verify_dcc(&keys.dsc, code, now) {
                Ok(dcc) => {
                    passage.id_type = "passport".into();
                    passage.id_number = DocumentNumber::from(format!(
                        "DCC:{}:{}:{}",
                        dcc.issuer_country, dcc.family_name, dcc.date_of_birth
                    ));
                    (None, None, CodeColour::Green, false, None, Some(dcc))
                }
                Err(rejection) => return self.log_rejected(passage, rejection.words_zh()).await,
            }
        } else if code.starts_with(fangkong_signed_code::CODE_PREFIX) {
            passage.method = "qr".into();
            let keys = self.code_keys().await?;
            let claims = match fangkong_signed_code::verify_code(&keys.trust, code, now) {
                Ok(claims) => claims,
                Err(rejection) => return self.log_rejected(passage, rejection.words_zh()).await,
            };
            let Some(owner) = self
                .codes
                .person_of_subject(&self.store, &claims.subject)
                .await?
            else {
                return self
                    .log_rejected(
                        passage,
                        "二维码签名有效，但持码人不在本系统登记（可能是外省码），请核验身份证"
                            .into(),
                    )
                    .await;
            };
            let person = owner.person;
            let resident_id = owner.resident_id;
            name = owner.name.map(String::from);
            if !scan.id_number.trim().is_empty() {
                let swiped = parse_document("", &scan.id_number)?;
                if swiped.number() != person.id_number.as_str()
                    || swiped.id_type().code() != person.id_type
                {
                    passage.id_number = person.id_number.clone();
                    return self
                        .log_rejected(
                            passage,
                            "人码不符：出示的健康码不是此身份证本人的，请本人出示自己的健康码"
                                .into(),
                        )
                        .await;
                }
            }
            // Online, the current code wins over the colour signed into the QR a few minutes ago.
            let (colour, popup) = self.colour_now(&person, now).await?;
            (
                Some(person),
                resident_id,
                colour,
                popup,
                claims.last_negative_sampled_at,
                None,
            )
        } else {
            passage.method = "id".into();
            let document = parse_document("", code).map_err(|e| {
                AppError::Invalid(format!("{e}（请扫描健康码，或输入18位身份证号）"))
            })?;
            let person = CodePerson {
                id_type: document.id_type().code().to_string(),
                id_number: document.number().into(),
            };
            let (colour, popup) = self.colour_now(&person, now).await?;
            let last_negative = self.store.negatives_of(&person).await?.into_iter().max();
            (Some(person), None, colour, popup, last_negative, None)
        };
        // Arrivals from a county with a medium or high risk area: landing test and an assigned code.
        let mut arrival_tier: Option<AreaTier> = None;
        if let Ok(from) = RegionCode::parse(&scan.from_region) {
            passage.from_region = Some(from.as_str().to_string());
            let county = if from.as_str().len() > 6 {
                &from.as_str()[..6]
            } else {
                from.as_str()
            };
            arrival_tier = self
                .store
                .active_risk_areas_around(county)
                .await?
                .iter()
                .map(|a| a.tier)
                .filter(|t| t.colour_fact().is_some())
                .max_by_key(|t| crate::risk_areas::tier_rank(*t));
        } else if !scan.from_region.trim().is_empty() {
            return Err(AppError::Invalid(format!(
                "来源地“{}”不是区划编码：请选择来自的县区",
                scan.from_region.trim()
            )));
        }
        let presented = Presented {
            colour,
            popup,
            last_negative_sampled_at: last_negative.map(unix_to_utc),
            temperature_c: temperature.ok().flatten().map(|t| t as f32),
            arriving_from_risk_area: arrival_tier.is_some() || inbound.is_some(),
        };
        let decision = cp::decide(rule, &presented, unix_to_utc(now));
        let mut reasons = decision.reasons.clone();
        if let Some(dcc) = &inbound {
            reasons.insert(
                0,
                format!(
                    "欧盟数字新冠证书有效（{}，签发国 {}），入境人员请登记证件后落地检测",
                    dcc.kind.label_zh(),
                    dcc.issuer_country
                ),
            );
        }
        passage.colour = Some(colour);
        passage.popup = popup;
        passage.resident_id = resident_id;
        if let Some(person) = &person {
            passage.id_type = person.id_type.clone();
            passage.id_number = person.id_number.clone();
        }
        passage.decision = decision.decision.code().to_string();
        passage.reasons = reasons.join("；");
        // 赋码 before the passage is logged: the arrival's fact key (checkpoint, person, Beijing
        // day) makes a repeat harmless, and a failure here leaves no logged check without its code.
        let assigned = decision.assign_code && person.is_some();
        if assigned && let Some(person) = &person {
            let fact_kind = arrival_tier
                .and_then(|t| t.colour_fact())
                .unwrap_or(FactKind::Inbound);
            self.assign_arrival_code(person, fact_kind, &checkpoint, now, scan.from_region.trim())
                .await?;
        }
        if !self.log_passage(passage.clone()).await? {
            return self.logged_answer(&passage.passage_key).await;
        }
        // The name comes with the subject (no read per check); a DCC carries its holder's.
        let name_masked = name
            .or_else(|| {
                inbound
                    .as_ref()
                    .map(|d| format!("{} {}", d.family_name, d.given_name))
            })
            .map(|n: String| fangkong_domain::ids::mask_middle(&n, 1, 0))
            .unwrap_or_default();
        let badge = fangkong_domain::health_code::test_badge(
            last_negative.map(unix_to_utc),
            unix_to_utc(now),
        );
        Ok(CheckOutcome {
            decision: decision.decision.code().to_string(),
            decision_label: decision.decision.label_zh(),
            reasons,
            method: passage.method.clone(),
            colour: Some(colour.code().to_string()),
            colour_label: colour.label_zh(),
            popup,
            name_masked,
            id_number_masked: person
                .as_ref()
                .map(|p| mask_document(&p.id_type, &p.id_number))
                .unwrap_or_default(),
            badge_label: badge.label_zh(),
            assign_code: assigned,
            repeated: false,
            at: now,
        })
    }

    /// A person's colour and pop-up at a check: from the verifier's memory while it is fresh,
    /// computed from the facts when time may have changed it, plain green for nobody with a fact.
    pub(super) async fn colour_now(
        &self,
        person: &CodePerson,
        now: i64,
    ) -> AppResult<(CodeColour, bool)> {
        Ok(match self.codes.brief(&self.store, person).await? {
            Some(b) if b.stale_at.is_none_or(|t| t > now) => (b.colour, b.popup),
            Some(_) => {
                let (state, _, _) = self.current_code(person).await?;
                (state.colour, state.popup.is_some())
            }
            None => (CodeColour::Green, false),
        })
    }

    pub(super) async fn log_rejected(
        &self,
        mut passage: PassageWrite,
        words: String,
    ) -> AppResult<CheckOutcome> {
        passage.decision = "rejected".into();
        passage.reasons = words;
        if !self.log_passage(passage.clone()).await? {
            return self.logged_answer(&passage.passage_key).await;
        }
        Ok(passage_outcome(&passage, false))
    }

    /// The answer already logged under a passage key (a retry of a check that was written).
    pub(super) async fn logged_answer(&self, passage_key: &str) -> AppResult<CheckOutcome> {
        let stored = self
            .store
            .passage_by_key(passage_key)
            .await?
            .ok_or_else(|| AppError::internal("a logged passage vanished"))?;
        Ok(passage_outcome(&stored, true))
    }

    /// Logs a passage through the group-commit writer; true when it was new.
    pub(super) async fn log_passage(&self, passage: PassageWrite) -> AppResult<bool> {
        let (reply, answer) = oneshot::channel();
        self.passage_writer
            .queue()
            .send((passage, reply))
            .await
            .map_err(|_| WriterError::Stopped {
                writer: PASSAGE_WRITER,
            })?;
        Ok(answer.await.map_err(|_| WriterError::DroppedReply {
            writer: PASSAGE_WRITER,
        })??)
    }

    pub(super) async fn assign_arrival_code(
        &self,
        person: &CodePerson,
        kind: FactKind,
        checkpoint: &CheckpointRecord,
        at: i64,
        from_region: &str,
    ) -> AppResult<()> {
        let resident = self
            .resident_by_document(&person.id_type, &person.id_number)
            .await?;
        let from_name = match self.store.region(from_region).await? {
            Some(r) => r.name,
            None => from_region.to_string(),
        };
        let write = FactWrite {
            fact_key: format!(
                "arrival:{}:{}:{}:{}",
                checkpoint.id,
                person.id_type,
                person.id_number.as_str(),
                // The Beijing day: one arrival code per person, checkpoint and day.
                (at + 8 * 3600) / 86_400
            ),
            person: person.clone(),
            resident_id: resident.as_ref().map(|r| r.id),
            // Someone not in the register belongs, for now, to the checkpoint's region: its office
            // sees and manages the code.
            grid_code: resident
                .map(|r| r.grid_code)
                .unwrap_or_else(|| checkpoint.region_code.to_string()),
            kind,
            anchor: at,
            ended_at: None,
            colour: None,
            note: Some(if from_name.is_empty() {
                format!("{}入境落地", checkpoint.name)
            } else {
                format!("来自{from_name}，经{}落地", checkpoint.name)
            }),
            source: format!("卡口：{}", checkpoint.name),
            created_by: "system".into(),
        };
        self.change_code_facts(&[write], &[], &format!("{}落地赋码", checkpoint.name))
            .await?;
        Ok(())
    }
}
