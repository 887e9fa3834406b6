//! Fever clinics' typed commands (发热门诊): the forms as typed and their parsed commands, every
//! refusal naming its field. A patient's ID that does not parse is not a refusal (首诊负责制): the
//! command keeps why, and the patient is registered by name and phone.

use fangkong_domain::ids::{IdDocument, IdType};
use fangkong_domain::lab_result::TestResult;
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::warning::fever_clinics::{
    BloodCount, ClinicKind, ClinicRisk, HOSPITAL_MAX_CHARS, NOTE_MAX_CHARS, VisitInput,
};
use serde::{Deserialize, Serialize};

use crate::{AppError, AppResult};

/// The form registering a clinic, as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ClinicForm {
    pub name: String,
    pub kind: String,
    pub region_code: String,
    pub risk: String,
    /// A sampling site of an open single-tube routine round; empty = results typed by the clinic.
    pub site_id: String,
    pub hospital: String,
}

/// A clinic to register, every value parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddClinic {
    pub name: String,
    pub kind: ClinicKind,
    pub region: RegionCode,
    pub risk: ClinicRisk,
    pub site_id: Option<i64>,
    pub hospital: String,
}

pub(crate) fn text_field(raw: &str, field: &str, max: usize, required: bool) -> AppResult<String> {
    let text: String = raw.chars().filter(|c| !c.is_control()).collect();
    let text = text.trim();
    if required && text.is_empty() {
        return Err(AppError::field(field, "请填写"));
    }
    if text.chars().count() > max {
        return Err(AppError::field(field, format!("最多{max}字")));
    }
    Ok(text.to_string())
}

impl TryFrom<&ClinicForm> for AddClinic {
    type Error = AppError;

    fn try_from(form: &ClinicForm) -> Result<Self, AppError> {
        let name = text_field(&form.name, "门诊名称", 60, true)?;
        let kind = ClinicKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::field("类型", "请选择发热门诊或发热诊室"))?;
        let region = RegionCode::parse(form.region_code.trim())
            .map_err(|e| AppError::field("所在地区", e))?;
        if !matches!(region.level(), RegionLevel::County | RegionLevel::Township) {
            return Err(AppError::field(
                "所在地区",
                "请填写所在县（区）或乡镇（街道）的区划代码",
            ));
        }
        let risk = ClinicRisk::from_code(form.risk.trim())
            .ok_or_else(|| AppError::field("风险等级", "请选择低风险或高风险"))?;
        let site_id = match form.site_id.trim() {
            "" => None,
            raw => Some(
                raw.parse::<i64>()
                    .map_err(|_| AppError::field("采样点", "请填写采样点编号（数字）"))?,
            ),
        };
        let hospital = text_field(&form.hospital, "定点医院", HOSPITAL_MAX_CHARS, true)?;
        Ok(AddClinic {
            name,
            kind,
            region,
            risk,
            site_id,
            hospital,
        })
    }
}

/// The form registering a patient, as typed. `request_key` is the form's idempotency key. Unchecked
/// personal data: no `Debug`.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PatientForm {
    pub request_key: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    /// "1" when the health code is green.
    pub green_code: String,
    /// "1" when the patient has a travel history (旅居史) to a risk area.
    pub travel_history: String,
    pub temperature: String,
    pub complaint: String,
}

/// A patient to register: the ID when valid, otherwise why not (首诊负责制: registered anyway).
#[derive(Clone, PartialEq, Eq)]
pub struct RegisterPatient {
    pub request_key: String,
    pub document: Result<IdDocument, String>,
    pub name: String,
    pub phone: Option<PhoneNumber>,
    pub green_code: bool,
    pub travel_history: bool,
    pub temperature: String,
    pub complaint: String,
}

fn checked(raw: &str) -> bool {
    matches!(raw.trim(), "1" | "on" | "true" | "yes" | "是")
}

impl TryFrom<&PatientForm> for RegisterPatient {
    type Error = AppError;

    fn try_from(form: &PatientForm) -> Result<Self, AppError> {
        let request_key = form.request_key.trim();
        if request_key.is_empty()
            || request_key.len() > 64
            || !request_key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c))
        {
            return Err(AppError::field(
                "登记编号",
                "无效（应为1到64位字母、数字或-_:.）；请刷新页面后重新登记",
            ));
        }
        let name = text_field(&form.name, "姓名", 30, true)?;
        let document = if form.id_number.trim().is_empty() {
            Err("未提供证件".to_string())
        } else {
            IdType::parse(&form.id_type).and_then(|t| IdDocument::parse(t, &form.id_number))
        };
        let phone = match form.phone.trim() {
            "" => None,
            raw => Some(PhoneNumber::parse(raw).map_err(|e| AppError::field("联系电话", e))?),
        };
        if document.is_err() && phone.is_none() {
            return Err(AppError::field(
                "联系电话",
                "无有效证件的患者须登记联系电话（首诊负责制：照常接诊）",
            ));
        }
        let temperature = match form.temperature.trim() {
            "" => String::new(),
            raw => {
                let t: f64 = raw
                    .parse()
                    .map_err(|_| AppError::field("体温", "请填写数字，如 38.5"))?;
                if !(34.0..=43.0).contains(&t) {
                    return Err(AppError::field("体温", "应在34.0到43.0℃之间"));
                }
                format!("{t:.1}")
            }
        };
        Ok(RegisterPatient {
            request_key: request_key.to_string(),
            document,
            name,
            phone,
            green_code: checked(&form.green_code),
            travel_history: checked(&form.travel_history),
            temperature,
            complaint: text_field(&form.complaint, "主诉", NOTE_MAX_CHARS, false)?,
        })
    }
}

