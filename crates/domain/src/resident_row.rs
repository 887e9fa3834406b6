//! One row of a resident import (CSV or XLSX), checked into a domain value.
//!
//! Grid workers fix their spreadsheets from our error list, so a row reports
//! every problem it has at once, each tied to the column it is in.
//! Checks that need the database (does the grid exist, duplicates inside a
//! household or across the import) are done by the caller.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate};

use crate::echo::shown;
use crate::ids::{IdCardNumber, IdDocument, IdType, mask_middle};
use crate::person::{KeyGroup, Sex, key_groups_label_zh, parse_key_groups};
use crate::personal::{Address, PersonName};
use crate::phone::PhoneNumber;
use crate::region::{RegionCode, RegionLevel};

/// The import/export header, in this order.
pub const COLUMNS: [&str; 11] = [
    "姓名",
    "证件类型",
    "证件号码",
    "性别",
    "出生日期",
    "联系电话",
    "现住址",
    "户编号",
    "与户主关系",
    "网格编码",
    "重点人群",
];

/// Column name used for problems that concern the row as a whole.
pub const WHOLE_ROW: &str = "整行";

const NAME_MAX: usize = 30;
const ADDRESS_MAX: usize = 100;
const HOUSEHOLD_MAX: usize = 32;
const RELATION_MAX: usize = 10;

/// A row exactly as read from the file, every cell as text.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawResidentRow {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub sex: String,
    pub birth_date: String,
    pub phone: String,
    pub address: String,
    pub household_number: String,
    pub relation: String,
    pub grid_code: String,
    pub key_groups: String,
}

impl RawResidentRow {
    /// Fields in [`COLUMNS`] order; missing trailing cells are empty.
    /// Like [`RawResidentRow::from_fields`], taking the cells without copying them (bulk imports).
    pub fn from_owned_fields(fields: Vec<String>) -> RawResidentRow {
        let mut cells = fields.into_iter();
        let mut next = || cells.next().unwrap_or_default();
        RawResidentRow {
            name: next(),
            id_type: next(),
            id_number: next(),
            sex: next(),
            birth_date: next(),
            phone: next(),
            address: next(),
            household_number: next(),
            relation: next(),
            grid_code: next(),
            key_groups: next(),
        }
    }

    pub fn from_fields(fields: &[String]) -> RawResidentRow {
        let get = |i: usize| fields.get(i).cloned().unwrap_or_default();
        RawResidentRow {
            name: get(0),
            id_type: get(1),
            id_number: get(2),
            sex: get(3),
            birth_date: get(4),
            phone: get(5),
            address: get(6),
            household_number: get(7),
            relation: get(8),
            grid_code: get(9),
            key_groups: get(10),
        }
    }

    pub fn to_fields(&self) -> [String; 11] {
        [
            self.name.clone(),
            self.id_type.clone(),
            self.id_number.clone(),
            self.sex.clone(),
            self.birth_date.clone(),
            self.phone.clone(),
            self.address.clone(),
            self.household_number.clone(),
            self.relation.clone(),
            self.grid_code.clone(),
            self.key_groups.clone(),
        ]
    }
}

/// By hand, because the raw cells hold full ID and phone numbers which must
/// not end up in logs even when the row failed validation.
impl fmt::Debug for RawResidentRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawResidentRow")
            .field("name", &self.name)
            .field("id_type", &self.id_type)
            .field("id_number", &mask_middle(self.id_number.trim(), 6, 4))
            .field("sex", &self.sex)
            .field("birth_date", &self.birth_date)
            .field("phone", &mask_middle(self.phone.trim(), 3, 4))
            .field("address", &self.address)
            .field("household_number", &self.household_number)
            .field("relation", &self.relation)
            .field("grid_code", &self.grid_code)
            .field("key_groups", &self.key_groups)
            .finish()
    }
}

/// One problem in one cell (or [`WHOLE_ROW`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub column: &'static str,
    pub message: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}：{}", self.column, self.message)
    }
}

/// A row that passed every check that needs no database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidResident {
    pub name: PersonName,
    pub document: IdDocument,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub phone: Option<PhoneNumber>,
    pub address: Address,
    pub household_number: String,
    pub relation: String,
    pub grid_code: RegionCode,
    pub key_groups: Vec<KeyGroup>,
}

/// The earliest birth date we accept; older dates are typing errors.
fn earliest_birth_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid constant date")
}

