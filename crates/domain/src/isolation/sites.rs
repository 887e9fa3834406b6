//! Sites, rooms, carers and capacity: room blocks, the carer rule ("一人一间一卫", §8.2) and the
//! capacity norm (≥ 20 rooms per 10,000 residents, §8.1).

use super::*;

// ---------------------------------------------------------------------------------------------
// Sites, rooms, carers, capacity

crate::coded_enum! {
    // Serde as written: JSON says the variant's name (`TwoHours`), not its code.
    serde = as_written;
    /// How soon a site can take people (Bazhong's two tiers, §8.2).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Readiness {
        /// 2小时内可启用.
        TwoHours => "2h", "2小时内可启用",
        /// 24小时内可启用（备用）.
        TwentyFourHours => "24h", "24小时备用",
    }
}

crate::coded_enum! {
    // Serde as written: JSON says the variant's name (`Free`), not its code.
    serde = as_written;
    /// A room's state (房间状态).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum RoomStatus {
        Free => "free", "空闲",
        Occupied => "occupied", "已入住",
        Cleaning => "cleaning", "消杀中",
        Maintenance => "maintenance", "维修",
    }
}

/// Bulk room creation: building `A`, floors 1–6, rooms 01–20 → "A-101" … "A-620".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomBlock {
    pub building: String,
    pub floors: (u32, u32),
    pub rooms: (u32, u32),
}

/// Most rooms one bulk creation may make (a 3,000-room prefab site is made in one go).
pub const MAX_ROOMS_PER_BLOCK: u32 = 5_000;

impl RoomBlock {
    /// Checks the block and lists (building, floor, room number) in adjacency order.
    pub fn rooms(&self) -> Result<Vec<(String, u32, String)>, String> {
        let building = self.building.trim();
        if building.is_empty() || building.chars().count() > 10 {
            return Err("楼栋名称应填写1到10个字，如“A”或“1号楼”".into());
        }
        let (f1, f2) = self.floors;
        let (r1, r2) = self.rooms;
        if f1 == 0 || f2 < f1 || f2 > 60 {
            return Err(format!(
                "楼层范围{f1}–{f2}无效：应从1层起、终止层不小于起始层、不超过60层"
            ));
        }
        if r1 == 0 || r2 < r1 || r2 > 99 {
            return Err(format!(
                "房间号范围{r1}–{r2}无效：应为1到99、终止号不小于起始号"
            ));
        }
        let count = (f2 - f1 + 1) * (r2 - r1 + 1);
        if count > MAX_ROOMS_PER_BLOCK {
            return Err(format!(
                "一次最多建{MAX_ROOMS_PER_BLOCK}间，这次是{count}间，请分楼栋创建"
            ));
        }
        let mut out = Vec::with_capacity(count as usize);
        for floor in f1..=f2 {
            for room in r1..=r2 {
                out.push((
                    building.to_string(),
                    floor,
                    format!("{building}-{floor}{room:02}"),
                ));
            }
        }
        Ok(out)
    }
}

/// Why a person may have a carer with them (陪护), §8.2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CareNeeds {
    pub pregnant: bool,
    pub seriously_ill: bool,
    /// Semi- or not self-caring (半失能/失能).
    pub dependent: bool,
}

/// The carer proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarerFacts {
    pub age: u32,
    pub underlying_disease: bool,
}

/// The age under which a child may have a carer (14).
pub const CARER_CHILD_AGE: u32 = 14;
/// From this age a person counts as elderly and may not be a carer (60).
pub const ELDERLY_AGE: u32 = 60;

/// "一人一间一卫": one person per room; a carer only for a child under 14, a pregnant woman, a
/// seriously ill or dependent person; no elderly carer (≥ 60), none with an underlying disease, and
/// no minor [I]. Returns every reason the pairing is refused.
pub fn carer_check(
    person_age: u32,
    needs: CareNeeds,
    carer: CarerFacts,
) -> Result<(), Vec<String>> {
    let mut reasons = Vec::new();
    if person_age >= CARER_CHILD_AGE && !needs.pregnant && !needs.seriously_ill && !needs.dependent
    {
        reasons.push(
            "一人一间一卫：只有14岁以下儿童、孕妇、重症患者或半失能/失能人员可以有陪护".to_string(),
        );
    }
    if carer.age >= ELDERLY_AGE {
        reasons.push(format!(
            "陪护人{}岁，60岁及以上老年人不能担任陪护",
            carer.age
        ));
    }
    if carer.underlying_disease {
        reasons.push("有基础性疾病的人不能担任陪护".to_string());
    }
    if carer.age < 18 {
        reasons.push(format!("陪护人{}岁，未成年人不能担任陪护", carer.age));
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

/// Rooms per 10,000 residents required (≥ 20, State Council 2021-09-29, §8.1).
pub const ROOMS_PER_10K: i64 = 20;

/// The rooms a population needs under the norm (rounded up).
pub fn required_rooms(population: i64) -> i64 {
    (population.max(0) * ROOMS_PER_10K + 9_999) / 10_000
}

/// Age in whole years on `today` of someone born on `birth`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    let mut years = today.years_since(birth).unwrap_or(0);
    if years > 150 {
        years = 0;
    }
    years
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn carers_only_for_those_who_need_one_and_never_elderly_or_ill() {
        let fit = CarerFacts {
            age: 35,
            underlying_disease: false,
        };
        assert!(carer_check(8, CareNeeds::default(), fit).is_ok());
        assert!(
            carer_check(
                30,
                CareNeeds {
                    pregnant: true,
                    ..Default::default()
                },
                fit
            )
            .is_ok()
        );
        let adult = carer_check(30, CareNeeds::default(), fit).unwrap_err();
        assert!(adult[0].contains("一人一间一卫"));
        let old = carer_check(
            8,
            CareNeeds::default(),
            CarerFacts {
                age: 62,
                underlying_disease: true,
            },
        )
        .unwrap_err();
        assert_eq!(old.len(), 2);
        assert!(old[0].contains("60岁"));
    }

    #[test]
    fn room_blocks_and_the_norm() {
        let rooms = RoomBlock {
            building: "A".into(),
            floors: (1, 6),
            rooms: (1, 20),
        }
        .rooms()
        .unwrap();
        assert_eq!(rooms.len(), 120);
        assert_eq!(rooms[0].2, "A-101");
        assert_eq!(rooms[119].2, "A-620");
        assert!(
            RoomBlock {
                building: "A".into(),
                floors: (3, 1),
                rooms: (1, 20)
            }
            .rooms()
            .is_err()
        );
        assert_eq!(required_rooms(10_000), 20);
        assert_eq!(required_rooms(10_001), 21);
        assert_eq!(required_rooms(0), 0);
    }

    #[test]
    fn temperatures_reuse_the_checkpoint_parsing() {
        assert_eq!(parse_temperature("37.5"), Ok(37.5));
        assert!(parse_temperature("52").is_err());
        assert_eq!(age_on(date("2010-06-15"), date("2022-11-20")), 12);
    }
}
