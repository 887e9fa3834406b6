//! Reading codes: a person's code with its facts, the signed QR, a resident's own code.

use super::*;

impl App {
    /// A person's code now, computed fresh from their facts and results.
    pub(crate) async fn current_code(
        &self,
        person: &CodePerson,
    ) -> AppResult<(CodeState, CodeView, Vec<FactRecord>)> {
        let policy = self.code_policy().await?;
        let facts = self.store.facts_of(person).await?;
        let negatives = self.store.negatives_of(person).await?;
        let now = self.now_unix();
        let (state, _) = compute_code(policy, person, &facts, &negatives, now);
        let view = code_view(policy, &state, &negatives, now);
        Ok((state, view, facts))
    }

    /// A resident's own code page: colour, reasons, the date it turns back, test badge, and a
    /// freshly signed QR text.
    pub async fn my_code(&self, actor: &Actor) -> AppResult<MyCode> {
        actor.require(Permission::ShowOwnCode)?;
        let resident = self.own_resident(actor).await?;
        let person = CodePerson {
            id_type: resident.id_type.clone(),
            id_number: resident.id_number.clone(),
        };
        let (state, view, _) = self.current_code(&person).await?;
        let (token, expires_at) = self
            .sign_code_token(
                &person,
                Some(resident.id),
                &state,
                view.last_negative_sampled_at,
            )
            .await?;
        Ok(MyCode {
            name: mask_middle(&resident.name, 1, 0),
            id_number_masked: mask_document(&resident.id_type, &resident.id_number),
            code: view,
            token,
            token_expires_at: expires_at,
            changes: self.store.code_changes_of(&person).await?,
            appeals: masked_appeals(self.store.appeals_of(&person).await?),
        })
    }

    pub(crate) async fn own_resident(
        &self,
        actor: &Actor,
    ) -> AppResult<fangkong_store::ResidentRecord> {
        let resident_id = self
            .store
            .user_resident_id(actor.user_id)
            .await?
            .ok_or_else(|| {
                AppError::Invalid("您的账号还没有关联到实有人口登记，请联系社区网格员".into())
            })?;
        self.store
            .resident(resident_id)
            .await?
            .ok_or(AppError::NotFound("您的登记信息"))
    }

    /// The pseudonymous subject of a person's QR code (issued on first use; never the ID number).
    pub(crate) async fn code_subject(
        &self,
        person: &CodePerson,
        resident_id: Option<i64>,
    ) -> AppResult<String> {
        let keys = self.code_keys().await?;
        let candidate = hmac_hex(
            &keys.subject_key,
            &format!("{}:{}", person.id_type, person.id_number.as_str()),
            // 64 bits: no collision to expect among a city's people, and the token stays short.
            16,
        );
        let subject = self
            .store
            .code_subject(person, resident_id, &candidate, self.now_unix())
            .await?;
        Ok(subject)
    }

    /// Signs a short-lived QR text for a person's current code.
    pub(crate) async fn sign_code_token(
        &self,
        person: &CodePerson,
        resident_id: Option<i64>,
        state: &CodeState,
        last_negative: Option<i64>,
    ) -> AppResult<(String, i64)> {
        let keys = self.code_keys().await?;
        let subject = self.code_subject(person, resident_id).await?;
        let now = self.now_unix();
        let claims = CodeClaims {
            issuer: keys.signer.issuer().to_string(),
            issued_at: now,
            expires_at: now + CODE_TOKEN_SECONDS,
            subject,
            colour: signed_colour(state.colour),
            popup: state.popup.is_some(),
            last_negative_sampled_at: last_negative,
        };
        Ok((keys.signer.sign(&claims), claims.expires_at))
    }

    /// Signs a QR text for a registered resident without a login (seeding, the demo and
    /// benchmarks build the codes residents would show; never reachable from a page).
    pub async fn issue_code_token_unchecked(&self, resident_id: i64) -> AppResult<String> {
        let resident = self
            .store
            .resident(resident_id)
            .await?
            .ok_or(AppError::NotFound("该居民"))?;
        let person = CodePerson {
            id_type: resident.id_type.clone(),
            id_number: resident.id_number.clone(),
        };
        let (state, view, _) = self.current_code(&person).await?;
        Ok(self
            .sign_code_token(
                &person,
                Some(resident.id),
                &state,
                view.last_negative_sampled_at,
            )
            .await?
            .0)
    }