/// Reads a birth date as YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, or an
/// Excel serial day number (XLSX date cells often arrive as e.g. "36526").
pub fn parse_birth_date(raw: &str) -> Result<NaiveDate, String> {
    let text = raw.trim();
    let bad = || {
        format!(
            "出生日期“{}”无法识别，请按 1980-01-31 的格式填写",
            shown(text)
        )
    };
    if text.is_empty() {
        return Err("出生日期不能为空".to_string());
    }
    // Excel serials, sometimes written with a trailing ".0" by exporters.
    let serial_text = text.strip_suffix(".0").unwrap_or(text);
    if (1..=5).contains(&serial_text.len()) && serial_text.bytes().all(|b| b.is_ascii_digit()) {
        let serial: u64 = serial_text.parse().map_err(|_| bad())?;
        return excel_serial_to_date(serial).ok_or_else(bad);
    }
    let parts: Vec<&str> = if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        vec![&text[0..4], &text[4..6], &text[6..8]]
    } else {
        text.split(['-', '/', '.']).collect()
    };
    if parts.len() != 3 || parts[0].len() != 4 {
        return Err(bad());
    }
    let y: i32 = parts[0].parse().map_err(|_| bad())?;
    let m: u32 = parts[1].parse().map_err(|_| bad())?;
    let d: u32 = parts[2].parse().map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(y, m, d)
        .ok_or_else(|| format!("出生日期“{}”不存在（月份或日期不对）", shown(text)))
}

/// Excel's 1900 date system counts 1900-01-01 as day 1 and wrongly includes
/// 1900-02-29 as day 60, so from day 61 on the epoch is 1899-12-30.
fn excel_serial_to_date(serial: u64) -> Option<NaiveDate> {
    let epoch = match serial {
        0 | 60 => return None,
        1..=59 => NaiveDate::from_ymd_opt(1899, 12, 31)?,
        _ => NaiveDate::from_ymd_opt(1899, 12, 30)?,
    };
    epoch.checked_add_days(Days::new(serial))
}

