//! Streaming generation of households, grid by grid.
//!
//! The generator keeps only the plan, the names and the ID counters in
//! memory, never the residents: the caller consumes one household at a time,
//! so eleven million residents can be written to a file or a database with
//! flat memory use.

use std::collections::HashMap;
use std::fmt;

use chrono::{Datelike, Days, Months, NaiveDate};
use fangkong_domain::ids::{IdType, gb11643_check_digit, mask_middle};
use fangkong_domain::person::age_on;
use fangkong_domain::person::{KeyGroup, Sex};
use fangkong_domain::region::{is_community_name, short_name};

use crate::names::{SurnamePicker, full_name, mobile};
use crate::plan::{GridPlan, PopulationPlan};
use crate::rng::{Rng, cumulative};

/// Names of the regions, for addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionNames {
    pub county_name: String,
    /// Township code → name, e.g. "130109100" → "廉州镇".
    pub township_names: HashMap<String, String>,
    /// Village code → name, e.g. "130109110201" → "小果庄村村民委员会".
    pub village_names: HashMap<String, String>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SimResident {
    pub name: String,
    pub id_type: IdType,
    pub id_number: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub phone: Option<String>,
    pub relation: String,
    pub key_groups: Vec<KeyGroup>,
}

/// By hand: synthetic or not, ID and phone numbers are never logged unmasked,
/// so that nobody gets used to seeing them in logs.
impl fmt::Debug for SimResident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimResident")
            .field("name", &self.name)
            .field("id_type", &self.id_type)
            .field("id_number", &mask_middle(&self.id_number, 6, 4))
            .field("sex", &self.sex)
            .field("birth_date", &self.birth_date)
            .field(
                "phone",
                &self.phone.as_deref().map(|p| mask_middle(p, 3, 4)),
            )
            .field("relation", &self.relation)
            .field("key_groups", &self.key_groups)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimHousehold {
    /// Grid code + 4-digit sequence inside the grid: unique overall.
    pub number: String,
    pub grid_code: String,
    pub address: String,
    /// The householder (户主) comes first.
    pub members: Vec<SimResident>,
}

/// Share of households per size 1..=7, in percent. Mean 2.80, as in rural
/// Hebei, where many old couples live alone and three generations under
/// one roof are still common.
const HOUSEHOLD_SIZE_PERCENT: [u32; 7] = [18, 31, 22, 16, 9, 3, 1];

/// Other Hebei counties that migrant residents come from.
const MIGRANT_PREFIXES: [u32; 7] = [130102, 130104, 130123, 130181, 130202, 130402, 130602];

/// Each key group's share among working-age adults (18–60), in 1/10000.
const KEY_GROUP_RATES: [(KeyGroup, u32); 9] = [
    (KeyGroup::ColdChain, 50),
    (KeyGroup::Medical, 100),
    (KeyGroup::Delivery, 100),
    (KeyGroup::IsolationSiteStaff, 20),
    (KeyGroup::Port, 10),
    (KeyGroup::PublicTransport, 50),
    (KeyGroup::MarketVendor, 100),
    (KeyGroup::School, 100),
    (KeyGroup::ElderlyCare, 30),
];

/// Sequence numbers available per (region, birth date, sex): males use odd
/// 001..=997, females even 002..=998.
const SEQUENCES_PER_SEX: u16 = 499;

/// One person before names and documents are drawn.
struct Member {
    relation: &'static str,
    male: bool,
    age: u32,
    /// Index into SURNAMES.
    surname: usize,
}

/// Where the household's members are registered and with which document.
enum Documents {
    Mainland { prefix: u32 },
    Other(IdType),
}

pub struct PopulationGenerator {
    grids: Vec<GridPlan>,
    names: RegionNames,
    today: NaiveDate,
    rng: Rng,
    surnames: SurnamePicker,
    size_weights: Vec<u32>,
    key_group_weights: Vec<u32>,
    key_group_total: f64,
    /// Next grid to start.
    next_grid: usize,
    /// Grid being filled, residents still to place and households made so far.
    current: Option<usize>,
    remaining: u32,
    household_seq: u32,
    /// Per village: address prefix, layout and dominant surnames.
    village_code: String,
    address_prefix: String,
    is_community: bool,
    clan_surnames: [usize; 3],
    houses_in_village: u32,
    county_prefix: u32,
    /// Sequence numbers handed out, keyed by region prefix and birth day.
    id_counters: HashMap<u64, [u16; 2]>,
    other_documents: u32,
}

