//! Reading text columns into domain types the derive cannot decode itself: `#[sqlx(try_from =
//! "StoredPhone")]` on an `Option<PhoneNumber>` field parses the stored text when the row is read, so
//! a row whose phone does not parse is an error (naming the column, not the value) instead of a
//! string passed upward; `StoredRegion` does the same for a region code, `NullableText` reads a
//! nullable name. (The derive's own `try_from` would lose a parser's message: sqlx 0.9 reports its
//! error as "unprintable", so the parsing happens in `Decode`.)

use fangkong_domain::coded_enum::Coded;
use fangkong_domain::personal::PersonName;
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::RegionCode;
use sqlx::{Database, Decode, Type};

/// Every wrapper here is a text column on both databases.
macro_rules! text_column {
    ($($wrapper:ident $(<$param:ident>)?),+ $(,)?) => {
        $(
            impl<DB: Database $(, $param)?> Type<DB> for $wrapper $(<$param>)?
            where
                String: Type<DB>,
            {
                fn type_info() -> DB::TypeInfo {
                    <String as Type<DB>>::type_info()
                }

                fn compatible(ty: &DB::TypeInfo) -> bool {
                    <String as Type<DB>>::compatible(ty)
                }
            }
        )+
    };
}

text_column!(
    NullableText,
    StoredPhone,
    StoredRegion,
    StoredOptionalRegion,
    StoredCode<T>,
    StoredOptionalCode<T>
);

/// The text of a nullable column where NULL and an empty text both mean none.
fn optional_text<'r, DB: Database>(
    value: DB::ValueRef<'r>,
) -> Result<Option<String>, sqlx::error::BoxDynError>
where
    Option<String>: Decode<'r, DB>,
{
    Ok(<Option<String> as Decode<'r, DB>>::decode(value)?.filter(|text| !text.is_empty()))
}

/// The variant of `T` with this stored code, or an error naming the code and the enum.
fn parse_code<T: Coded>(text: &str) -> Result<T, sqlx::error::BoxDynError> {
    T::from_code(text).ok_or_else(|| format!("“{text}” is not a known {} code", T::NAME).into())
}

/// The text of a nullable column, as read; only a step towards a domain type.
pub struct NullableText(Option<String>);

impl<'r, DB: Database> Decode<'r, DB> for NullableText
where
    Option<String>: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<NullableText, sqlx::error::BoxDynError> {
        Ok(NullableText(<Option<String> as Decode<'r, DB>>::decode(
            value,
        )?))
    }
}

/// A stored phone, parsed while the column is decoded: the parser's words (which never repeat the
/// number) become the decode error of the column, so the error can be logged.
pub struct StoredPhone(Option<PhoneNumber>);

/// A missing or empty phone is none; any other text must be a valid number.
impl<'r, DB: Database> Decode<'r, DB> for StoredPhone
where
    Option<String>: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<StoredPhone, sqlx::error::BoxDynError> {
        let text = optional_text::<DB>(value)?;
        Ok(StoredPhone(
            text.as_deref().map(PhoneNumber::parse).transpose()?,
        ))
    }
}

impl From<StoredPhone> for Option<PhoneNumber> {
    fn from(phone: StoredPhone) -> Option<PhoneNumber> {
        phone.0
    }
}

/// A stored region code, parsed while the column is decoded (a code that is not one is the
/// column's decode error).
pub struct StoredRegion(RegionCode);

impl<'r, DB: Database> Decode<'r, DB> for StoredRegion
where
    String: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<StoredRegion, sqlx::error::BoxDynError> {
        Ok(StoredRegion(RegionCode::parse(&<String as Decode<
            'r,
            DB,
        >>::decode(value)?)?))
    }
}

impl From<StoredRegion> for RegionCode {
    fn from(code: StoredRegion) -> RegionCode {
        code.0
    }
}

/// A nullable stored region code: `None` for NULL or an empty text, otherwise a valid code.
pub struct StoredOptionalRegion(Option<RegionCode>);

impl<'r, DB: Database> Decode<'r, DB> for StoredOptionalRegion
where
    Option<String>: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<StoredOptionalRegion, sqlx::error::BoxDynError> {
        let text = optional_text::<DB>(value)?;
        Ok(StoredOptionalRegion(
            text.as_deref().map(RegionCode::parse).transpose()?,
        ))
    }
}

