//! `coded_enum!`: one table per enum — variant, stable code, Chinese label — from which the enum,
//! `ALL`, `code()`, `from_code()`, `label_zh()` and (by default) serde are generated, so the codes
//! are written once and cannot drift between the storage code, the JSON and the lookup.
//!
//! ```
//! fangkong_domain::coded_enum! {
//!     /// What the post does with a person.
//!     #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
//!     pub enum Decision {
//!         Pass => "pass", "通行",
//!         Refuse => "refuse", "劝返",
//!     }
//! }
//! assert_eq!(Decision::from_code("refuse"), Some(Decision::Refuse));
//! assert_eq!(Decision::Pass.label_zh(), "通行");
//! assert_eq!(serde_json::to_string(&Decision::Pass).unwrap(), "\"pass\"");
//! ```
//!
//! The enum must be `pub` and `Copy`. The table's order is the declaration order (so derived `Ord` follows
//! it) and the order of `ALL`. Codes are stored in databases and sent in JSON: never change a
//! published one.
//!
//! Two options, written before the enum, for the enums whose older contracts differ:
//! - `serde = as_written;` — no serde is generated; the enum keeps the serde derives and attributes
//!   written on it (some enums' JSON says the variant name, `"AwaitingPlacement"`, or a snake_case
//!   name other than the code, and changing it would break stored data and the JSON APIs).
//! - `from_code = code_or_label;` — `from_code` also accepts the Chinese label (forms and imported
//!   sheets where people type the label).
//!
//! The calling crate needs `serde` (with `derive`) among its dependencies.

/// What every `coded_enum!` enum is, so that code reading stored codes (the store's
/// `StoredCode<T>`) is written once for all of them rather than once per enum.
pub trait Coded: Sized + Copy + 'static {
    /// The enum's name, for an error that says what a stored code was meant to be.
    const NAME: &'static str;
    /// The stable code kept in storage and sent in JSON.
    fn code(self) -> &'static str;
    /// The variant with this code (or label, for the enums that accept one).
    fn from_code(code: &str) -> Option<Self>;
    /// The Chinese label shown to people.
    fn label_zh(self) -> &'static str;
}

