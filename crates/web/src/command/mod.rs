//! Command pages and API (指挥调度与值班报送) over `app::command`: the route tables and the
//! navigation; the handlers live in one file per sub-area, named as in `crates/app/src/command/`.

mod bulletins;
pub(crate) mod curve;
mod duty;
mod incidents;
pub(crate) mod map;
mod reports;
mod situation;
mod spot_checks;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::command::{BulletinView, LateList, Situation};
use fangkong_domain::role::{Permission, Role};
use serde::{Deserialize, Serialize};

use crate::api::ApiResult;
use crate::forms::{CsrfForm, NoFields, form_page, ok_flash};
use crate::nav::{CapabilityHome, NavEntries, Section, link, plain_link};
use crate::pages::{Flash, Layout, PageResult, PageUser, render};
use crate::session::ApiUser;
use crate::{AppState, status_of};

use self::bulletins::{
    api_bulletins, api_draft, api_public_bulletins, api_publish, bulletin_page, bulletins_page,
    draft_submit, edit_submit, public_bulletins_page, publish_submit,
};

use self::situation::{api_late, api_situation, late_page, situation_page};

fn commands(role: Role) -> bool {
    role.allows(Permission::ViewCommand)
}

/// The command office's links (under 指挥调度).
pub(crate) const NAV: NavEntries = NavEntries {
    home: Some(CapabilityHome {
        capability: "command",
        href: |_| "/command",
    }),
    links: &[
        link(
            Section::Command,
            "态势总览",
            "/command",
            "situation",
            commands,
        ),
        link(
            Section::Command,
            "超时事项",
            "/command/late",
            "late",
            commands,
        ),
        link(
            Section::Command,
            "疫情曲线",
            "/command/curve",
            "command_curve",
            commands,
        ),
        link(
            Section::Command,
            "专题地图",
            "/command/map",
            "command_map",
            commands,
        ),
        link(
            Section::Command,
            "日报告与零报告",
            "/command/reports",
            "command_reports",
            commands,
        ),
        link(
            Section::Command,
            "重大事项报告",
            "/command/incidents",
            "command_incidents",
            commands,
        ),
        link(
            Section::Command,
            "信息发布",
            "/command/bulletins",
            "bulletins",
            commands,
        ),
        link(
            Section::Command,
            "今日值班",
            "/command/duty",
            "duty",
            |r| r.allows(Permission::KeepDuty),
        ),
        link(
            Section::Command,
            "排班表",
            "/command/duty/roster",
            "duty_roster",
            |r| r.allows(Permission::KeepDuty),
        ),
        link(
            Section::Command,
            "值班抽查",
            "/command/duty/spot-checks",
            "spot_checks",
            |r| r.allows(Permission::ManageDuty),
        ),
        link(
            Section::Command,
            "督查问责",
            "/command/duty/accountability",
            "accountability",
            |r| r.allows(Permission::ManageDuty),
        ),
        plain_link(Section::OwnCode, "疫情通报", "/public/bulletins", |r| {
            r == Role::Resident
        }),
    ],
};

/// A form body: the draft's date, or a reviewed bulletin (up to 60,000 characters, nine bytes
/// each once URL-encoded).
const FORM_BODY_LIMIT: usize = 640 * 1024;

/// A report's or an incident's form body.
const REPORT_FORM_LIMIT: usize = 64 * 1024;

