//! Allocation of people to sites and rooms: families together, near home first.

use super::*;

// ---------------------------------------------------------------------------------------------
// Allocation

// Not a `coded_enum!`: a distance is computed and shown, never stored or parsed, so it has no code.
/// How far a site is from a person: same township, same county, farther (the distance proxy: the
/// region codes' common prefix; no map is needed and none is loaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Distance {
    SameTownship,
    SameCounty,
    Farther,
}

impl Distance {
    pub fn of(person_region: &str, site_region: &str) -> Distance {
        let common = person_region
            .bytes()
            .zip(site_region.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        if common >= 9 && site_region.len() >= 9 {
            Distance::SameTownship
        } else if common >= 6 {
            Distance::SameCounty
        } else {
            Distance::Farther
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Distance::SameTownship => "同乡镇",
            Distance::SameCounty => "同区县",
            Distance::Farther => "跨区县",
        }
    }
}

/// A person waiting for a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocPerson {
    pub key: i64,
    /// Household number ('' = alone).
    pub household: String,
    /// The person's grid (or any region code of where they live).
    pub region: String,
}

/// A site with its free rooms in adjacency order (building, floor, number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocSite {
    pub site_id: i64,
    pub region_code: String,
    pub free_rooms: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub key: i64,
    pub site_id: i64,
    pub room_id: i64,
    pub distance: Distance,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub assignments: Vec<Assignment>,
    /// People no room was found for.
    pub unplaced: Vec<i64>,
}

/// Assigns people to rooms. A household is one group: it goes to one site, in consecutive free
/// rooms (adjacent on the floor). The site is the nearest (same township, then same county, then
/// farther) that can take the whole group, and among equally near ones the one with the most free
/// rooms. A group no single site can take is split over the nearest sites with room; when every
/// room is taken the rest are `unplaced`. Groups are taken in the order of their first member, so
/// people waiting longest (listed first) are placed first. O(groups × sites).
pub fn allocate(people: &[AllocPerson], sites: &[AllocSite]) -> Allocation {
    let mut groups: Vec<Vec<&AllocPerson>> = Vec::new();
    let mut by_household: HashMap<&str, usize> = HashMap::new();
    for person in people {
        if person.household.is_empty() {
            groups.push(vec![person]);
            continue;
        }
        match by_household.get(person.household.as_str()) {
            Some(&i) => groups[i].push(person),
            None => {
                by_household.insert(person.household.as_str(), groups.len());
                groups.push(vec![person]);
            }
        }
    }
    // Next free room per site.
    let mut cursor: Vec<usize> = vec![0; sites.len()];
    let free = |i: usize, cursor: &[usize]| sites[i].free_rooms.len() - cursor[i];
    let mut out = Allocation::default();
    for group in groups {
        let region = &group[0].region;
        let mut best: Option<(Distance, usize, usize)> = None; // (distance, free, index)
        for (i, site) in sites.iter().enumerate() {
            let left = free(i, &cursor);
            if left < group.len() {
                continue;
            }
            let distance = Distance::of(region, &site.region_code);
            let better = match best {
                None => true,
                Some((d, f, _)) => distance < d || (distance == d && left > f),
            };
            if better {
                best = Some((distance, left, i));
            }
        }
        let take = |person: &AllocPerson, i: usize, cursor: &mut [usize], out: &mut Allocation| {
            let room_id = sites[i].free_rooms[cursor[i]];
            cursor[i] += 1;
            out.assignments.push(Assignment {
                key: person.key,
                site_id: sites[i].site_id,
                room_id,
                distance: Distance::of(&person.region, &sites[i].region_code),
            });
        };
        match best {
            Some((_, _, i)) => {
                for person in &group {
                    take(person, i, &mut cursor, &mut out);
                }
            }
            None => {
                // Split: nearest sites first, most free rooms first.
                let mut order: Vec<usize> =
                    (0..sites.len()).filter(|&i| free(i, &cursor) > 0).collect();
                order.sort_by_key(|&i| {
                    (
                        Distance::of(region, &sites[i].region_code),
                        std::cmp::Reverse(free(i, &cursor)),
                    )
                });
                let mut members = group.iter();
                'sites: for i in order {
                    while free(i, &cursor) > 0 {
                        match members.next() {
                            Some(person) => take(person, i, &mut cursor, &mut out),
                            None => break 'sites,
                        }
                    }
                }
                out.unplaced.extend(members.map(|p| p.key));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_stay_together_near_home() {
        let people = vec![
            AllocPerson {
                key: 1,
                household: "H1".into(),
                region: "130109100013001".into(),
            },
            AllocPerson {
                key: 2,
                household: "H2".into(),
                region: "130109110201001".into(),
            },
            AllocPerson {
                key: 3,
                household: "H1".into(),
                region: "130109100013001".into(),
            },
            AllocPerson {
                key: 4,
                household: "".into(),
                region: "130109100013001".into(),
            },
        ];
        let sites = vec![
            AllocSite {
                site_id: 10,
                region_code: "130109110".into(),
                free_rooms: vec![101, 102],
            },
            AllocSite {
                site_id: 20,
                region_code: "130109100".into(),
                free_rooms: vec![201, 202],
            },
        ];
        let a = allocate(&people, &sites);
        let room = |k| a.assignments.iter().find(|x| x.key == k).map(|x| x.room_id);
        assert_eq!(room(1), Some(201));
        assert_eq!(room(3), Some(202));
        assert_eq!(room(2), Some(101));
        // Township A's site is full: the single person goes to the same county's other site.
        assert_eq!(room(4), Some(102));
        assert!(a.unplaced.is_empty());
        let full = allocate(&people, &sites[..1]);
        assert_eq!(full.assignments.len(), 2);
        assert_eq!(full.unplaced.len(), 2);
    }

    #[test]
    fn ten_thousand_people_are_all_allocated() {
        let people: Vec<AllocPerson> = (0..10_000)
            .map(|i| AllocPerson {
                key: i,
                household: format!("H{}", i / 3),
                region: format!("1301091{:02}001001", i % 20),
            })
            .collect();
        let sites: Vec<AllocSite> = (0..50)
            .map(|s| AllocSite {
                site_id: s,
                region_code: format!("1301091{:02}", s % 20),
                free_rooms: (0..220).map(|r| s * 1000 + r).collect(),
            })
            .collect();
        let a = allocate(&people, &sites);
        assert_eq!(a.assignments.len(), 10_000);
    }
}
