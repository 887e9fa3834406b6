//! Hospitals (定点医院, 方舱医院): where cases are treated.

use super::*;

crate::coded_enum! {
    // Serde as written: JSON says the variant's name (`Designated`), not its code.
    serde = as_written;
    /// Where cases are treated.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    pub enum HospitalKind {
        /// 定点医院.
        Designated => "designated", "定点医院",
        /// 方舱医院.
        Fangcang => "fangcang", "方舱医院",
    }
}
