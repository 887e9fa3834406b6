//! The site planner (采样点规划): NHC norms for sites and tables per population, and the hours a
//! number of tables takes.

use super::*;

/// Inputs of the site planner (NHC 13 May 2022: 1 site per 2,000–3,000 people, 1 table per 600–800).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannerNorms {
    pub people_per_site: i64,
    pub people_per_table: i64,
    /// Swabs one table takes per hour (a sampler takes about one a minute).
    pub swabs_per_table_hour: i64,
}

pub const NHC_2022_NORMS: PlannerNorms = PlannerNorms {
    people_per_site: 2500,
    people_per_table: 700,
    swabs_per_table_hour: 60,
};

/// What the planner suggests for one area.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SitePlan {
    pub population: i64,
    pub sites: i64,
    pub tables: i64,
    /// Hours to sample everyone with `tables` tables at the norm's speed.
    pub hours: f64,
}

impl PlannerNorms {
    pub fn check(&self) -> Result<(), String> {
        if !(500..=30_000).contains(&self.people_per_site) {
            return Err("每个采样点服务人数应在500到30000之间".into());
        }
        if !(100..=3_000).contains(&self.people_per_table) {
            return Err("每个采样台服务人数应在100到3000之间".into());
        }
        if !(10..=300).contains(&self.swabs_per_table_hour) {
            return Err("每台每小时采样人数应在10到300之间".into());
        }
        Ok(())
    }

    /// Sites and tables for `population` people (at least one of each when anyone lives there), and
    /// the hours the tables take to sample them all.
    pub fn plan(&self, population: i64) -> SitePlan {
        let population = population.max(0);
        if population == 0 {
            return SitePlan {
                population,
                sites: 0,
                tables: 0,
                hours: 0.0,
            };
        }
        let sites = div_ceil(population, self.people_per_site);
        let tables = div_ceil(population, self.people_per_table).max(sites);
        SitePlan {
            population,
            sites,
            tables,
            hours: hours_to_sample(population, tables, self.swabs_per_table_hour),
        }
    }
}

/// Hours `tables` tables take for `population` swabs at `per_table_hour` each.
pub fn hours_to_sample(population: i64, tables: i64, per_table_hour: i64) -> f64 {
    if population <= 0 {
        return 0.0;
    }
    if tables <= 0 || per_table_hour <= 0 {
        return f64::INFINITY;
    }
    population as f64 / (tables * per_table_hour) as f64
}

fn div_ceil(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_planner_applies_the_nhc_norms() {
        let plan = NHC_2022_NORMS.plan(5_000);
        assert_eq!(plan.sites, 2);
        assert_eq!(plan.tables, 8);
        assert!((plan.hours - 5_000.0 / 480.0).abs() < 1e-9);
        let tiny = NHC_2022_NORMS.plan(30);
        assert_eq!((tiny.sites, tiny.tables), (1, 1));
        assert_eq!(NHC_2022_NORMS.plan(0).tables, 0);
        assert!(hours_to_sample(10, 0, 60).is_infinite());
        let bad = PlannerNorms {
            people_per_table: 5,
            ..NHC_2022_NORMS
        };
        assert!(bad.check().is_err());
    }
}
