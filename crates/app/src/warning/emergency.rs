//! The switch between normal and emergency command (平急转换) and its checklist.
