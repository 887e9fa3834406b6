//! Supply whitelist and passes (保供白名单与通行证, domain-rules.md §9): enterprises, vehicles, people, and the 2022 national vehicle pass (one vehicle, one pass, one route).