impl PopulationGenerator {
    pub fn new(
        plan: &PopulationPlan,
        names: &RegionNames,
        today: NaiveDate,
        seed: u64,
    ) -> PopulationGenerator {
        let key_group_total: u32 = KEY_GROUP_RATES.iter().map(|(_, r)| r).sum();
        PopulationGenerator {
            grids: plan.grids.clone(),
            names: names.clone(),
            today,
            rng: Rng::new(seed, 2),
            surnames: SurnamePicker::new(),
            size_weights: cumulative(HOUSEHOLD_SIZE_PERCENT),
            key_group_weights: cumulative(KEY_GROUP_RATES.iter().map(|(_, r)| *r)),
            key_group_total: f64::from(key_group_total) / 10_000.0,
            next_grid: 0,
            current: None,
            remaining: 0,
            household_seq: 0,
            village_code: String::new(),
            address_prefix: String::new(),
            is_community: false,
            clan_surnames: [0; 3],
            houses_in_village: 0,
            county_prefix: 0,
            id_counters: HashMap::new(),
            other_documents: 0,
        }
    }

    fn start_grid(&mut self, index: usize) {
        let grid = &self.grids[index];
        self.current = Some(index);
        self.remaining = grid.residents;
        self.household_seq = 0;
        self.county_prefix = grid
            .code
            .get(..6)
            .and_then(|p| p.parse().ok())
            .unwrap_or(130100);
        if grid.village_code != self.village_code {
            let village_code = grid.village_code.clone();
            self.start_village(&village_code);
        }
    }

    fn start_village(&mut self, village_code: &str) {
        let township_code = village_code.get(..9).unwrap_or(village_code);
        let township = self
            .names
            .township_names
            .get(township_code)
            .map(String::as_str)
            .unwrap_or("");
        let full = self
            .names
            .village_names
            .get(village_code)
            .map(String::as_str);
        self.is_community = full.is_some_and(is_community_name);
        let mut village = full.map(short_name).unwrap_or(village_code).to_string();
        // "金庄村民委员会" shortens to "金庄", but people write "金庄村".
        if full.is_some() && !self.is_community && !village.ends_with('村') {
            village.push('村');
        }
        if full.is_some() && self.is_community && !village.contains("社区") {
            village.push_str("社区");
        }
        self.address_prefix = format!("{}{}{}", self.names.county_name, township, village);
        self.village_code = village_code.to_string();
        self.houses_in_village = 0;
        // Villages in north China are often dominated by two or three clans.
        for slot in &mut self.clan_surnames {
            *slot = self.surnames.pick(&mut self.rng);
        }
    }

    fn household_surname(&mut self) -> usize {
        if !self.is_community && self.rng.chance(0.45) {
            *self.rng.pick(&self.clan_surnames)
        } else {
            self.surnames.pick(&mut self.rng)
        }
    }

    fn next_address(&mut self) -> String {
        let n = self.houses_in_village;
        self.houses_in_village += 1;
        if self.is_community {
            // 3 units × 6 floors × 2 flats per building.
            let building = n / 36 + 1;
            let unit = n % 36 / 12 + 1;
            let floor = n % 12 / 2 + 1;
            let flat = n % 2 + 1;
            format!(
                "{}{building}号楼{unit}单元{floor}0{flat}室",
                self.address_prefix
            )
        } else {
            // Courtyards in rows (排) of 15 along the village lanes.
            format!("{}{}排{}号", self.address_prefix, n / 15 + 1, n % 15 + 1)
        }
    }

