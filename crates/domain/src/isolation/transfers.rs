//! Transfers (转运): vehicles, who may ride together (cases only by ambulance, one per trip,
//! disinfection before the next; §8.5) and a transfer's steps.

use super::*;

// ---------------------------------------------------------------------------------------------
// Transfers and hospitals

crate::coded_enum! {
    // Serde as written: JSON says the variant's name (`NegativePressureAmbulance`), not its code.
    serde = as_written;
    /// A transfer vehicle (转运车辆).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum VehicleKind {
        /// 负压救护车.
        NegativePressureAmbulance => "negative_pressure_ambulance", "负压救护车",
        /// 救护车（120）.
        Ambulance => "ambulance", "救护车",
        /// 转运专用大巴.
        Coach => "coach", "转运专用大巴",
    }
}

impl VehicleKind {
    pub fn is_ambulance(self) -> bool {
        !matches!(self, VehicleKind::Coach)
    }
}

/// Who rides: an infected person (a case or a positive under a measure) or a risk person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rider {
    Infected,
    RiskPerson,
}

/// The transfer rules (§8.5): infected people only by ambulance (negative-pressure where possible),
/// one person per trip; risk people by dedicated coach up to its seats; nobody in a vehicle not
/// disinfected since its last trip; never infected and risk people together.
pub fn transfer_check(
    kind: VehicleKind,
    capacity: u32,
    awaiting_disinfection: bool,
    riders: &[Rider],
) -> Result<(), String> {
    if awaiting_disinfection {
        return Err("该车辆上一趟转运后还没有终末消毒，消毒后才能再转运".into());
    }
    if riders.is_empty() {
        return Err("没有选择转运人员".into());
    }
    let infected = riders.iter().filter(|r| **r == Rider::Infected).count();
    if infected > 0 && !kind.is_ambulance() {
        return Err(format!(
            "阳性感染者只能由（负压）救护车转运，不能用{}",
            kind.label_zh()
        ));
    }
    if infected > 0 && riders.len() > 1 {
        return Err(format!(
            "救护车转运感染者一人一车：这趟已有{}人，每趟只能转运1名感染者",
            riders.len()
        ));
    }
    if infected == 0 && kind.is_ambulance() {
        return Err(format!(
            "密接等风险人员应由转运专用大巴转运，{}留给感染者",
            kind.label_zh()
        ));
    }
    if riders.len() as u32 > capacity {
        return Err(format!(
            "该车核载{capacity}人，这趟有{}人，超出核载",
            riders.len()
        ));
    }
    Ok(())
}

crate::coded_enum! {
    // Serde as written: JSON says the variant's name (`Dispatched`), not its code.
    serde = as_written;
    /// A transfer's steps (转运状态).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    pub enum TransferStatus {
        Dispatched => "dispatched", "已派车",
        PickedUp => "picked_up", "已接到",
        HandedOver => "handed_over", "已交接",
    }
}

impl TransferStatus {
    /// The step after this one.
    pub fn next(self) -> Option<TransferStatus> {
        match self {
            TransferStatus::Dispatched => Some(TransferStatus::PickedUp),
            TransferStatus::PickedUp => Some(TransferStatus::HandedOver),
            TransferStatus::HandedOver => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_follow_the_rules() {
        use Rider::*;
        use VehicleKind::*;
        assert!(transfer_check(NegativePressureAmbulance, 1, false, &[Infected]).is_ok());
        assert!(
            transfer_check(Coach, 40, false, &[Infected])
                .unwrap_err()
                .contains("只能由（负压）救护车")
        );
        assert!(
            transfer_check(Ambulance, 2, false, &[Infected, Infected])
                .unwrap_err()
                .contains("一人一车")
        );
        assert!(
            transfer_check(NegativePressureAmbulance, 1, true, &[Infected])
                .unwrap_err()
                .contains("消毒")
        );
        assert!(
            transfer_check(Coach, 2, false, &[RiskPerson; 3])
                .unwrap_err()
                .contains("核载")
        );
        assert!(transfer_check(Coach, 40, false, &[RiskPerson; 30]).is_ok());
    }
}
