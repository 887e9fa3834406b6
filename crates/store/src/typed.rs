//! Reading text columns into domain types the derive cannot decode itself: `#[sqlx(try_from =
//! "StoredPhone")]` on an `Option<PhoneNumber>` field parses the stored text when the row is read, so
//! a row whose phone does not parse is an error (naming the column, not the value) instead of a
//! string passed upward; `StoredRegion` does the same for a region code, `NullableText` reads a
//! nullable name. (The derive's own `try_from` would lose a parser's message: sqlx 0.9 reports its
//! error as "unprintable", so the parsing happens in `Decode`.)

use fangkong_domain::personal::PersonName;
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::RegionCode;
use sqlx::{Database, Decode, Type};

/// The text of a nullable column, as read; only a step towards a domain type.
pub struct NullableText(Option<String>);

impl<DB: Database> Type<DB> for NullableText
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

impl<DB: Database> Type<DB> for StoredPhone
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

/// A missing or empty phone is none; any other text must be a valid number.
impl<'r, DB: Database> Decode<'r, DB> for StoredPhone
where
    Option<String>: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<StoredPhone, sqlx::error::BoxDynError> {
        match <Option<String> as Decode<'r, DB>>::decode(value)? {
            Some(text) if !text.is_empty() => Ok(StoredPhone(Some(PhoneNumber::parse(&text)?))),
            _ => Ok(StoredPhone(None)),
        }
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

impl<DB: Database> Type<DB> for StoredRegion
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

/// A missing name is none (a room without an occupant).
impl From<NullableText> for Option<PersonName> {
    fn from(text: NullableText) -> Option<PersonName> {
        text.0.map(PersonName::from)
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