impl From<StoredOptionalRegion> for Option<RegionCode> {
    fn from(code: StoredOptionalRegion) -> Option<RegionCode> {
        code.0
    }
}

/// A stored status, kind or other coded value, parsed while the column is decoded: `#[sqlx(try_from =
/// "StoredCode<LeadStatus>")]` on a `LeadStatus` field. A code the enum does not know is the column's
/// decode error, naming the enum and the code (codes are never personal data).
pub struct StoredCode<T>(T);

impl<'r, DB: Database, T: Coded> Decode<'r, DB> for StoredCode<T>
where
    String: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<StoredCode<T>, sqlx::error::BoxDynError> {
        let text = <String as Decode<'r, DB>>::decode(value)?;
        Ok(StoredCode(parse_code(&text)?))
    }
}

/// A nullable stored code: `None` for NULL or an empty text, otherwise a code the enum knows.
pub struct StoredOptionalCode<T>(Option<T>);

impl<'r, DB: Database, T: Coded> Decode<'r, DB> for StoredOptionalCode<T>
where
    Option<String>: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<StoredOptionalCode<T>, sqlx::error::BoxDynError> {
        let text = optional_text::<DB>(value)?;
        Ok(StoredOptionalCode(
            text.as_deref().map(parse_code).transpose()?,
        ))
    }
}

/// The conversions the derive's `try_from` needs, one per coded enum (coherence forbids one generic
/// impl for a foreign `T`). Every enum of `fangkong_domain`'s coded-enum check is listed, so a row
/// can carry any of them.
macro_rules! stored_codes {
    ($($ty:path),+ $(,)?) => {
        $(
            impl From<StoredCode<$ty>> for $ty {
                fn from(code: StoredCode<$ty>) -> $ty {
                    code.0
                }
            }

            impl From<StoredOptionalCode<$ty>> for Option<$ty> {
                fn from(code: StoredOptionalCode<$ty>) -> Option<$ty> {
                    code.0
                }
            }
        )+
    };
}

