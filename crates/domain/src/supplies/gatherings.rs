//! Gatherings (聚集性活动报批, domain-rules.md §10.3): thresholds and lead times as policy, the approving level by size, risk-area refusals.
