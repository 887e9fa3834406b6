//! How many residents live in which village and grid.

use std::collections::HashSet;
use std::fmt;

use fangkong_domain::ids::mask_middle;

use crate::names::{SurnamePicker, full_name, mobile};
use crate::rng::Rng;

/// A village or community the population is spread over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VillageRef {
    /// 12-digit statistical code.
    pub code: String,
    pub name: String,
    pub township_code: String,
    pub is_community: bool,
}

/// One grid (网格) with its resident target and its grid worker.
#[derive(Clone, PartialEq, Eq)]
pub struct GridPlan {
    /// 15 digits: village code + 3-digit grid number.
    pub code: String,
    pub village_code: String,
    /// e.g. "第1网格".
    pub name: String,
    pub households: u32,
    pub residents: u32,
    pub worker_name: String,
    pub worker_phone: String,
}

/// By hand so the worker's phone number never lands in a log unmasked.
impl fmt::Debug for GridPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GridPlan")
            .field("code", &self.code)
            .field("village_code", &self.village_code)
            .field("name", &self.name)
            .field("households", &self.households)
            .field("residents", &self.residents)
            .field("worker_name", &self.worker_name)
            .field("worker_phone", &mask_middle(&self.worker_phone, 3, 4))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PopulationPlan {
    pub grids: Vec<GridPlan>,
}

impl PopulationPlan {
    pub fn total_residents(&self) -> u64 {
        self.grids.iter().map(|g| u64::from(g.residents)).sum()
    }
}

/// Mean household size in rural Hebei (2020 census: about 2.8).
pub(crate) const MEAN_HOUSEHOLD: f64 = 2.8;
/// Grid workers look after about 250–400 households each.
const HOUSEHOLDS_PER_GRID: f64 = 325.0;

/// Spreads `total_residents` over the villages and splits each village into
/// grids. Village sizes are log-normal (most villages hold 1,000–5,000
/// people, a few are much larger), urban communities are larger on average,
/// and the township of 廉州 (the district seat) is denser. The grid targets
/// add up to `total_residents` exactly. With no villages the plan is empty.
pub fn plan_population(villages: &[VillageRef], total_residents: u64, seed: u64) -> PopulationPlan {
    let mut rng = Rng::new(seed, 1);
    let dense_townships: HashSet<&str> = villages
        .iter()
        .filter(|v| v.name.contains("廉州"))
        .map(|v| v.township_code.as_str())
        .collect();
    let weights: Vec<f64> = villages
        .iter()
        .map(|v| {
            let mut w = (0.55 * rng.normal()).exp();
            if v.is_community {
                w *= 1.8;
            }
            if dense_townships.contains(v.township_code.as_str()) {
                w *= 1.3;
            }
            w
        })
        .collect();
    let village_residents = largest_remainder(total_residents, &weights);

    let surnames = SurnamePicker::new();
    let mut grids = Vec::new();
    for (village, &residents) in villages.iter().zip(&village_residents) {
        let households = residents as f64 / MEAN_HOUSEHOLD;
        let count = ((households / HOUSEHOLDS_PER_GRID).round() as usize).clamp(1, 999);
        let grid_weights: Vec<f64> = (0..count).map(|_| 0.85 + 0.3 * rng.unit()).collect();
        for (i, grid_residents) in largest_remainder(residents, &grid_weights)
            .into_iter()
            .enumerate()
        {
            let grid_residents = u32::try_from(grid_residents)
                .expect("a grid holds far fewer than 4 billion people");
            let male = rng.chance(0.4);
            let worker_birth_year = 1970 + rng.range(0, 30) as i32;
            grids.push(GridPlan {
                code: format!("{}{:03}", village.code, i + 1),
                village_code: village.code.clone(),
                name: format!("第{}网格", i + 1),
                households: (f64::from(grid_residents) / MEAN_HOUSEHOLD).round() as u32,
                residents: grid_residents,
                worker_name: {
                    let surname = surnames.pick(&mut rng);
                    full_name(&mut rng, surname, male, worker_birth_year)
                },
                worker_phone: mobile(&mut rng),
            });
        }
    }
    PopulationPlan { grids }
}

/// Integer shares of `total` proportional to `weights` that sum to `total`
/// exactly (Hamilton's method: floors first, then the largest remainders).
pub(crate) fn largest_remainder(total: u64, weights: &[f64]) -> Vec<u64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sum: f64 = weights.iter().sum();
    let quotas: Vec<f64> = if sum > 0.0 {
        weights.iter().map(|w| total as f64 * w / sum).collect()
    } else {
        vec![total as f64 / weights.len() as f64; weights.len()]
    };
    let mut shares: Vec<u64> = quotas.iter().map(|q| q.floor() as u64).collect();
    let assigned: u64 = shares.iter().sum();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    if assigned <= total {
        order.sort_by(|&a, &b| {
            let fa = quotas[a] - quotas[a].floor();
            let fb = quotas[b] - quotas[b].floor();
            fb.total_cmp(&fa).then(a.cmp(&b))
        });
        let mut missing = total - assigned;
        // Floating error can leave more than one unit per share missing, hence the loop.
        while missing > 0 {
            for &i in &order {
                if missing == 0 {
                    break;
                }
                shares[i] += 1;
                missing -= 1;
            }
        }
    } else {
        order.sort_by(|&a, &b| shares[b].cmp(&shares[a]).then(a.cmp(&b)));
        let mut excess = assigned - total;
        while excess > 0 {
            for &i in &order {
                if excess == 0 {
                    break;
                }
                if shares[i] > 0 {
                    shares[i] -= 1;
                    excess -= 1;
                }
            }
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_sums_exactly_and_is_proportional() {
        let shares = largest_remainder(10, &[1.0, 1.0, 1.0]);
        assert_eq!(shares.iter().sum::<u64>(), 10);
        assert_eq!(shares, [4, 3, 3]);
        assert_eq!(largest_remainder(7, &[0.0, 0.0]), [4, 3]);
        assert_eq!(
            largest_remainder(11_000_000, &[1.0; 7]).iter().sum::<u64>(),
            11_000_000
        );
        assert!(largest_remainder(5, &[]).is_empty());
    }

    #[test]
    fn grid_plan_debug_masks_the_worker_phone() {
        let g = GridPlan {
            code: "130109100201001".into(),
            village_code: "130109100201".into(),
            name: "第1网格".into(),
            households: 300,
            residents: 840,
            worker_name: "王芳".into(),
            worker_phone: "13812345678".into(),
        };
        let text = format!("{g:?}");
        assert!(!text.contains("13812345678"), "{text}");
        assert!(text.contains("138****5678"), "{text}");
    }
}
