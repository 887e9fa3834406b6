//! Supplies: Reserves (物资储备).
