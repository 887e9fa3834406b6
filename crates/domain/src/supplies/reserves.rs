//! Reserves (物资储备, domain-rules.md §9): the catalogue, the ledger's movements, consumption norms and days of cover against the 30-day full-load rule.
