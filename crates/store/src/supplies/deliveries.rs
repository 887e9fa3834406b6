//! Supplies: Deliveries (物资配送).
