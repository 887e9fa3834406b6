//! Cold-chain goods (冷链食品): imported batches with their origin and disinfection certificate,
//! the tests of goods, packaging and environment, and the chain a batch travels (port → cold store
//! → distributor → market). A positive test of any of them raises the cold-chain trigger of early
//! warning (人、物、环境同防) for every market the batch reached.

crate::coded_enum! {
    from_code = code_or_label;
    /// What a sample was taken from.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SampleKind {
        Goods => "goods", "货品",
        Packaging => "packaging", "外包装",
        Environment => "environment", "环境",
    }
}

crate::coded_enum! {
    from_code = code_or_label;
    /// A sample's result.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SampleResult {
        Negative => "negative", "阴性",
        Positive => "positive", "阳性",
    }
}

crate::coded_enum! {
    from_code = code_or_label;
    /// Where a batch goes next in its chain.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum ChainNode {
        ColdStore => "cold_store", "冷库",
        Distributor => "distributor", "批发配送商",
        Market => "market", "市场",
    }
}

/// Whether a result raises the cold-chain trigger: a positive of goods, packaging (the goods'
/// surface) or environment.
pub fn raises_alert(result: SampleResult) -> bool {
    result == SampleResult::Positive
}

/// A batch number as customs and the port write it: letters, digits and `-`, 4–40 characters.
pub fn check_batch_no(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.chars().count() < 4
        || t.chars().count() > 40
        || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err("批次号须为4—40位字母、数字或“-”".into());
    }
    Ok(t.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positives_raise_and_batch_numbers_are_checked() {
        assert!(raises_alert(SampleResult::Positive));
        assert!(!raises_alert(SampleResult::Negative));
        assert_eq!(SampleKind::from_code("外包装"), Some(SampleKind::Packaging));
        assert_eq!(check_batch_no(" tj-2020-118 "), Ok("TJ-2020-118".into()));
        assert!(check_batch_no("批次1").is_err());
        assert!(check_batch_no("A1").is_err());
        assert!(ChainNode::ColdStore < ChainNode::Market);
    }
}