/// See the module documentation of `fangkong_domain::coded_enum`.
#[macro_export]
macro_rules! coded_enum {
    (
        $(serde = $serde:ident;)?
        $(from_code = $lookup:ident;)?
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $code:literal, $label:literal ),+ $(,)?
        }
    ) => {
        $crate::coded_enum!(@enum [$($serde)?]
            [$(#[$meta])*] pub $name
            [$( [$(#[$vmeta])*] $variant $code )+]
        );
        $crate::coded_enum!(@methods [$($lookup)?] $name [$( $variant $code $label )+]);
    };

    // Serde derived from the table: each variant is (de)serialised as its code.
    (@enum [] [$(#[$meta:meta])*] $vis:vis $name:ident
        [$( [$(#[$vmeta:meta])*] $variant:ident $code:literal )+]
    ) => {
        $(#[$meta])*
        #[derive(::serde::Serialize, ::serde::Deserialize)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant, )+
        }
    };
    // Serde as written on the enum (or none).
    (@enum [as_written] [$(#[$meta:meta])*] $vis:vis $name:ident
        [$( [$(#[$vmeta:meta])*] $variant:ident $code:literal )+]
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }
    };

    (@methods [$($lookup:ident)?] $name:ident [$( $variant:ident $code:literal $label:literal )+]) => {
        impl $name {
            /// Every variant, in the table's order.
            pub const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];

            /// The stable code kept in storage and sent in JSON.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// The Chinese label shown to people.
            pub fn label_zh(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }

            $crate::coded_enum!(@from_code [$($lookup)?] $name [$( $variant $code $label )+]);
        }

        impl $crate::coded_enum::Coded for $name {
            const NAME: &'static str = stringify!($name);

            fn code(self) -> &'static str {
                $name::code(self)
            }

            fn from_code(code: &str) -> Option<$name> {
                $name::from_code(code)
            }

            fn label_zh(self) -> &'static str {
                $name::label_zh(self)
            }
        }
    };

    (@from_code [] $name:ident [$( $variant:ident $code:literal $label:literal )+]) => {
        /// The variant with this code.
        pub fn from_code(code: &str) -> Option<$name> {
            match code {
                $($code => Some($name::$variant),)+
                _ => None,
            }
        }
    };
    (@from_code [code_or_label] $name:ident [$( $variant:ident $code:literal $label:literal )+]) => {
        /// The variant with this code or this Chinese label (the first in the table's order).
        pub fn from_code(code: &str) -> Option<$name> {
            match code {
                $($code | $label => Some($name::$variant),)+
                _ => None,
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::analytics::{Analysis, JobStatus, JobTrigger, ResultOutcome};
    use crate::checkpoint::{CheckpointKind, Decision, DefenceLine};
    use crate::command::curve::CurveBasis;
    use crate::command::duty::{AccountabilityKind, DutyRole, Shift};
    use crate::command::incidents::{IncidentKind, IncidentStage};
    use crate::command::late::LateKind;
    use crate::command::map::MapMeasure;
    use crate::command::reports::{Figure, ReportKind, Timing};
    use crate::drills::{DrillMode, DrillStep, DrillTeam, RunStatus, StepState};
    use crate::health_code::{CodeColour, FactKind, TestBadge};
    use crate::ids::IdType;
    use crate::investigation::cases::CaseStatus;
    use crate::investigation::{
        CaseKind, ContactCategory, ContactStatus, DeadlineState, ExposureKind, FoundBy, Regime,
        Severity,
    };
    use crate::isolation::{
        HospitalKind, MeasureKind, MeasureStatus, PersonCategory, Readiness, RoomStatus,
        TestOutcome, TransferStatus, VehicleKind,
    };
    use crate::lab_result::TestResult;
    use crate::leads::{
        Channel, ControlMeasure, LeadStatus, OutcomeKind, RiskCategory, SenderScope,
    };
    use crate::mass_testing::results::{RecheckReason, RecheckStatus, ResultEvent};
    use crate::mass_testing::{ExemptionKind, RiskTier, RoundKind, SamplePurpose};
    use crate::person::{KeyGroup, Sex};
    use crate::person_status::{StatusBadge, StatusSource};
    use crate::risk_area::{AreaScheme, AreaTier, AreaUnit};
    use crate::role::Role;
    use crate::supplies::cold_chain::{ChainNode, SampleKind, SampleResult};
    use crate::supplies::deliveries::{
        DeliveryCategory, DeliveryStatus, Eligibility, RequestChannel, Urgency,
    };
    use crate::supplies::gatherings::{
        ApprovalLevel, GatheringKind, GatheringStatus, ParticipantCheck,
    };
    use crate::supplies::passes::{
        EnterpriseKind, GoodsCategory, PassKind, PassStatus, SupplyRole, SupplyVehicleKind,
    };
    use crate::supplies::reserves::{ItemClass, MovementKind, NormBasis, OwnerKind, SupportStatus};
    use crate::supplies::vaccination::{AgeBand, Contraindication, DoseKind, VaccineProduct};
    use crate::warning::emergency::{ClosesOn, CommandState, TaskStatus};
    use crate::warning::fever_clinics::{BloodCount, ClinicKind, ClinicRisk, VisitStage};
    use crate::warning::pharmacies::{DrugClass, RequirementStatus, SaleChannel};
    use crate::warning::triggers::{AlertLevel, AlertStatus, SignalChannel};

    /// Checks each enum's table and returns the names checked, so the test can compare them with
    /// the `coded_enum!` calls in the source.
    macro_rules! check {
        (serde as code: $($code_serde:ident),+; serde as written: $($written:ident),+;) => {{
            let mut checked = Vec::new();
            $(
                for v in $code_serde::ALL {
                    assert_eq!($code_serde::from_code(v.code()), Some(v), "{v:?}");
                    let json = serde_json::to_string(&v).unwrap();
                    assert_eq!(json, format!("\"{}\"", v.code()), "{v:?}");
                    let back: $code_serde = serde_json::from_str(&json).unwrap();
                    assert_eq!(back, v);
                }
                checked.push(stringify!($code_serde));
            )+
            $(
                for v in $written::ALL {
                    assert_eq!($written::from_code(v.code()), Some(v), "{v:?}");
                }
                checked.push(stringify!($written));
            )+
            checked
        }};
    }

    #[test]
    fn every_code_reads_back_and_serde_says_the_code() {
        let mut checked = check! {
            serde as code: CheckpointKind, DefenceLine, Decision, CodeColour, FactKind, TestBadge,
                IdType, Regime, CaseKind, FoundBy, Severity, DeadlineState, ContactCategory,
                MeasureKind, PersonCategory, TestOutcome, TestResult, Channel, LeadStatus,
                ControlMeasure, RiskCategory, SenderScope, OutcomeKind, RiskTier, RoundKind,
                ExemptionKind, SamplePurpose, KeyGroup, AreaTier, AreaUnit, Role, ResultEvent,
                RecheckReason, RecheckStatus, CaseStatus, StatusSource, StatusBadge, Shift, DutyRole,
                AccountabilityKind, CurveBasis, MapMeasure, LateKind, Figure, ReportKind, Timing,
                IncidentKind, IncidentStage, SignalChannel, AlertLevel, AlertStatus, CommandState,
                ClosesOn, TaskStatus, ClinicKind, ClinicRisk, VisitStage, BloodCount, DrugClass,
                RequirementStatus, SaleChannel, DrillTeam, DrillStep, StepState, DrillMode,
                ItemClass, OwnerKind, MovementKind, NormBasis, SupportStatus,
                EnterpriseKind, SupplyVehicleKind, SupplyRole, GoodsCategory, PassKind, PassStatus,
                DeliveryCategory, Urgency, DeliveryStatus, Eligibility, RequestChannel, GatheringKind,
                GatheringStatus, ApprovalLevel, ParticipantCheck,
                VaccineProduct, DoseKind, Contraindication, AgeBand, SampleKind, SampleResult,
                ChainNode, Analysis, JobTrigger, JobStatus, ResultOutcome,
                RunStatus,
                ContactStatus;
            serde as written: ExposureKind, Readiness, RoomStatus, VehicleKind, TransferStatus,
                HospitalKind, MeasureStatus, Sex, AreaScheme;
        };
        // Every `coded_enum!` in the crate is checked here (the source is read at compile time:
        // the domain reads no files).
        macro_rules! sources {
            ($($path:literal),+ $(,)?) => { [$(($path, include_str!($path))),+] };
        }
        let sources = sources![
            "analytics/mod.rs",
            "basis.rs",
            "checkpoint.rs",
            "command/curve.rs",
            "command/duty.rs",
            "command/incidents.rs",
            "command/late.rs",
            "command/map.rs",
            "command/mod.rs",
            "command/reports.rs",
            "echo.rs",
            "health_code/codes.rs",
            "health_code/evaluate.rs",
            "health_code/facts.rs",
            "health_code/mod.rs",
            "health_code/policy.rs",
            "ids.rs",
            "investigation/bulletin.rs",
            "investigation/cases.rs",
            "investigation/chains.rs",
            "investigation/contacts.rs",
            "investigation/mod.rs",
            "investigation/regimes.rs",
            "isolation/allocation.rs",
            "isolation/hospitals.rs",
            "isolation/measures.rs",
            "isolation/mod.rs",
            "isolation/plans.rs",
            "isolation/sites.rs",
            "isolation/transfers.rs",
            "lab_result/fhir.rs",
            "lab_result/mod.rs",
            "lab_result/sheet.rs",
            "leads.rs",
            "mass_testing/binding.rs",
            "mass_testing/boxes.rs",
            "mass_testing/coverage.rs",
            "mass_testing/mod.rs",
            "mass_testing/results.rs",
            "mass_testing/rounds.rs",
            "mass_testing/routine.rs",
            "mass_testing/sites.rs",
            "mass_testing/tubes.rs",
            "person.rs",
            "person_event.rs",
            "person_status.rs",
            "personal.rs",
            "phone.rs",
            "region.rs",
            "resident_row.rs",
            "risk_area.rs",
            "role.rs",
            "time.rs",
            "drills/mod.rs",
            "drills/scenario.rs",
            "drills/score.rs",
            "warning/emergency.rs",
            "warning/fever_clinics.rs",
            "warning/mod.rs",
            "warning/pharmacies.rs",
            "warning/triggers.rs",
            "supplies/cold_chain.rs",
            "supplies/deliveries.rs",
            "supplies/gatherings.rs",
            "supplies/mod.rs",
            "supplies/passes.rs",
            "supplies/reserves.rs",
            "supplies/vaccination.rs",
        ];
        let paths: Vec<&str> = sources.iter().map(|(path, _)| *path).collect();
        // Every module of lib.rs, and every submodule a folder's mod.rs declares, is read here.
        // (Test-only modules, declared under `#[cfg(test)]`, hold no enums.)
        let declared = |text: &str| -> Vec<String> {
            let lines: Vec<&str> = text.lines().collect();
            lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i == 0 || lines[i - 1].trim() != "#[cfg(test)]")
                .filter_map(|(_, l)| {
                    let l = l.trim_start_matches("pub ");
                    l.strip_prefix("mod ")?
                        .strip_suffix(';')
                        .map(str::to_string)
                })
                .collect()
        };
        for module in declared(include_str!("lib.rs")) {
            if module == "coded_enum" {
                continue;
            }
            let file = format!("{module}.rs");
            let folder = format!("{module}/mod.rs");
            assert!(
                paths.contains(&file.as_str()) || paths.contains(&folder.as_str()),
                "the module {module} of lib.rs is not read here"
            );
        }
        for (path, text) in &sources {
            if let Some(folder) = path.strip_suffix("/mod.rs") {
                for sub in declared(text) {
                    let file = format!("{folder}/{sub}.rs");
                    assert!(paths.contains(&file.as_str()), "{file} is not read here");
                }
            }
        }
        let mut called: Vec<&str> = sources
            .iter()
            .flat_map(|(_, text)| text.split("crate::coded_enum! {").skip(1))
            .map(|call| {
                let at = call.find("pub enum ").unwrap() + "pub enum ".len();
                call[at..].split_whitespace().next().unwrap()
            })
            .collect();
        called.sort();
        checked.sort();
        assert_eq!(checked, called);
    }

    /// The enums whose JSON is not their code keep the JSON they always had.
    #[test]
    fn serde_as_written_is_unchanged() {
        fn to_json(v: impl serde::Serialize) -> serde_json::Value {
            serde_json::to_value(v).unwrap()
        }
        for (json, expected) in [
            (
                to_json(ExposureKind::SharedMealOrEntertainment),
                "shared_meal_or_entertainment",
            ),
            (to_json(Readiness::TwoHours), "TwoHours"),
            (to_json(RoomStatus::Free), "Free"),
            (to_json(VehicleKind::Coach), "Coach"),
            (to_json(TransferStatus::PickedUp), "PickedUp"),
            (to_json(HospitalKind::Fangcang), "Fangcang"),
            (
                to_json(MeasureStatus::AwaitingPlacement),
                "AwaitingPlacement",
            ),
            (to_json(Sex::Male), "male"),
            (to_json(AreaScheme::NinthEdition), "ninth_edition"),
        ] {
            assert_eq!(json, expected);
        }
    }

    #[test]
    fn from_code_reads_labels_only_where_asked() {
        assert_eq!(CaseKind::from_code("确诊病例"), Some(CaseKind::Confirmed));
        assert_eq!(
            ExposureKind::from_code("同乘飞机"),
            Some(ExposureKind::Aircraft)
        );
        assert_eq!(Decision::from_code("通行"), None);
        assert_eq!(Decision::from_code(""), None);
    }
}
