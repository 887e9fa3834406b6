//! The basis of a rule as a page shows it (依据). The policy data cite their sources for the people
//! who keep the data — a section of the project's rule notes (`domain-rules §1.1`), the site a
//! text was read on (`ddtbk.com 2022-10`), markers such as `[I]` for an inference — and a grid
//! worker needs none of that: [`for_pages`] keeps the words and drops the references.

/// "第九版：症状出现前4天（domain-rules §1.1，ddtbk.com 2022-10）；次密接判定（§1.2）"
/// → "第九版：症状出现前4天（2022-10）；次密接判定".
pub fn for_pages(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(c) = rest.chars().next() {
        // `[…]` markers.
        if c == '['
            && let Some(end) = rest.find(']')
        {
            rest = &rest[end + 1..];
            continue;
        }
        // §1.2 and §7.4 references.
        if c == '§' {
            rest =
                rest['§'.len_utf8()..].trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
            continue;
        }
        // Words in Latin letters: the rule notes' name and web sites ("ddtbk.com", "domain-rules.md").
        if c.is_ascii_alphabetic() {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/')))
                .unwrap_or(rest.len());
            rest = &rest[end..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    tidy(&out)
}

/// Punctuation the removed references leave behind: "（，" "，）" "（）" " ；" and a whole text in
/// brackets.
fn tidy(text: &str) -> String {
    let mut s = text.to_string();
    loop {
        let before = s.clone();
        for (from, to) in [
            ("（ ", "（"),
            (" ）", "）"),
            ("（，", "（"),
            ("，）", "）"),
            ("（；", "（"),
            ("；）", "）"),
            ("（）", ""),
            ("()", ""),
            ("  ", " "),
            (" ，", "，"),
            (" ；", "；"),
            ("，，", "，"),
            ("；；", "；"),
        ] {
            s = s.replace(from, to);
        }
        if s == before {
            break;
        }
    }
    let s = s.trim().trim_start_matches(['，', '；']).trim();
    match s.strip_prefix('（').and_then(|t| t.strip_suffix('）')) {
        Some(inner) if !inner.contains('（') => inner.to_string(),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::for_pages;

    #[test]
    fn references_go_and_the_words_stay() {
        for (source, shown) in [
            (
                "第九版：症状出现前4天或标本采样前4天（domain-rules §1.1，ddtbk.com 2022-10）；次密接判定（§1.2）；2小时网络直报、24小时完成个案调查（§6）",
                "第九版：症状出现前4天或标本采样前4天（2022-10）；次密接判定；2小时网络直报、24小时完成个案调查",
            ),
            (
                "domain-rules.md §7.4（贵阳2022；第九版：接触入境人员、物品、环境的人员每日检测）",
                "贵阳2022；第九版：接触入境人员、物品、环境的人员每日检测",
            ),
            (
                "二十条：不再判定密接的密接（domain-rules §1.2，iotonline.org.cn 2022-11-11）；时间窗沿用第九版4天 [I]",
                "二十条：不再判定密接的密接（2022-11-11）；时间窗沿用第九版4天",
            ),
            (
                "按北京④“查到阴性自动解除”推定 [I]",
                "按北京④“查到阴性自动解除”推定",
            ),
            ("河北省2022年11月赋码规则", "河北省2022年11月赋码规则"),
            ("", ""),
        ] {
            assert_eq!(for_pages(source), shown, "{source}");
        }
    }
}
