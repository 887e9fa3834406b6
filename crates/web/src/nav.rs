//! The navigation registry: the side bar every page shows, built from one list of what each web
//! module contributes (its links, which roles see each, where its capability's link leads), so a
//! new capability adds its `NAV` to [`REGISTRY`] instead of fields to the shared layout.

use fangkong_domain::role::{CAPABILITIES, Role};

/// The side bar's headings below 九大功能模块, in the order shown. A heading is shown when the
/// role sees at least one of its links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Command,
    Warning,
    Supplies,
    Testing,
    OwnTesting,
    Codes,
    Work,
    OwnReport,
    OwnCode,
    Population,
    Admin,
    Api,
}

impl Section {
    const ALL: [Section; 12] = [
        Section::Command,
        Section::Warning,
        Section::Supplies,
        Section::Testing,
        Section::OwnTesting,
        Section::Codes,
        Section::Work,
        Section::OwnReport,
        Section::OwnCode,
        Section::Population,
        Section::Admin,
        Section::Api,
    ];

    fn title(self) -> &'static str {
        match self {
            Section::Command => "指挥调度",
            Section::Warning => "监测预警",
            Section::Supplies => "物资保障与民生",
            Section::Testing => "核酸检测",
            Section::OwnTesting => "我的检测",
            Section::Codes => "健康码与卡口",
            Section::Work => "流调与隔离",
            Section::OwnReport => "我的报告",
            Section::OwnCode => "我的健康码",
            Section::Population => "实有人口",
            Section::Admin => "管理",
            Section::Api => "接口",
        }
    }
}

/// One link of the side bar.
pub(crate) struct NavLink {
    pub section: Section,
    pub label: &'static str,
    pub href: &'static str,
    /// The `active` key its pages pass to `PageUser::layout`, which marks the link; `None` for a
    /// link never marked (a public page, a document).
    pub active: Option<&'static str>,
    /// Which roles see it.
    pub shown: fn(Role) -> bool,
}

/// A link marked on the pages that pass `active` to `PageUser::layout`.
pub(crate) const fn link(
    section: Section,
    label: &'static str,
    href: &'static str,
    active: &'static str,
    shown: fn(Role) -> bool,
) -> NavLink {
    NavLink {
        section,
        label,
        href,
        active: Some(active),
        shown,
    }
}

/// A link never marked: a public page, a document.
pub(crate) const fn plain_link(
    section: Section,
    label: &'static str,
    href: &'static str,
    shown: fn(Role) -> bool,
) -> NavLink {
    NavLink {
        section,
        label,
        href,
        active: None,
        shown,
    }
}

/// Where a capability's link in 九大功能模块 leads.
pub(crate) struct CapabilityHome {
    /// The capability's slug in `domain::role::CAPABILITIES`.
    pub capability: &'static str,
    /// Where its link leads for a role.
    pub href: fn(Role) -> &'static str,
}

/// What one web module adds to the navigation.
pub(crate) struct NavEntries {
    /// The capability whose link this module decides (one module per built capability).
    pub home: Option<CapabilityHome>,
    /// Its links, in the order shown within their section.
    pub links: &'static [NavLink],
}

/// Every module's entries. Within a section, links appear in this order.
const REGISTRY: [&NavEntries; 14] = [
    &crate::command::NAV,
    &crate::drills::NAV,
    &crate::analytics::NAV,
    &crate::warning::NAV,
    &crate::supplies::NAV,
    &crate::mass_testing::NAV,
    &crate::health_code::NAV,
    &crate::checkpoints::NAV,
    &crate::investigation::NAV,
    &crate::leads::NAV,
    &crate::isolation::NAV,
    &crate::population::NAV,
    &crate::platform::NAV,
    &crate::api::NAV,
];

/// A link of 九大功能模块; one not built yet leads to its 建设中 page.
pub struct ModuleLink {
    pub slug: &'static str,
    pub label: &'static str,
    pub href: &'static str,
    pub built: bool,
}

/// A heading and the links under it a role sees.
pub struct NavSection {
    pub title: &'static str,
    pub links: Vec<ShownLink>,
}

pub struct ShownLink {
    pub label: &'static str,
    pub href: &'static str,
    /// The page shown is this link's.
    pub active: bool,
}

/// The nine capabilities, each leading where the module that owns it says for `role`.
pub(crate) fn modules(role: Role) -> Vec<ModuleLink> {
    CAPABILITIES
        .iter()
        .map(|c| ModuleLink {
            slug: c.slug,
            label: c.label_zh,
            href: REGISTRY
                .iter()
                .filter_map(|e| e.home.as_ref())
                .find(|h| h.capability == c.slug)
                .map_or("", |h| (h.href)(role)),
            built: c.built,
        })
        .collect()
}

/// The headings and links `role` sees, the link of the page shown (`active`) marked.
pub(crate) fn sections(role: Role, active: &str) -> Vec<NavSection> {
    Section::ALL
        .iter()
        .map(|section| NavSection {
            title: section.title(),
            links: REGISTRY
                .iter()
                .flat_map(|e| e.links)
                .filter(|l| l.section == *section && (l.shown)(role))
                .map(|l| ShownLink {
                    label: l.label,
                    href: l.href,
                    active: l.active.is_some_and(|a| a == active),
                })
                .collect(),
        })
        .filter(|s| !s.links.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_capability_has_one_home_and_every_home_a_capability() {
        let homes: Vec<&str> = REGISTRY
            .iter()
            .filter_map(|e| e.home.as_ref().map(|h| h.capability))
            .collect();
        for c in CAPABILITIES {
            let count = homes.iter().filter(|s| **s == c.slug).count();
            assert_eq!(
                count,
                usize::from(c.built),
                "{}: homes in the registry",
                c.slug
            );
        }
        for slug in homes {
            assert!(CAPABILITIES.iter().any(|c| c.slug == slug), "{slug}");
        }
    }

    #[test]
    fn an_active_key_marks_one_link_and_links_are_not_repeated() {
        let mut hrefs: Vec<&str> = REGISTRY
            .iter()
            .flat_map(|e| e.links)
            .map(|l| l.href)
            .collect();
        hrefs.sort_unstable();
        let before = hrefs.len();
        hrefs.dedup();
        assert_eq!(before, hrefs.len(), "a link is in the registry twice");
        let mut keys: Vec<&str> = REGISTRY
            .iter()
            .flat_map(|e| e.links)
            .filter_map(|l| l.active)
            .collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "an active key marks two links");
    }

    #[test]
    fn a_heading_is_shown_only_with_links_under_it() {
        for role in Role::ALL {
            for s in sections(role, "") {
                assert!(!s.links.is_empty(), "{role:?}: {} without links", s.title);
                assert!(s.links.iter().all(|l| !l.active));
            }
        }
    }
}
