//! Supplies: Gatherings (聚集性活动报批).
