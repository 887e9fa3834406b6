//! Supplies: Supply whitelist and passes (保供白名单与通行证).