    /// Who lives together: relations, sexes and ages, householder first.
    fn compose(&mut self, size: u32) -> Vec<Member> {
        let family = self.household_surname();
        let rng = &mut self.rng;
        let mut members = Vec::with_capacity(size as usize);
        let surnames = &self.surnames;
        let other_surname = |rng: &mut Rng| surnames.pick(rng);

        if size == 1 {
            // Living alone: mostly widowed elders (more often women), else young workers.
            let elderly = rng.chance(0.5);
            let (age, male) = if elderly {
                (rng.range(60, 92), rng.chance(0.42))
            } else {
                (rng.range(20, 59), rng.chance(0.7))
            };
            members.push(Member {
                relation: "户主",
                male,
                age,
                surname: family,
            });
            return members;
        }

        // Households of three generations headed by the grandparents.
        let elder_headed = match size {
            2 => false,
            3 => rng.chance(0.08),
            4 => rng.chance(0.2),
            _ => rng.chance(0.45),
        };
        let single_parent = size == 2 && rng.chance(0.15);
        let head_age = if elder_headed {
            rng.range(52, 78)
        } else if size == 2 && !single_parent && rng.chance(0.45) {
            rng.range(58, 88)
        } else if size == 2 {
            rng.range(28, 65)
        } else {
            rng.range(25, 54)
        };
        let head_male = rng.chance(if single_parent { 0.4 } else { 0.85 });
        members.push(Member {
            relation: "户主",
            male: head_male,
            age: head_age,
            surname: family,
        });
        if !single_parent {
            // Wives are usually 0–4 years younger than their husbands.
            let gap = rng.range(0, 6) as i32 - 1;
            let age = if head_male {
                head_age as i32 - gap
            } else {
                head_age as i32 + gap
            };
            members.push(Member {
                relation: "配偶",
                male: !head_male,
                age: age.clamp(18, 100) as u32,
                surname: other_surname(rng),
            });
        }
        let youngest_parent_age = |m: &[Member]| m.iter().map(|x| x.age).min().unwrap_or(head_age);

        if elder_headed {
            // Grandparents, one married child (usually a son) and grandchildren.
            let child_male = rng.chance(0.8);
            let child_age = head_age.saturating_sub(rng.range(22, 32)).max(18);
            members.push(Member {
                relation: "子女",
                male: child_male,
                age: child_age,
                surname: family,
            });
            if members.len() < size as usize {
                let spouse_age = (child_age as i32 + rng.range(0, 6) as i32 - 3).clamp(18, 100);
                members.push(Member {
                    relation: if child_male { "儿媳" } else { "女婿" },
                    male: !child_male,
                    age: spouse_age as u32,
                    surname: other_surname(rng),
                });
            }
            let grandchild_surname = if child_male {
                family
            } else {
                other_surname(rng)
            };
            let mut age = child_age.saturating_sub(rng.range(20, 32)) as i32;
            if age < 0 {
                age = rng.range(0, 10) as i32;
            }
            while members.len() < size as usize {
                members.push(Member {
                    relation: "孙子女",
                    male: rng.chance(0.55),
                    age: age.max(0) as u32,
                    surname: grandchild_surname,
                });
                age -= rng.range(1, 5) as i32;
            }
            return members;
        }

        // A couple (or single parent) with children and maybe the head's parents.
        let room = size as usize - members.len();
        let parents = match size {
            2 => 0,
            3 => usize::from(rng.chance(0.12)),
            4 => usize::from(rng.chance(0.3)),
            _ => rng.range(1, 2) as usize,
        }
        .min(room.saturating_sub(1));
        let children = room - parents;
        let youngest_parent = youngest_parent_age(&members);
        let mut child_age = youngest_parent as i32 - rng.range(22, 34) as i32;
        if child_age < 0 {
            child_age = rng.range(0, (youngest_parent.saturating_sub(20)).min(12)) as i32;
        }
        for _ in 0..children {
            // Rural Hebei's sex ratio at birth has long been above 110.
            members.push(Member {
                relation: "子女",
                male: rng.chance(0.55),
                age: child_age.max(0) as u32,
                surname: family,
            });
            // Siblings are 1–5 years apart, but nobody has children past about 42.
            child_age = (child_age - rng.range(1, 5) as i32).max(youngest_parent as i32 - 42);
        }
        if parents > 0 {
            let parent_age = (head_age + rng.range(22, 32)).min(98);
            let both = parents == 2;
            let mother_only = !both && rng.chance(0.65);
            if both || !mother_only {
                members.push(Member {
                    relation: "父母",
                    male: true,
                    age: parent_age,
                    surname: family,
                });
            }
            if both || mother_only {
                members.push(Member {
                    relation: "父母",
                    male: false,
                    age: parent_age.saturating_sub(rng.range(0, 4)).max(40),
                    surname: other_surname(rng),
                });
            }
        }
        members
    }

    fn birth_date_for_age(&mut self, age: u32) -> NaiveDate {
        // The latest possible birthday for this age is today minus `age`
        // years; going back up to 364 more days keeps the age exact.
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("constant date");
        self.today
            .checked_sub_months(Months::new(age * 12))
            .and_then(|d| d.checked_sub_days(Days::new(u64::from(self.rng.below(365)))))
            .unwrap_or(earliest)
            .max(earliest)
    }

