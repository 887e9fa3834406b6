//! Supplies: Vaccination (疫苗接种).
