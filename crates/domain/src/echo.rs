//! Echoing a user's value in a message, cut short.
//!
//! A message names the value it refuses ("证件类型“xyz”无法识别"), but a cell can be a megabyte
//! long: every echo goes through [`shown`], so a message stays a sentence.

/// Characters of a value shown in a message.
pub const ECHO_MAX: usize = 40;

/// `value` cut to [`ECHO_MAX`] characters, with "…" when it was longer.
pub fn shown(value: &str) -> String {
    match value.char_indices().nth(ECHO_MAX) {
        None => value.to_string(),
        Some((at, _)) => format!("{}…", &value[..at]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_kept_and_long_ones_cut_on_a_character() {
        assert_eq!(shown("张三"), "张三");
        let long = "赵".repeat(1000);
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), ECHO_MAX + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(shown(&"a".repeat(ECHO_MAX)), "a".repeat(ECHO_MAX));
    }
}
