//! Deliveries (物资配送, domain-rules.md §9 “最后一百米”): requests from sealed and isolated households, collection points and staggered slots.
