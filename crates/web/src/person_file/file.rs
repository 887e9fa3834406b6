//! A person's file: the page (`/people/{key}`), its JSON (`/api/people/{key}`) and the staff JSON
//! of the person's code (`/api/people/{key}/code`). The key is a resident id, or `case-5`,
//! `contact-7`, `lead-3`, `measure-9` for someone not in the register.

use super::*;
use crate::pages::filters;

#[derive(Template)]
#[template(path = "person_file/file.html")]
pub(super) struct PersonFilePage {
    layout: Layout,
    f: PersonFile,
    /// The register card offers the audited reveal of the full number and phone.
    can_reveal: bool,
}

pub(super) async fn person_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(key): Path<String>,
) -> PageResult {
    let actor = &page.user.actor;
    let target = PersonRef::parse(&key).map_err(|e| page.error(e))?;
    let f = state
        .app
        .person_file(actor, target)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&PersonFilePage {
        layout: page.layout("residents"),
        f,
        can_reveal: page.can(Permission::RevealPersonalData),
    }))
}

pub(super) async fn api_person(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(key): Path<String>,
) -> ApiResult<PersonFile> {
    let target = PersonRef::parse(&key)?;
    Ok(Json(state.app.person_file(&user.actor, target).await?))
}

pub(super) async fn api_person_code(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(key): Path<String>,
) -> ApiResult<PersonCodeBrief> {
    let target = PersonRef::parse(&key)?;
    Ok(Json(
        state.app.person_code_brief(&user.actor, target).await?,
    ))
}