    /// Issues pseudonymous subjects for many residents at once and signs a green QR text for each
    /// (benchmarks: a city's codes without a round trip per person).
    pub async fn issue_code_tokens_unchecked(
        &self,
        residents: &[(i64, String, String)],
        last_negative: Option<i64>,
    ) -> AppResult<Vec<String>> {
        let keys = self.code_keys().await?;
        let now = self.now_unix();
        let mut rows = Vec::with_capacity(residents.len());
        let mut tokens = Vec::with_capacity(residents.len());
        for (id, id_type, id_number) in residents {
            let subject = hmac_hex(&keys.subject_key, &format!("{id_type}:{id_number}"), 16);
            tokens.push(keys.signer.sign(&CodeClaims {
                issuer: keys.signer.issuer().to_string(),
                issued_at: now,
                expires_at: now + 3600,
                subject: subject.clone(),
                colour: fangkong_signed_code::CodeColour::Green,
                popup: false,
                last_negative_sampled_at: last_negative,
            }));
            rows.push((
                subject,
                CodePerson {
                    id_type: id_type.clone(),
                    id_number: id_number.as_str().into(),
                },
                Some(*id),
            ));
        }
        for chunk in rows.chunks(5_000) {
            self.store.issue_code_subjects(chunk, now).await?;
        }
        Ok(tokens)
    }

    /// Staff look up one person's code, facts and history (audited: it reveals health status).
    pub async fn person_code(
        &self,
        actor: &Actor,
        id_type: &str,
        id_number: &str,
    ) -> AppResult<PersonCode> {
        actor.require(Permission::ViewHealthCodes)?;
        let document = parse_document(id_type, id_number)?;
        let person = CodePerson {
            id_type: document.id_type().code().to_string(),
            id_number: document.number().into(),
        };
        let resident = self
            .resident_by_document(&person.id_type, &person.id_number)
            .await?;
        let (_, view, facts) = self.current_code(&person).await?;
        let grid_code = resident
            .as_ref()
            .map(|r| r.grid_code.clone())
            .or_else(|| facts.last().map(|f| f.grid_code.clone()))
            .unwrap_or_default();
        // A registered resident inside the jurisdiction only; someone outside the register inside
        // the region of their newest fact (the checkpoint they arrived through, the office that
        // coded them).
        self.require_person_within(actor, &person.id_type, &person.id_number)
            .await?;
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "view_health_code",
            &format!(
                "{}:{}",
                person.id_type,
                mask_document(&person.id_type, &person.id_number)
            ),
            "",
        )
        .await?;
        Ok(PersonCode {
            name: resident
                .as_ref()
                .map(|r| mask_middle(&r.name, 1, 0))
                .unwrap_or_else(|| "（不在本地登记）".into()),
            id_type: person.id_type.clone(),
            id_number_masked: mask_document(&person.id_type, &person.id_number),
            grid_code,
            resident_id: resident.as_ref().map(|r| r.id),
            code: view,
            facts: facts.iter().map(fact_view).collect(),
            changes: self.store.code_changes_of(&person).await?,
            appeals: masked_appeals(self.store.appeals_of(&person).await?),
        })
    }

    /// Counts per colour and the worst codes in the actor's jurisdiction.
    pub async fn code_overview(
        &self,
        actor: &Actor,
        colour: Option<&str>,
    ) -> AppResult<CodeOverview> {
        actor.require(Permission::ViewHealthCodes)?;
        let (lower, upper) = actor.jurisdiction_range();
        let counts = self.store.colour_counts((&lower, &upper)).await?;
        let count_of = |c: CodeColour| {
            counts
                .iter()
                .filter(|r| r.colour == c)
                .map(|r| r.people)
                .sum()
        };
        let popups = counts.iter().map(|r| r.popups).sum();
        let policy = self.code_policy().await?;
        let colour = colour.filter(|c| CodeColour::from_code(c).is_some());
        Ok(CodeOverview {
            policy_id: policy.id.clone(),
            policy_name: policy.name_zh.clone(),
            policies: hc::policies()
                .iter()
                .map(|p| (p.id.clone(), p.name_zh.clone()))
                .collect(),
            red: count_of(CodeColour::Red),
            yellow: count_of(CodeColour::Yellow),
            popups,
            counts: counts.clone(),
            people: crate::Page::new(
                self.store
                    .health_codes_in((&lower, &upper), colour, 300)
                    .await?
                    .into_iter()
                    .map(code_list_row)
                    .collect(),
                self.store
                    .count_health_codes_in((&lower, &upper), colour)
                    .await?,
            ),
            open_appeals: self
                .store
                .count_appeals((&lower, &upper), Some("open"))
                .await?,
        })
    }
}
