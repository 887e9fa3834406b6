//! Retail pharmacies (零售药店, domain-rules.md §7.3): the four monitored drug classes, the
//! catalogue, and the test requirement a buyer gets.
