//! The signing keys and the policy in force (which province's rules colour a code).

use super::*;

impl App {
    /// The installation's signing key and trust lists, made on first use and kept in the database.
    pub(crate) async fn code_keys(&self) -> AppResult<Arc<CodeKeys>> {
        self.codes
            .keys
            .get_or_try_init(|| async {
                let secret_hex = match self.store.setting(SIGNING_KEY_SETTING).await? {
                    Some(value) => value,
                    None => {
                        use rand::RngCore;
                        let mut fresh = [0u8; 32];
                        rand::thread_rng().fill_bytes(&mut fresh);
                        self.store
                            .setting_or_insert(SIGNING_KEY_SETTING, &hex::encode(fresh))
                            .await?
                    }
                };
                let secret: [u8; 32] = hex::decode(&secret_hex)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| AppError::internal("health code signing key is not 32 bytes"))?;
                let issuer = self
                    .store
                    .setting(ISSUER_SETTING)
                    .await?
                    .unwrap_or_else(|| DEFAULT_ISSUER.to_string());
                let signer = CodeSigner::from_secret(&issuer, &secret);
                // Other authorities' keys (mutual recognition) come from a setting; our own is always in.
                let mut keys = match self.store.setting(EXTRA_TRUST_SETTING).await? {
                    Some(json) => TrustList::from_json(&json)
                        .map_err(|e| AppError::internal_in("trust list setting", e))?
                        .keys()
                        .to_vec(),
                    None => Vec::new(),
                };
                let own = signer.trusted_key();
                if !keys.iter().any(|k| k.kid == own.kid) {
                    keys.push(own);
                }
                let trust = TrustList::new(keys)
                    .map_err(|e| AppError::internal_in("trust list", e))?;
                let mut dsc = fangkong_signed_code::DscTrustList::new();
                if let Some(json) = self.store.setting(DSC_SETTING).await? {
                    let certs: Vec<String> = serde_json::from_str(&json).unwrap_or_default();
                    for cert in certs {
                        if let Err(error) = dsc.add_certificate_base64(&cert) {
                            tracing::warn!(%error, "a configured DCC signer certificate was not loaded");
                        }
                    }
                }
                let subject_key: [u8; 32] = sha2::Digest::finalize(
                    <sha2::Sha256 as sha2::Digest>::new_with_prefix([b"subject:".as_slice(), &secret].concat()),
                )
                .into();
                Ok::<_, AppError>(Arc::new(CodeKeys {
                    signer,
                    trust,
                    dsc,
                    subject_key,
                }))
            })
            .await
            .cloned()
    }

    /// The public trust list (`fangkong verify` and offline checkpoint devices load it).
    pub async fn trust_list_json(&self) -> AppResult<String> {
        Ok(self.code_keys().await?.trust.to_json())
    }

    /// Adds EU DCC signer certificates (base64 DER) to the port verifier's trust list.
    pub async fn add_dcc_signers(
        &self,
        actor: &Actor,
        certificates: &[String],
    ) -> AppResult<usize> {
        // The trust list is the installation's: a province-level administrator keeps it.
        actor.require(Permission::ManageUsers)?;
        if actor.jurisdiction.level() != fangkong_domain::region::RegionLevel::Province {
            return Err(AppError::Forbidden { role: actor.role });
        }
        let mut probe = fangkong_signed_code::DscTrustList::new();
        for (i, cert) in certificates.iter().enumerate() {
            probe.add_certificate_base64(cert).map_err(|e| {
                AppError::Invalid(format!("第{}个证书无法读取：{}", i + 1, e.words_zh()))
            })?;
        }
        let mut stored: Vec<String> = match self.store.setting(DSC_SETTING).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => Vec::new(),
        };
        for cert in certificates {
            if !stored.contains(cert) {
                stored.push(cert.clone());
            }
        }
        self.store
            .put_setting_audited(
                DSC_SETTING,
                &serde_json::to_string(&stored).unwrap_or_default(),
                &crate::audit_record(
                    self,
                    actor,
                    "add_dcc_signers",
                    "dcc",
                    format!("{} certificates", certificates.len()),
                ),
            )
            .await?;
        // Reload on next use.
        self.codes.reset_keys();
        Ok(stored.len())
    }

    /// The policy table in force: the one an administrator chose, else the one for the
    /// installation's province on today's date.
    pub async fn code_policy(&self) -> AppResult<&'static CodePolicy> {
        if let Some(id) = self.store.setting(POLICY_SETTING).await?
            && let Some(policy) = hc::policy_by_id(&id)
        {
            return Ok(policy);
        }
        let issuer = self
            .store
            .setting(ISSUER_SETTING)
            .await?
            .unwrap_or_else(|| DEFAULT_ISSUER.to_string());
        let province = issuer.trim_start_matches("CN-");
        Ok(hc::policy_for(province, self.today()))
    }

    /// Switches the policy table (the setting and its audit record in one transaction) and
    /// recomputes everyone's code.
    pub async fn set_code_policy(
        &self,
        actor: &Actor,
        policy_id: &str,
    ) -> AppResult<RecomputeReport> {
        actor.require(Permission::DecideHealthCodes)?;
        // One table for the whole province: only a province-level account switches it.
        if actor.jurisdiction.level() != fangkong_domain::region::RegionLevel::Province {
            return Err(AppError::Invalid(
                "赋码规则由省级指挥部统一切换，市、县区及以下账号不能切换".into(),
            ));
        }
        let policy = hc::policy_by_id(policy_id.trim()).ok_or_else(|| {
            AppError::field(
                "赋码规则",
                format!("没有编号为“{}”的规则", policy_id.trim()),
            )
        })?;
        self.store
            .put_setting_audited(
                POLICY_SETTING,
                &policy.id,
                &crate::audit_record(
                    self,
                    actor,
                    "set_code_policy",
                    &policy.id,
                    policy.name_zh.clone(),
                ),
            )
            .await?;
        self.recompute_all_codes(&format!("赋码规则切换为{}", policy.name_zh))
            .await
    }
}