fn format_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// Checks one row. Returns every problem found, not only the first.
pub fn validate_resident_row(
    raw: &RawResidentRow,
    today: NaiveDate,
) -> Result<ValidResident, Vec<FieldProblem>> {
    let mut problems: Vec<FieldProblem> = Vec::new();
    let mut problem = |column: &'static str, message: String| {
        problems.push(FieldProblem { column, message });
    };

    // 姓名
    let name = raw.name.trim().to_string();
    if name.is_empty() {
        problem(COLUMNS[0], "姓名不能为空".to_string());
    } else if name.chars().count() > NAME_MAX {
        problem(
            COLUMNS[0],
            format!(
                "姓名太长：最多{NAME_MAX}个字，实际为{}个字",
                name.chars().count()
            ),
        );
    } else if name.chars().any(|c| c.is_ascii_digit() || c.is_numeric()) {
        problem(COLUMNS[0], format!("姓名“{name}”中不能有数字"));
    } else if name.contains(['?', '？', '\u{fffd}']) {
        problem(
            COLUMNS[0],
            format!(
                "姓名“{name}”中有问号：多半是生僻字在文件另存为GBK编码时丢失了，请核对原件后重新填写（或把文件另存为“CSV UTF-8”）"
            ),
        );
    }

    // 证件类型 and 证件号码
    let id_type = match IdType::parse(&raw.id_type) {
        Ok(t) => Some(t),
        Err(e) => {
            problem(COLUMNS[1], e);
            None
        }
    };
    let document = match id_type {
        Some(t) => match IdDocument::parse(t, &raw.id_number) {
            Ok(doc) => Some(doc),
            Err(e) => {
                problem(COLUMNS[2], e);
                None
            }
        },
        None => None,
    };
    let card: Option<IdCardNumber> = document.as_ref().and_then(IdDocument::mainland);
    let is_mainland = id_type == Some(IdType::MainlandId);

    // 性别: optional for mainland IDs (the number says it), required otherwise.
    let sex_text = raw.sex.trim();
    let given_sex = if sex_text.is_empty() {
        if !is_mainland && id_type.is_some() {
            problem(COLUMNS[3], "非居民身份证的人员必须填写性别".to_string());
        }
        None
    } else {
        match Sex::parse(sex_text) {
            Ok(s) => Some(s),
            Err(e) => {
                problem(COLUMNS[3], e);
                None
            }
        }
    };
    if let (Some(given), Some(card)) = (given_sex, &card)
        && given != card.sex()
    {
        problem(
            COLUMNS[3],
            format!(
                "性别与身份证号不符：身份证号第17位表示{}",
                card.sex().label_zh()
            ),
        );
    }
    let sex = card.as_ref().map(IdCardNumber::sex).or(given_sex);

    // 出生日期: same rule as sex.
    let birth_text = raw.birth_date.trim();
    let given_birth = if birth_text.is_empty() {
        if !is_mainland && id_type.is_some() {
            problem(COLUMNS[4], "非居民身份证的人员必须填写出生日期".to_string());
        }
        None
    } else {
        match parse_birth_date(birth_text) {
            Ok(d) => Some(d),
            Err(e) => {
                problem(COLUMNS[4], e);
                None
            }
        }
    };
    if let (Some(given), Some(card)) = (given_birth, &card)
        && given != card.birth_date()
    {
        problem(
            COLUMNS[4],
            format!(
                "出生日期与身份证号不符：身份证号中的出生日期为 {}",
                format_date(card.birth_date())
            ),
        );
    }
    let birth_date = card.as_ref().map(IdCardNumber::birth_date).or(given_birth);
    if let Some(b) = birth_date {
        // Report on the column the date came from, so the worker knows where to look.
        let column = if card.is_some() && given_birth.is_none() {
            COLUMNS[2]
        } else {
            COLUMNS[4]
        };
        if b > today {
            problem(
                column,
                format!(
                    "出生日期晚于今天：{}（今天是 {}）",
                    format_date(b),
                    format_date(today)
                ),
            );
        } else if b < earliest_birth_date() {
            problem(
                column,
                format!("出生日期早于1900-01-01：{}，请检查是否填错", format_date(b)),
            );
        }
    }

    // 联系电话
    let phone_text = raw.phone.trim();
    let phone = if phone_text.is_empty() {
        None
    } else {
        match PhoneNumber::parse(phone_text) {
            Ok(p) => Some(p),
            Err(e) => {
                problem(COLUMNS[5], e);
                None
            }
        }
    };

    // 现住址
    let address = raw.address.trim().to_string();
    if address.chars().count() > ADDRESS_MAX {
        problem(
            COLUMNS[6],
            format!(
                "现住址太长：最多{ADDRESS_MAX}个字，实际为{}个字",
                address.chars().count()
            ),
        );
    }

    // 户编号
    let household_number = raw.household_number.trim().to_string();
    if household_number.is_empty() {
        problem(
            COLUMNS[7],
            "户编号不能为空：同一户的人填写相同的户编号".to_string(),
        );
    } else if household_number.chars().count() > HOUSEHOLD_MAX
        || !household_number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        problem(
            COLUMNS[7],
            format!(
                "户编号“{}”格式不对：只能用数字、英文字母和短横线，最多{HOUSEHOLD_MAX}位",
                shown(&household_number)
            ),
        );
    }

    // 与户主关系
    let relation = raw.relation.trim().to_string();
    if relation.chars().count() > RELATION_MAX {
        problem(
            COLUMNS[8],
            format!("与户主关系太长：最多{RELATION_MAX}个字（如 户主、配偶、子女）"),
        );
    }

    // 网格编码
    let grid_text = raw.grid_code.trim();
    let grid_message = "网格编码应为15位数字（村社区12位代码+3位网格序号）";
    let grid_code = if grid_text.is_empty() {
        problem(COLUMNS[9], format!("网格编码不能为空；{grid_message}"));
        None
    } else {
        match RegionCode::parse(grid_text) {
            Ok(code) if code.level() == RegionLevel::Grid => Some(code),
            _ => {
                problem(
                    COLUMNS[9],
                    format!(
                        "{grid_message}，实际为“{}”（{}位）",
                        shown(grid_text),
                        grid_text.chars().count()
                    ),
                );
                None
            }
        }
    };

    // 重点人群
    let key_groups = match parse_key_groups(&raw.key_groups) {
        Ok(g) => g,
        Err(e) => {
            problem(COLUMNS[10], e);
            Vec::new()
        }
    };

    match (document, sex, birth_date, grid_code) {
        (Some(document), Some(sex), Some(birth_date), Some(grid_code)) if problems.is_empty() => {
            Ok(ValidResident {
                name: name.into(),
                document,
                sex,
                birth_date,
                phone,
                address: address.into(),
                household_number,
                relation,
                grid_code,
                key_groups,
            })
        }
        _ => {
            if problems.is_empty() {
                // Unreachable by construction; kept so a future change cannot
                // turn a missing value into a silent success.
                problems.push(FieldProblem {
                    column: WHOLE_ROW,
                    message: "这一行信息不完整，请检查".to_string(),
                });
            }
            Err(problems)
        }
    }
}