stored_codes! {
    fangkong_domain::analytics::Analysis,
    fangkong_domain::analytics::JobStatus,
    fangkong_domain::analytics::JobTrigger,
    fangkong_domain::analytics::ResultOutcome,
    fangkong_domain::checkpoint::CheckpointKind,
    fangkong_domain::checkpoint::Decision,
    fangkong_domain::checkpoint::DefenceLine,
    fangkong_domain::command::curve::CurveBasis,
    fangkong_domain::command::duty::AccountabilityKind,
    fangkong_domain::command::duty::DutyRole,
    fangkong_domain::command::duty::Shift,
    fangkong_domain::command::incidents::IncidentKind,
    fangkong_domain::command::incidents::IncidentStage,
    fangkong_domain::command::late::LateKind,
    fangkong_domain::command::map::MapMeasure,
    fangkong_domain::command::reports::Figure,
    fangkong_domain::command::reports::ReportKind,
    fangkong_domain::command::reports::Timing,
    fangkong_domain::drills::DrillMode,
    fangkong_domain::drills::DrillStep,
    fangkong_domain::drills::DrillTeam,
    fangkong_domain::drills::RunStatus,
    fangkong_domain::drills::StepState,
    fangkong_domain::health_code::CodeColour,
    fangkong_domain::health_code::FactKind,
    fangkong_domain::health_code::TestBadge,
    fangkong_domain::ids::IdType,
    fangkong_domain::investigation::cases::CaseStatus,
    fangkong_domain::investigation::CaseKind,
    fangkong_domain::investigation::ContactCategory,
    fangkong_domain::investigation::ContactStatus,
    fangkong_domain::investigation::DeadlineState,
    fangkong_domain::investigation::ExposureKind,
    fangkong_domain::investigation::FoundBy,
    fangkong_domain::investigation::Regime,
    fangkong_domain::investigation::Severity,
    fangkong_domain::isolation::HospitalKind,
    fangkong_domain::isolation::MeasureKind,
    fangkong_domain::isolation::MeasureStatus,
    fangkong_domain::isolation::PersonCategory,
    fangkong_domain::isolation::Readiness,
    fangkong_domain::isolation::RoomStatus,
    fangkong_domain::isolation::TestOutcome,
    fangkong_domain::isolation::TransferStatus,
    fangkong_domain::isolation::VehicleKind,
    fangkong_domain::lab_result::TestResult,
    fangkong_domain::leads::Channel,
    fangkong_domain::leads::ControlMeasure,
    fangkong_domain::leads::LeadStatus,
    fangkong_domain::leads::OutcomeKind,
    fangkong_domain::leads::RiskCategory,
    fangkong_domain::leads::SenderScope,
    fangkong_domain::mass_testing::results::RecheckReason,
    fangkong_domain::mass_testing::results::RecheckStatus,
    fangkong_domain::mass_testing::results::ResultEvent,
    fangkong_domain::mass_testing::ExemptionKind,
    fangkong_domain::mass_testing::RiskTier,
    fangkong_domain::mass_testing::RoundKind,
    fangkong_domain::mass_testing::SamplePurpose,
    fangkong_domain::person::KeyGroup,
    fangkong_domain::person::Sex,
    fangkong_domain::person_status::StatusBadge,
    fangkong_domain::person_status::StatusSource,
    fangkong_domain::risk_area::AreaScheme,
    fangkong_domain::risk_area::AreaTier,
    fangkong_domain::risk_area::AreaUnit,
    fangkong_domain::role::Role,
    fangkong_domain::supplies::cold_chain::ChainNode,
    fangkong_domain::supplies::cold_chain::SampleKind,
    fangkong_domain::supplies::cold_chain::SampleResult,
    fangkong_domain::supplies::deliveries::DeliveryCategory,
    fangkong_domain::supplies::deliveries::DeliveryStatus,
    fangkong_domain::supplies::deliveries::Eligibility,
    fangkong_domain::supplies::deliveries::RequestChannel,
    fangkong_domain::supplies::deliveries::Urgency,
    fangkong_domain::supplies::gatherings::ApprovalLevel,
    fangkong_domain::supplies::gatherings::GatheringKind,
    fangkong_domain::supplies::gatherings::GatheringStatus,
    fangkong_domain::supplies::gatherings::ParticipantCheck,
    fangkong_domain::supplies::passes::EnterpriseKind,
    fangkong_domain::supplies::passes::GoodsCategory,
    fangkong_domain::supplies::passes::PassKind,
    fangkong_domain::supplies::passes::PassStatus,
    fangkong_domain::supplies::passes::SupplyRole,
    fangkong_domain::supplies::passes::SupplyVehicleKind,
    fangkong_domain::supplies::reserves::ItemClass,
    fangkong_domain::supplies::reserves::MovementKind,
    fangkong_domain::supplies::reserves::NormBasis,
    fangkong_domain::supplies::reserves::OwnerKind,
    fangkong_domain::supplies::reserves::SupportStatus,
    fangkong_domain::supplies::vaccination::AgeBand,
    fangkong_domain::supplies::vaccination::Contraindication,
    fangkong_domain::supplies::vaccination::DoseKind,
    fangkong_domain::supplies::vaccination::VaccineProduct,
    fangkong_domain::warning::emergency::ClosesOn,
    fangkong_domain::warning::emergency::CommandState,
    fangkong_domain::warning::emergency::TaskStatus,
    fangkong_domain::warning::fever_clinics::BloodCount,
    fangkong_domain::warning::fever_clinics::ClinicKind,
    fangkong_domain::warning::fever_clinics::ClinicRisk,
    fangkong_domain::warning::fever_clinics::VisitStage,
    fangkong_domain::warning::pharmacies::DrugClass,
    fangkong_domain::warning::pharmacies::RequirementStatus,
    fangkong_domain::warning::pharmacies::SaleChannel,
    fangkong_domain::warning::triggers::AlertLevel,
    fangkong_domain::warning::triggers::AlertStatus,
    fangkong_domain::warning::triggers::SignalChannel,
}

/// A missing name is none (a room without an occupant).
impl From<NullableText> for Option<PersonName> {
    fn from(text: NullableText) -> Option<PersonName> {
        text.0.map(PersonName::from)
    }
}

