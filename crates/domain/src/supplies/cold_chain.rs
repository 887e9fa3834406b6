//! Cold-chain goods (冷链食品, domain-rules.md §9): imported batches, their tests, and the chain from port to market.
