//! Appeals (申诉): a resident asks, an office decides.

use super::*;
use crate::audit_record;

/// A resident's appeal: the reason, 4 to 500 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAppeal {
    pub reason: String,
}

impl TryFrom<&str> for FileAppeal {
    type Error = AppError;

    fn try_from(reason: &str) -> Result<Self, AppError> {
        let reason = reason.trim();
        if reason.chars().count() < 4 {
            return Err(AppError::Invalid(
                "请写明申诉理由（例如：已解除隔离、核酸结果已阴性、行程有误）".into(),
            ));
        }
        if reason.chars().count() > 500 {
            return Err(AppError::Invalid("申诉理由请控制在500字以内".into()));
        }
        Ok(FileAppeal {
            reason: reason.to_string(),
        })
    }
}

/// An office's decision on an appeal: accepted or not, and the words the resident is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecideAppeal {
    pub accept: bool,
    pub decision: String,
}

impl DecideAppeal {
    pub fn parse(accept: bool, decision: &str) -> AppResult<DecideAppeal> {
        let decision = decision.trim();
        if decision.is_empty() {
            return Err(AppError::Invalid("请写明处理意见（将告知申诉人）".into()));
        }
        Ok(DecideAppeal {
            accept,
            decision: decision.to_string(),
        })
    }
}

impl App {
    /// A resident disputes their own code (申诉); the appeal and its audit record are one
    /// transaction.
    pub async fn file_appeal(&self, actor: &Actor, reason: &str) -> AppResult<i64> {
        actor.require(Permission::ShowOwnCode)?;
        let FileAppeal { reason } = FileAppeal::try_from(reason)?;
        let resident = self.own_resident(actor).await?;
        let person = CodePerson {
            id_type: resident.id_type.clone(),
            id_number: resident.id_number.clone(),
        };
        if self
            .store
            .appeals_of(&person)
            .await?
            .iter()
            .any(|a| a.status == "open")
        {
            return Err(AppError::Conflict(
                "您已有一条申诉正在处理，请等待处理结果".into(),
            ));
        }
        let (state, _, _) = self.current_code(&person).await?;
        let inserted = self
            .store
            .insert_appeal(
                &AppealRecord {
                    id: 0,
                    id_type: person.id_type.clone(),
                    id_number: person.id_number.clone(),
                    resident_id: Some(resident.id),
                    grid_code: resident.grid_code.clone(),
                    filed_at: self.now_unix(),
                    filed_by: actor.username.clone(),
                    colour: state.colour,
                    reason: reason.clone(),
                    status: "open".into(),
                    decided_at: None,
                    decided_by: None,
                    decision: None,
                },
                &audit_record(self, actor, "file_appeal", "", ""),
            )
            .await;
        match inserted {
            Ok(id) => Ok(id),
            // Two submits at once: the one-open-appeal index refuses the second.
            Err(e) if e.is_unique_violation() => Err(AppError::Conflict(
                "您已有一条申诉正在处理，请等待处理结果".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Appeals in the actor's jurisdiction (open ones first, then the newest), the first 500 of
    /// how many there are.
    pub async fn appeals(
        &self,
        actor: &Actor,
        status: Option<&str>,
    ) -> AppResult<crate::Page<AppealView>> {
        actor.require(Permission::ViewHealthCodes)?;
        let (lower, upper) = actor.jurisdiction_range();
        let total = self.store.count_appeals((&lower, &upper), status).await?;
        let rows = self
            .store
            .appeals((&lower, &upper), status, 500)
            .await?
            .into_iter()
            .map(|mut a| AppealView {
                id_number_masked: {
                    // The full number never leaves the app in a view.
                    a.id_number = mask_document(&a.id_type, &a.id_number).into();
                    a.id_number.to_string()
                },
                colour_label: a.colour.label_zh(),
                appeal: a,
            })
            .collect();
        Ok(crate::Page::new(rows, total))
    }

    /// Decides an appeal: accepted appeals turn the code green by withdrawing the disputed facts,
    /// with the decision as the reason; rejected ones keep it and tell the resident why. The
    /// decision, the withdrawals with the codes they cause, and the audit record are one
    /// transaction: a second decision (or a failure halfway) leaves no trace.
    pub async fn decide_appeal(
        &self,
        actor: &Actor,
        appeal_id: i64,
        accept: bool,
        decision: &str,
    ) -> AppResult<()> {
        actor.require(Permission::DecideHealthCodes)?;
        let DecideAppeal { accept, decision } = DecideAppeal::parse(accept, decision)?;
        let appeal = load_within(actor, self.store.appeal(appeal_id)).await?;
        let status = if accept { "accepted" } else { "rejected" };
        if appeal.status != "open" {
            return Err(AppError::Conflict("该申诉已经处理过".into()));
        }
        let now = self.now_unix();
        // 转码: the facts the resident disputed are withdrawn (not overridden), so a later fact —
        // a new positive, a new contact — colours the code again as the rules say.
        let withdrawals: Vec<FactUpdate> = if accept {
            let person = CodePerson {
                id_type: appeal.id_type.clone(),
                id_number: appeal.id_number.clone(),
            };
            self.store
                .facts_of(&person)
                .await?
                .iter()
                .filter(|f| f.withdrawn_at.is_none() && f.anchor <= now)
                .map(|f| FactUpdate::Withdraw {
                    fact_id: f.id,
                    at: now,
                })
                .collect()
        } else {
            Vec::new()
        };
        let policy = self.code_policy().await?;
        let codes = self
            .store
            .decide_appeal(
                appeal_id,
                status,
                &decision,
                &actor.username,
                now,
                &withdrawals,
                |person, facts, negatives| compute_code(policy, person, facts, negatives, now).1,
                &audit_record(
                    self,
                    actor,
                    "decide_appeal",
                    appeal_id,
                    format!("{status}: {decision}"),
                ),
            )
            .await?
            .ok_or_else(|| AppError::Conflict("该申诉已经处理过".into()))?;
        self.codes.remember(&codes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appeal_is_four_to_five_hundred_characters() {
        assert_eq!(
            FileAppeal::try_from(" 行程有误，请核实 ").unwrap().reason,
            "行程有误，请核实"
        );
        for (reason, words) in [("错了", "申诉理由"), (&*"字".repeat(501), "500字")] {
            match FileAppeal::try_from(reason) {
                Err(AppError::Invalid(message)) => {
                    assert!(message.contains(words), "{words}: {message}")
                }
                other => panic!("{words}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_decision_needs_words_for_the_resident() {
        assert_eq!(
            DecideAppeal::parse(true, " 核实无误 ").unwrap(),
            DecideAppeal {
                accept: true,
                decision: "核实无误".into()
            }
        );
        assert!(
            matches!(DecideAppeal::parse(false, " "), Err(AppError::Invalid(m)) if m.contains("处理意见"))
        );
    }
}
