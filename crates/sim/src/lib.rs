//! Synthetic but realistic population for the demo and the benchmarks, the outbreak simulator
//! (`outbreak`) that plays an epidemic over it, and the population's movements as location pings
//! (`pings`), consistent with that outbreak.
//!
//! Everything is deterministic from a seed, so a demo database or a
//! benchmark can be rebuilt identically. Generation streams households one
//! at a time and never holds the whole population in memory.

mod generate;
mod names;
pub mod outbreak;
pub mod pings;
mod plan;
mod rng;

use std::io;

use fangkong_domain::person::key_groups_label_zh;
use fangkong_domain::resident_row::COLUMNS;

pub use generate::{PopulationGenerator, RegionNames, SimHousehold, SimResident};
pub use plan::{GridPlan, PopulationPlan, VillageRef, plan_population};

/// Writes households as an import file (header [`COLUMNS`], one row per
/// resident, Chinese labels as a grid worker would type them). Returns the
/// number of resident rows written.
pub fn write_csv<W: io::Write>(
    out: W,
    households: impl Iterator<Item = SimHousehold>,
) -> io::Result<u64> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS)?;
    let mut rows = 0u64;
    let mut date = String::with_capacity(10);
    for household in households {
        for m in &household.members {
            date.clear();
            use std::fmt::Write as _;
            write!(date, "{}", m.birth_date.format("%Y-%m-%d")).expect("writing to a String");
            let key_groups = key_groups_label_zh(&m.key_groups);
            writer.write_record([
                m.name.as_str(),
                m.id_type.label_zh(),
                m.id_number.as_str(),
                m.sex.label_zh(),
                date.as_str(),
                m.phone.as_deref().unwrap_or(""),
                household.address.as_str(),
                household.number.as_str(),
                m.relation.as_str(),
                household.grid_code.as_str(),
                key_groups.as_str(),
            ])?;
            rows += 1;
        }
    }
    writer.flush()?;
    Ok(rows)
}
