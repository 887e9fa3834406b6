//! Leads and finding people on the ground (线索与落地查人): channels, routing, the 24-hour deadline, outcomes.
