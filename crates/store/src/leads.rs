//! Leads, their routing and outcomes (线索与落地查人).