/// For a `Serialize` row whose field is an optional coded enum or region: `None` is written as the
/// empty text the column held, so the row's JSON is the stored text, as before the field was typed.
pub fn code_or_empty<T: Coded, S: serde::Serializer>(
    value: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.map_or("", Coded::code))
}

/// For a `Serialize` row whose field is a coded enum declared with `serde = as_written` (JSON
/// says the variant's name): the row's JSON keeps saying the stored code.
pub fn stored_code<T: Coded, S: serde::Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.code())
}

/// `stored_code` for an optional field: `None` is JSON's null, as the optional text was.
pub fn optional_stored_code<T: Coded, S: serde::Serializer>(
    value: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(code) => serializer.serialize_some(code.code()),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, sqlx::FromRow)]
    struct Row {
        #[sqlx(try_from = "StoredPhone")]
        phone: Option<PhoneNumber>,
    }

    async fn read(sql: &'static str) -> Result<Row, sqlx::Error> {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        sqlx::query_as::<_, Row>(sql).fetch_one(&pool).await
    }

    #[derive(Debug, sqlx::FromRow)]
    struct CodedRow {
        #[sqlx(try_from = "StoredCode<fangkong_domain::leads::LeadStatus>")]
        status: fangkong_domain::leads::LeadStatus,
        #[sqlx(try_from = "StoredOptionalCode<fangkong_domain::role::Role>")]
        role: Option<fangkong_domain::role::Role>,
        #[sqlx(try_from = "StoredOptionalRegion")]
        region: Option<RegionCode>,
    }

    async fn read_coded(sql: &'static str) -> Result<CodedRow, sqlx::Error> {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        sqlx::query_as::<_, CodedRow>(sql).fetch_one(&pool).await
    }

    #[tokio::test]
    async fn a_stored_code_reads_as_its_enum_and_an_unknown_one_is_an_error_naming_the_enum() {
        use fangkong_domain::coded_enum::Coded;
        let status = fangkong_domain::leads::LeadStatus::ALL[0];
        let role = fangkong_domain::role::Role::ALL[0];
        let sql: &'static str = Box::leak(
            format!(
                "SELECT '{}' AS status, '{}' AS role, '130102' AS region",
                status.code(),
                role.code()
            )
            .into_boxed_str(),
        );
        let row = read_coded(sql).await.unwrap();
        assert_eq!(row.status, status);
        assert_eq!(row.role, Some(role));
        assert_eq!(row.region.map(|r| r.to_string()).as_deref(), Some("130102"));
        let sql: &'static str = Box::leak(
            format!(
                "SELECT '{}' AS status, NULL AS role, '' AS region",
                status.code()
            )
            .into_boxed_str(),
        );
        let row = read_coded(sql).await.unwrap();
        assert_eq!((row.role, row.region), (None, None));
        let error = read_coded("SELECT 'no-such-status' AS status, NULL AS role, NULL AS region")
            .await
            .unwrap_err();
        let error = crate::StoreError::from(error).to_string();
        assert!(
            error.contains("status")
                && error.contains("no-such-status")
                && error.contains(<fangkong_domain::leads::LeadStatus as Coded>::NAME),
            "{error}"
        );
        let sql: &'static str = Box::leak(
            format!(
                "SELECT '{}' AS status, 'not-a-role' AS role, NULL AS region",
                status.code()
            )
            .into_boxed_str(),
        );
        let error = read_coded(sql).await.unwrap_err();
        assert!(crate::StoreError::from(error).to_string().contains("role"));
    }

    #[tokio::test]
    async fn a_stored_phone_that_does_not_parse_is_an_error_naming_the_column_not_the_number() {
        let row = read("SELECT '13812345678' AS phone").await.unwrap();
        assert_eq!(row.phone.as_deref(), Some("13812345678"));
        assert!(!format!("{row:?}").contains("13812345678"), "{row:?}");
        assert_eq!(read("SELECT NULL AS phone").await.unwrap().phone, None);
        assert_eq!(read("SELECT '' AS phone").await.unwrap().phone, None);
        let error = read("SELECT '12812345678' AS phone").await.unwrap_err();
        let error = crate::StoreError::from(error).to_string();
        assert!(
            error.contains("phone") && error.contains("联系电话"),
            "{error}"
        );
        assert!(!error.contains("12812345678"), "{error}");
    }
}