/// A duty form's body: a handover note of 1,000 characters is a few kilobytes.
const DUTY_FORM_LIMIT: usize = 16 * 1024;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/command", get(situation_page))
        .route("/command/late", get(late_page))
        .route(
            "/command/bulletins",
            get(bulletins_page)
                .post(draft_submit)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/bulletins/{id}",
            get(bulletin_page)
                .post(edit_submit)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/bulletins/{id}/publish",
            post(publish_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route("/public/bulletins", get(public_bulletins_page))
        .route("/command/duty", get(duty::board_page))
        .route(
            "/command/duty/handover",
            post(duty::handover_submit).layer(DefaultBodyLimit::max(DUTY_FORM_LIMIT)),
        )
        .route(
            "/command/duty/roster",
            get(duty::roster_page)
                .post(duty::roster_submit)
                .layer(DefaultBodyLimit::max(DUTY_FORM_LIMIT)),
        )
        .route(
            "/command/duty/roster/{id}/remove",
            post(duty::roster_remove).layer(DefaultBodyLimit::max(DUTY_FORM_LIMIT)),
        )
        .route(
            "/command/duty/spot-checks",
            get(spot_checks::spot_checks_page)
                .post(spot_checks::call_submit)
                .layer(DefaultBodyLimit::max(DUTY_FORM_LIMIT)),
        )
        .route(
            "/command/duty/spot-checks/{id}/result",
            post(spot_checks::result_submit).layer(DefaultBodyLimit::max(DUTY_FORM_LIMIT)),
        )
        .route(
            "/command/duty/accountability",
            get(spot_checks::accountability_page),
        )
        .route("/command/curve", get(curve::curve_page))
        .route("/command/map", get(map::map_page))
        .route("/command/reports", get(reports::board_page))
        .route("/command/reports/export.xlsx", get(reports::board_export))
        .route(
            "/command/reports/file",
            get(reports::file_page)
                .post(reports::file_submit)
                .layer(DefaultBodyLimit::max(REPORT_FORM_LIMIT)),
        )
        .route("/command/reports/one", get(reports::one_page))
        .route(
            "/command/reports/correct",
            post(reports::correct_submit).layer(DefaultBodyLimit::max(REPORT_FORM_LIMIT)),
        )
        .route(
            "/command/incidents",
            get(incidents::list_page)
                .post(incidents::file_submit)
                .layer(DefaultBodyLimit::max(REPORT_FORM_LIMIT)),
        )
        .route("/command/incidents/{id}", get(incidents::detail_page))
        .route(
            "/command/incidents/{id}/follow-up",
            post(incidents::follow_up_submit).layer(DefaultBodyLimit::max(REPORT_FORM_LIMIT)),
        )
        .route(
            "/command/incidents/{id}/close",
            post(incidents::close_submit).layer(DefaultBodyLimit::max(REPORT_FORM_LIMIT)),
        )
        .route(
            "/command/incidents/{id}/acknowledge",
            post(incidents::acknowledge_submit).layer(DefaultBodyLimit::max(REPORT_FORM_LIMIT)),
        )
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/command/situation", get(api_situation))
        .route("/command/late", get(api_late))
        .route("/command/bulletins", get(api_bulletins).post(api_draft))
        .route("/command/bulletins/{id}/publish", post(api_publish))
        .route("/public/bulletins", get(api_public_bulletins))
        .route("/command/duty/board", get(duty::api_board))
        .route(
            "/command/duty/rosters",
            get(duty::api_rosters)
                .post(duty::api_add_roster)
                .layer(DefaultBodyLimit::max(DUTY_FORM_LIMIT)),
        )
        .route(
            "/command/duty/spot-checks",
            get(spot_checks::api_spot_checks)
                .post(spot_checks::api_call)
                .layer(DefaultBodyLimit::max(DUTY_FORM_LIMIT)),
        )
        .route(
            "/command/duty/spot-checks/{id}/result",
            post(spot_checks::api_result).layer(DefaultBodyLimit::max(DUTY_FORM_LIMIT)),
        )
        .route(
            "/command/duty/accountability",
            get(spot_checks::api_accountability),
        )
        .route("/command/curve", get(curve::api_curve))
        .route("/command/map", get(map::api_map))
        .route(
            "/command/reports",
            get(reports::api_board).post(reports::api_submit),
        )
        .route("/command/reports/one", get(reports::api_one))
        .route("/command/reports/correct", post(reports::api_correct))
        .route(
            "/command/incidents",
            get(incidents::api_list).post(incidents::api_file),
        )
        .route("/command/incidents/{id}", get(incidents::api_detail))
        .route(
            "/command/incidents/{id}/follow-up",
            post(incidents::api_follow_up),
        )
        .route("/command/incidents/{id}/close", post(incidents::api_close))
        .route(
            "/command/incidents/{id}/acknowledge",
            post(incidents::api_acknowledge),
        )
}

/// The template filters the command pages use.
pub(crate) mod filters {
    pub use crate::pages::filters::thousands;
}

/// Appends `text` to `out` escaped for SVG/XML text and attribute values.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}