/// The export form of a valid resident: full numbers (the export file is the
/// worker's own register), dates as YYYY-MM-DD, Chinese labels.
pub fn valid_to_raw(v: &ValidResident) -> RawResidentRow {
    RawResidentRow {
        name: v.name.to_string(),
        id_type: v.document.id_type().label_zh().to_string(),
        id_number: v.document.number().to_string(),
        sex: v.sex.label_zh().to_string(),
        birth_date: format_date(v.birth_date),
        phone: v
            .phone
            .as_ref()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        address: v.address.to_string(),
        household_number: v.household_number.clone(),
        relation: v.relation.clone(),
        grid_code: v.grid_code.as_str().to_string(),
        key_groups: key_groups_label_zh(&v.key_groups),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::gb11643_check_digit;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 5, 20).unwrap()
    }

    fn id(first17: &str) -> String {
        format!("{first17}{}", gb11643_check_digit(first17).unwrap())
    }

    /// A woman born 1985-03-07 (17th digit 2 is even).
    fn good_row() -> RawResidentRow {
        RawResidentRow {
            name: "王秀英".into(),
            id_type: "居民身份证".into(),
            id_number: id("13018219850307002"),
            sex: "女".into(),
            birth_date: "1985-03-07".into(),
            phone: "13812345678".into(),
            address: "藁城区廉州镇东街村3排12号".into(),
            household_number: "1301821002010010001".into(),
            relation: "户主".into(),
            grid_code: "130182100201001".into(),
            key_groups: "冷链、医务".into(),
        }
    }

    fn columns(problems: &[FieldProblem]) -> Vec<&'static str> {
        problems.iter().map(|p| p.column).collect()
    }

    #[test]
    fn a_complete_row_is_accepted() {
        let v = validate_resident_row(&good_row(), today()).unwrap();
        assert_eq!(v.name, "王秀英");
        assert_eq!(v.sex, Sex::Female);
        assert_eq!(v.birth_date, NaiveDate::from_ymd_opt(1985, 3, 7).unwrap());
        assert_eq!(v.grid_code.as_str(), "130182100201001");
        assert_eq!(v.key_groups, [KeyGroup::ColdChain, KeyGroup::Medical]);
        assert_eq!(v.phone.unwrap().as_str(), "13812345678");
    }

    #[test]
    fn blank_sex_and_birth_date_are_taken_from_a_mainland_id() {
        let mut row = good_row();
        row.sex.clear();
        row.birth_date.clear();
        row.id_type.clear();
        let v = validate_resident_row(&row, today()).unwrap();
        assert_eq!(v.sex, Sex::Female);
        assert_eq!(v.birth_date, NaiveDate::from_ymd_opt(1985, 3, 7).unwrap());
    }

    #[test]
    fn sex_that_contradicts_the_id_is_reported() {
        let mut row = good_row();
        row.sex = "男".into();
        let problems = validate_resident_row(&row, today()).unwrap_err();
        assert_eq!(
            problems,
            [FieldProblem {
                column: "性别",
                message: "性别与身份证号不符：身份证号第17位表示女".into()
            }]
        );
    }

    #[test]
    fn birth_date_that_contradicts_the_id_is_reported_with_the_id_date() {
        let mut row = good_row();
        row.birth_date = "1985/03/08".into();
        let problems = validate_resident_row(&row, today()).unwrap_err();
        assert_eq!(columns(&problems), ["出生日期"]);
        assert!(problems[0].message.contains("1985-03-07"));
    }

    #[test]
    fn birth_date_formats_including_excel_serials_are_understood() {
        let expected = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        for raw in [
            "2000-01-01",
            "2000/1/1",
            "20000101",
            "36526",
            "36526.0",
            "2000.01.01",
        ] {
            assert_eq!(parse_birth_date(raw).unwrap(), expected, "{raw}");
        }
        assert_eq!(
            parse_birth_date("1").unwrap(),
            NaiveDate::from_ymd_opt(1900, 1, 1).unwrap()
        );
        assert!(
            parse_birth_date("2001-02-29")
                .unwrap_err()
                .contains("不存在")
        );
        assert!(parse_birth_date("一九八零年").is_err());
    }

    #[test]
    fn every_problem_of_a_row_is_reported_at_once() {
        let row = RawResidentRow {
            name: "张3".into(),
            id_type: "身份证".into(),
            id_number: "110105194912310021".into(),
            sex: "未知".into(),
            birth_date: "".into(),
            phone: "12345".into(),
            address: "村".repeat(101),
            household_number: "".into(),
            relation: "户主的远房亲戚的孩子们".into(),
            grid_code: "130182100201".into(),
            key_groups: "司机".into(),
        };
        let problems = validate_resident_row(&row, today()).unwrap_err();
        assert_eq!(
            columns(&problems),
            [
                "姓名",
                "证件号码",
                "性别",
                "联系电话",
                "现住址",
                "户编号",
                "与户主关系",
                "网格编码",
                "重点人群"
            ]
        );
        assert!(problems[1].message.contains("校验位"));
        assert!(problems[7].message.contains("网格编码应为15位数字"));
    }

    #[test]
    fn a_birth_date_in_the_future_is_rejected() {
        let mut row = good_row();
        row.id_type = "护照".into();
        row.id_number = "E12345678".into();
        row.birth_date = "2024-05-21".into();
        let problems = validate_resident_row(&row, today()).unwrap_err();
        assert_eq!(columns(&problems), ["出生日期"]);
        assert!(problems[0].message.starts_with("出生日期晚于今天"));

        row.birth_date = "1899-12-31".into();
        let problems = validate_resident_row(&row, today()).unwrap_err();
        assert!(problems[0].message.contains("早于1900-01-01"));
    }

    #[test]
    fn non_mainland_documents_need_sex_and_birth_date() {
        let mut row = good_row();
        row.id_type = "港澳通行证".into();
        row.id_number = "H12345678".into();
        row.sex.clear();
        row.birth_date.clear();
        let problems = validate_resident_row(&row, today()).unwrap_err();
        assert_eq!(columns(&problems), ["性别", "出生日期"]);

        row.sex = "女".into();
        row.birth_date = "1990-01-01".into();
        let v = validate_resident_row(&row, today()).unwrap();
        assert_eq!(v.document.id_type(), IdType::HkMacaoPermit);
    }

    #[test]
    fn phone_relation_address_and_key_groups_are_optional() {
        let mut row = good_row();
        row.phone.clear();
        row.relation.clear();
        row.address.clear();
        row.key_groups.clear();
        let v = validate_resident_row(&row, today()).unwrap();
        assert!(v.phone.is_none());
        assert!(v.key_groups.is_empty());
    }

    #[test]
    fn household_number_allows_only_letters_digits_and_dashes() {
        let mut row = good_row();
        row.household_number = "东街-1".into();
        let problems = validate_resident_row(&row, today()).unwrap_err();
        assert_eq!(columns(&problems), ["户编号"]);
        row.household_number = "A".repeat(33);
        assert!(validate_resident_row(&row, today()).is_err());
        row.household_number = "DJ-0001".into();
        assert!(validate_resident_row(&row, today()).is_ok());
    }

    #[test]
    fn export_then_import_gives_the_same_resident() {
        let v = validate_resident_row(&good_row(), today()).unwrap();
        let raw = valid_to_raw(&v);
        assert_eq!(raw.id_number, good_row().id_number);
        assert_eq!(raw.id_type, "居民身份证");
        assert_eq!(raw.sex, "女");
        assert_eq!(raw.birth_date, "1985-03-07");
        assert_eq!(raw.key_groups, "冷链从业人员、医务人员");
        let again = validate_resident_row(&raw, today()).unwrap();
        assert_eq!(again, v);
    }

    #[test]
    fn fields_map_to_columns_in_order_and_missing_cells_are_empty() {
        let row = good_row();
        let fields = row.to_fields();
        assert_eq!(RawResidentRow::from_fields(&fields), row);
        let short = RawResidentRow::from_fields(&["李四".to_string(), "护照".to_string()]);
        assert_eq!(short.name, "李四");
        assert_eq!(short.id_type, "护照");
        assert!(short.key_groups.is_empty());
    }

    #[test]
    fn debug_output_hides_id_and_phone_numbers() {
        let row = good_row();
        let text = format!("{row:?}");
        assert!(!text.contains(&row.id_number), "{text}");
        assert!(!text.contains("13812345678"), "{text}");
        assert!(text.contains("130182********"), "{text}");
        let v = validate_resident_row(&row, today()).unwrap();
        let text = format!("{v:?}");
        assert!(!text.contains(&row.id_number), "{text}");
        assert!(!text.contains("13812345678"), "{text}");
    }
}
