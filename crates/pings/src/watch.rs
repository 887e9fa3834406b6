//! (skeleton; see CONTRACT-pings.md)