/// A step of a visit as typed: `action` is one of `receive`, `screen`, `antigen`, `pcr_taken`,
/// `pcr_result`, `blood`, `observe`, `release`, `refer`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct StepForm {
    pub action: String,
    /// Antigen or PCR result: negative | positive | invalid; blood count: normal | abnormal.
    pub result: String,
    /// The PCR tube's barcode.
    pub tube: String,
    /// The designated hospital of a referral (empty = the clinic's).
    pub hospital: String,
}

/// A step parsed: the loop's input, and the tube of a swab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitStep {
    pub input: VisitInput,
    pub tube: Option<TubeBarcode>,
}

impl TryFrom<&StepForm> for VisitStep {
    type Error = AppError;

    fn try_from(form: &StepForm) -> Result<Self, AppError> {
        let result = || {
            TestResult::from_code(form.result.trim())
                .ok_or_else(|| AppError::field("结果", "请选择阴性、阳性或无效"))
        };
        let mut tube = None;
        let input = match form.action.trim() {
            "receive" => VisitInput::Receive,
            "screen" => VisitInput::Screen,
            "antigen" => VisitInput::Antigen(result()?),
            "pcr_taken" => {
                tube = Some(
                    TubeBarcode::parse(&form.tube).map_err(|e| AppError::field("核酸管码", e))?,
                );
                VisitInput::PcrTaken
            }
            "pcr_result" => VisitInput::PcrResult(result()?),
            "blood" => VisitInput::Blood(
                BloodCount::from_code(form.result.trim())
                    .ok_or_else(|| AppError::field("血常规", "请选择正常或异常"))?,
            ),
            "observe" => VisitInput::Observe,
            "release" => VisitInput::Release,
            "refer" => VisitInput::Refer {
                hospital: text_field(&form.hospital, "转诊医院", HOSPITAL_MAX_CHARS, false)?,
            },
            _ => return Err(AppError::field("操作", "无法识别，请从页面上选择")),
        };
        Ok(VisitStep { input, tube })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patient() -> PatientForm {
        PatientForm {
            request_key: "k-1".into(),
            id_number: "130109199001011234".into(),
            name: "张三".into(),
            phone: "13900001111".into(),
            temperature: "38.5".into(),
            ..PatientForm::default()
        }
    }

    #[test]
    fn a_patient_without_a_valid_id_is_registered_by_name_and_phone() {
        let bad = PatientForm {
            id_number: "130109199001011235".into(),
            ..patient()
        };
        let command = RegisterPatient::try_from(&bad).expect("registered anyway");
        assert!(command.document.is_err());
        let no_phone = PatientForm {
            phone: String::new(),
            ..bad
        };
        let refused = RegisterPatient::try_from(&no_phone)
            .err()
            .expect("needs a phone");
        assert!(refused.to_string().contains("联系电话"), "{refused}");
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (
                PatientForm {
                    temperature: "hot".into(),
                    ..patient()
                },
                "体温",
            ),
            (
                PatientForm {
                    temperature: "50".into(),
                    ..patient()
                },
                "体温",
            ),
            (
                PatientForm {
                    name: " ".into(),
                    ..patient()
                },
                "姓名",
            ),
            (
                PatientForm {
                    request_key: "a b".into(),
                    ..patient()
                },
                "登记编号",
            ),
            (
                PatientForm {
                    phone: "12".into(),
                    ..patient()
                },
                "联系电话",
            ),
        ];
        for (form, field) in cases {
            let message = RegisterPatient::try_from(&form)
                .err()
                .expect(field)
                .to_string();
            assert!(message.contains(field), "{message}");
        }
        let step = StepForm {
            action: "pcr_taken".into(),
            tube: "??".into(),
            ..StepForm::default()
        };
        assert!(
            VisitStep::try_from(&step)
                .unwrap_err()
                .to_string()
                .contains("核酸管码")
        );
        let step = StepForm {
            action: "fly".into(),
            ..StepForm::default()
        };
        assert!(
            VisitStep::try_from(&step)
                .unwrap_err()
                .to_string()
                .contains("操作")
        );
    }
}