    /// A unique, valid mainland ID number. When every sequence number of that
    /// birth day is taken (only in implausibly dense plans) the person's
    /// birth date moves one day earlier, so the number stays unique.
    fn mainland_id(
        &mut self,
        prefix: u32,
        mut birth: NaiveDate,
        male: bool,
    ) -> (String, NaiveDate) {
        loop {
            let key = u64::from(prefix) << 32 | birth.num_days_from_ce() as u32 as u64;
            let counters = self.id_counters.entry(key).or_insert([0, 0]);
            let slot = usize::from(!male);
            if counters[slot] < SEQUENCES_PER_SEX {
                let k = counters[slot];
                counters[slot] += 1;
                let seq = if male { 2 * k + 1 } else { 2 * k + 2 };
                let first17 = format!(
                    "{prefix:06}{:04}{:02}{:02}{seq:03}",
                    birth.year(),
                    birth.month(),
                    birth.day()
                );
                let check = gb11643_check_digit(&first17).expect("17 digits");
                let mut id = first17;
                id.push(check);
                return (id, birth);
            }
            birth = birth
                .pred_opt()
                .expect("dates stay far from chrono's limits");
        }
    }

    fn other_document(&mut self, id_type: IdType) -> String {
        // A running counter keeps these numbers unique; the offset just makes
        // them look less artificial.
        self.other_documents += 1;
        let n = 20_000_000 + self.other_documents * 37 % 79_999_999;
        match id_type {
            IdType::HkMacaoPermit => {
                let letter = if n.is_multiple_of(4) { 'M' } else { 'H' };
                format!("{letter}{n:08}")
            }
            IdType::TaiwanPermit => format!("{n:08}"),
            _ => format!("E{n:08}"),
        }
    }

    fn key_groups(&mut self, age: u32) -> Vec<KeyGroup> {
        if !(18..=60).contains(&age) || !self.rng.chance(self.key_group_total) {
            return Vec::new();
        }
        let i = self.rng.weighted(&self.key_group_weights);
        vec![KEY_GROUP_RATES[i].0]
    }

    fn phone_for_age(&mut self, age: u32) -> Option<String> {
        let p = match age {
            0..=11 => 0.0,
            12..=17 => 0.45,
            18..=65 => 0.96,
            66..=75 => 0.8,
            _ => 0.5,
        };
        self.rng.chance(p).then(|| mobile(&mut self.rng))
    }

    fn household(&mut self, grid: usize, size: u32) -> SimHousehold {
        self.household_seq += 1;
        let number = format!("{}{:04}", self.grids[grid].code, self.household_seq);
        let grid_code = self.grids[grid].code.clone();
        let address = self.next_address();
        let documents = if self.rng.chance(0.01) {
            let t = match self.rng.below(10) {
                0..=3 => IdType::HkMacaoPermit,
                4..=6 => IdType::TaiwanPermit,
                _ => IdType::Passport,
            };
            Documents::Other(t)
        } else if self.rng.chance(0.08) {
            let own = self.county_prefix;
            let mut prefix = *self.rng.pick(&MIGRANT_PREFIXES);
            if prefix == own {
                prefix = MIGRANT_PREFIXES[(MIGRANT_PREFIXES
                    .iter()
                    .position(|&p| p == own)
                    .unwrap_or(0)
                    + 1)
                    % MIGRANT_PREFIXES.len()];
            }
            Documents::Mainland { prefix }
        } else {
            Documents::Mainland {
                prefix: self.county_prefix,
            }
        };
        let plan = self.compose(size);
        let mut members = Vec::with_capacity(plan.len());
        for m in plan {
            let birth = self.birth_date_for_age(m.age);
            let (id_type, id_number, birth_date) = match documents {
                Documents::Mainland { prefix } => {
                    let (id, birth) = self.mainland_id(prefix, birth, m.male);
                    (IdType::MainlandId, id, birth)
                }
                Documents::Other(t) => (t, self.other_document(t), birth),
            };
            let name = full_name(&mut self.rng, m.surname, m.male, birth_date.year());
            // The ID may have moved the birth date a few days; use the real age.
            let age = age_on(birth_date, self.today);
            let phone = self.phone_for_age(age);
            let key_groups = self.key_groups(age);
            members.push(SimResident {
                name,
                id_type,
                id_number,
                sex: if m.male { Sex::Male } else { Sex::Female },
                birth_date,
                phone,
                relation: m.relation.to_string(),
                key_groups,
            });
        }
        SimHousehold {
            number,
            grid_code,
            address,
            members,
        }
    }
}

impl Iterator for PopulationGenerator {
    type Item = SimHousehold;

    fn next(&mut self) -> Option<SimHousehold> {
        loop {
            match self.current {
                Some(grid) if self.remaining > 0 => {
                    let drawn = self.rng.weighted(&self.size_weights) as u32 + 1;
                    let size = drawn.min(self.remaining);
                    self.remaining -= size;
                    return Some(self.household(grid, size));
                }
                _ => {
                    if self.next_grid >= self.grids.len() {
                        self.current = None;
                        return None;
                    }
                    let index = self.next_grid;
                    self.next_grid += 1;
                    self.start_grid(index);
                }
            }
        }
    }
}
