//! The public bulletin (病例通报): what it says of a person.

/// Age in whole years on `today` of someone born on `birth`.
pub fn age_on(birth: chrono::NaiveDate, today: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    let mut age = i64::from(today.year() - birth.year());
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0)
}
