//! Supplies: Cold-chain goods (冷链食品).
