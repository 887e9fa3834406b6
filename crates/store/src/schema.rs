/// Every table, children before parents, so deleting in this order never breaks a foreign key.
pub(crate) const TABLES_CHILD_FIRST: [&str; 11] = [
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
