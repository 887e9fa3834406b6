/// Every table, children before parents, so deleting in this order never breaks a foreign key.
pub(crate) const TABLES_CHILD_FIRST: &[&str] = &[
    // big-data push analytics (0029): children first
    "analytics_results",
    "analytics_jobs",
    "analytics_policies",
    "ping_cells",
    // reserves (0023): children first
    "reserve_support_requests",
    "reserve_movements",
    "reserve_stocks",
    "reserve_rates",
    "reserve_warehouses",
    // supply whitelist and passes (0024): children first
    "supply_vehicle_passages",
    "supply_pass_people",
    "supply_passes",
    "supply_pass_serials",
    "supply_people",
    "supply_vehicles",
    "supply_enterprises",
    // gatherings (0026): children first
    "gathering_participants",
    "gatherings",
    // deliveries (0025): children first
    "delivery_steps",
    "delivery_requests",
    "delivery_points",
    // cold chain (0028): children first
    "cold_chain_test_alerts",
    "cold_chain_tests",
    "cold_chain_movements",
    "cold_chain_batches",
    // vaccination (0027)
    "vaccine_contraindications",
    "vaccine_doses",
    // fever clinics (0019): children first
    "fever_clinic_days",
    "fever_visits",
    "fever_clinics",
    // drills (0022): children first
    "drill_steps",
    "drill_runs",
    // warning alerts and the switch (0021): children first
    "emergency_tasks",
    "command_states",
    "command_switches",
    "warning_alerts",
    "environment_positives",
    // pharmacies (0020): children first
    "pharmacy_day_counts",
    "pharmacy_test_requirements",
    "pharmacy_sales",
    "pharmacies",
    // bulletins (0018)
    "bulletins",
    // situation counters (0014)
    "measure_counts",
    "code_counts",
    "passage_counts",
    // duty (0015)
    "duty_spot_checks",
    "duty_handovers",
    "duty_roster",
    // command reports (0016): children first
    "incident_acks",
    "incident_updates",
    "incidents",
    "daily_report_corrections",
    "daily_reports",
    // move-in requests (0013)
    "move_ins",
    // isolation (0008): children first
    "hospital_admissions",
    "transfer_riders",
    "transfers",
    "vehicles",
    "door_alarms",
    "measure_check_ins",
    "measure_tests",
    "isolation_measures",
    "isolation_rooms",
    "hospitals",
    "isolation_sites",
    // leads (0007): children first
    "lead_import_problems",
    "lead_imports",
    "lead_steps",
    "lead_grid_stats",
    "leads",
    // the epidemic curve's counters (0017)
    "case_day_counts",
    // investigation (0006, 0009): children first
    "investigation_counts",
    "contacts",
    "case_stops",
    "cases",
    // health code (0004)
    "venue_visits",
    "venues",
    "passages",
    "checkpoints",
    "code_appeals",
    "code_subjects",
    "health_code_changes",
    "health_codes",
    "code_facts",
    "risk_area_rounds",
    "risk_area_steps",
    "risk_areas",
    "settings",
    "person_events",
    "antigen_reports",
    "recheck_tasks",
    "result_problems",
    "result_uploads",
    "specimen_boxes",
    "sampling_exemptions",
    "round_hourly",
    "round_grid_progress",
    "samples",
    "tubes",
    "sampling_sites",
    "tube_batches",
    "round_areas",
    "test_rounds",
    "import_problems",
    "imports",
    "audit_log",
    "sessions",
    "users",
    "door_visits",
    "residents",
    "households",
    "grid_stats",
    "grid_workers",
    "regions",
];

/// The two migration folders and the wipe list above are kept by hand; these tests say when they
/// drift apart. The SQL is read as text: `CREATE TABLE` bodies and `ALTER TABLE … ADD COLUMN`.
#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    use super::TABLES_CHILD_FIRST;

    /// Table → (column → the column's definition after its name), plus table → the tables its
    /// columns reference, over every migration of one backend in file order.
    struct Schema {
        columns: BTreeMap<String, BTreeMap<String, String>>,
        references: BTreeMap<String, BTreeSet<String>>,
    }

    fn without_comments(sql: &str) -> String {
        sql.lines()
            .map(|line| line.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Splits at the commas outside parentheses.
    fn top_level_items(body: &str) -> Vec<String> {
        let (mut items, mut current, mut depth) = (Vec::new(), String::new(), 0);
        for c in body.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        items.push(current);
        items
    }

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    fn referenced_table(definition: &str) -> Option<String> {
        let upper = definition.to_ascii_uppercase();
        let at = upper.find("REFERENCES ")? + "REFERENCES ".len();
        let rest = &definition[at..];
        let end = rest
            .find(|c: char| c == '(' || c.is_whitespace())
            .unwrap_or(rest.len());
        Some(rest[..end].to_string())
    }

    fn schema(backend: &str) -> Schema {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no migrations in {}", dir.display());
        let mut schema = Schema {
            columns: BTreeMap::new(),
            references: BTreeMap::new(),
        };
        for file in files {
            let sql = without_comments(&std::fs::read_to_string(&file).unwrap());
            for statement in sql.split(';') {
                let statement = statement.trim();
                let w = words(statement);
                let upper: Vec<String> = w.iter().map(|s| s.to_ascii_uppercase()).collect();
                let head: Vec<&str> = upper.iter().take(2).map(String::as_str).collect();
                match head.as_slice() {
                    ["CREATE", "TABLE"] => {
                        let open = statement.find('(').expect("CREATE TABLE without columns");
                        let close = statement.rfind(')').unwrap();
                        let name = words(&statement[..open]).last().unwrap().to_string();
                        let mut columns = BTreeMap::new();
                        for item in top_level_items(&statement[open + 1..close]) {
                            let item = item.trim();
                            let first = item.split_whitespace().next().unwrap_or("");
                            if ["PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "CONSTRAINT"]
                                .contains(&first.to_ascii_uppercase().as_str())
                            {
                                continue;
                            }
                            let definition = item[first.len()..].trim().to_string();
                            if let Some(parent) = referenced_table(&definition) {
                                schema
                                    .references
                                    .entry(name.clone())
                                    .or_default()
                                    .insert(parent);
                            }
                            columns.insert(first.to_string(), definition);
                        }
                        if let Some(parent) = referenced_table(&statement[open..]) {
                            schema
                                .references
                                .entry(name.clone())
                                .or_default()
                                .insert(parent);
                        }
                        assert!(
                            schema.columns.insert(name.clone(), columns).is_none(),
                            "{}: table {name} created twice",
                            file.display()
                        );
                    }
                    ["ALTER", "TABLE"] => {
                        // ALTER TABLE <t> ADD COLUMN <c> <definition…>; anything else is a change
                        // this test does not understand yet: teach it rather than skip it.
                        let add = upper.get(3).map(String::as_str) == Some("ADD")
                            && upper.get(4).map(String::as_str) == Some("COLUMN");
                        assert!(add, "{}: cannot read `{statement}`", file.display());
                        let table = &w[2];
                        let column = w[5].clone();
                        let definition = w[6..].join(" ");
                        let columns = schema.columns.get_mut(table).unwrap_or_else(|| {
                            panic!("{}: {table} altered before it is created", file.display())
                        });
                        columns.insert(column, definition);
                    }
                    ["DROP", _] | ["ALTER", _] => {
                        panic!("{}: cannot read `{statement}`", file.display())
                    }
                    _ => {}
                }
            }
        }
        schema
    }

    fn shape(schema: &Schema) -> BTreeMap<&str, Vec<&str>> {
        schema
            .columns
            .iter()
            .map(|(t, cols)| (t.as_str(), cols.keys().map(String::as_str).collect()))
            .collect()
    }

    #[test]
    fn both_migration_folders_define_the_same_tables_and_columns() {
        let sqlite = schema("sqlite");
        let postgres = schema("postgres");
        assert!(sqlite.columns.len() > 50, "the parser found the tables");
        // Types differ by design (INTEGER/BIGINT, TEXT/TEXT COLLATE "C"); names may not.
        let (sqlite_shape, postgres_shape) = (shape(&sqlite), shape(&postgres));
        let tables: BTreeSet<&str> = sqlite_shape
            .keys()
            .chain(postgres_shape.keys())
            .copied()
            .collect();
        for table in tables {
            assert_eq!(
                sqlite_shape.get(table),
                postgres_shape.get(table),
                "table {table}: sqlite (left) and postgres (right) differ"
            );
        }
        assert_eq!(
            sqlite.references, postgres.references,
            "foreign keys differ"
        );
    }

    #[test]
    fn the_wipe_list_holds_every_table_once_children_before_parents() {
        let schema = schema("sqlite");
        let created: BTreeSet<&str> = schema.columns.keys().map(String::as_str).collect();
        let listed: BTreeSet<&str> = TABLES_CHILD_FIRST.iter().copied().collect();
        assert_eq!(
            listed.len(),
            TABLES_CHILD_FIRST.len(),
            "a table listed twice"
        );
        let missing: Vec<_> = created.difference(&listed).collect();
        let extra: Vec<_> = listed.difference(&created).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "TABLES_CHILD_FIRST must list exactly the tables the migrations create: \
             missing {missing:?}, never created {extra:?}"
        );
        let position = |t: &str| TABLES_CHILD_FIRST.iter().position(|x| *x == t).unwrap();
        for (child, parents) in &schema.references {
            for parent in parents.iter().filter(|p| *p != child) {
                assert!(
                    position(child) < position(parent),
                    "{child} references {parent}, so it must be emptied first"
                );
            }
        }
    }
}
