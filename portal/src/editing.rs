//! The article editor that operators (in the console) and government departments' staff (in
//! the user centre) share: reading a draft from the form, and the form's context — what was
//! typed or stored, each field's error, the columns to choose from, the uploaded files.

use cms::{Article, CmsError, Column, Draft, Editor, StoredFile};
use platform::web::form::{FieldErrors, FormData};

/// The draft a submitted editor form holds.
pub fn draft_of(f: &FormData) -> Draft {
    Draft {
        title: f.get("title").to_owned(),
        summary: f.get("summary").to_owned(),
        body: f.get("body").to_owned(),
        tags: vec![f.get("tags").to_owned()],
        columns: f.all("columns"),
        source: f.opt("source"),
        files: f.all("files"),
    }
}

/// The editor's fields: as typed, or as stored.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct EditorForm {
    pub title: String,
    pub summary: String,
    pub body: String,
    pub tags: String,
    pub columns: Vec<String>,
    pub source: String,
    pub files: Vec<String>,
    pub revision: i64,
}

impl EditorForm {
    pub fn typed(f: &FormData) -> EditorForm {
        EditorForm {
            title: f.get("title").to_owned(),
            summary: f.get("summary").to_owned(),
            body: f.get("body").to_owned(),
            tags: f.get("tags").to_owned(),
            columns: f.all("columns"),
            source: f.get("source").to_owned(),
            files: f.all("files"),
            revision: f.get("revision").parse().unwrap_or(0),
        }
    }

    pub fn stored(a: &Article) -> EditorForm {
        EditorForm {
            title: a.title.clone(),
            summary: a.summary.clone(),
            body: a.body.clone(),
            tags: a.tags.join("，"),
            columns: a.columns.clone(),
            source: a.source.clone().unwrap_or_default(),
            files: Vec::new(),
            revision: a.revision,
        }
    }
}

/// The refusal of a save as the form shows it: field errors (sensitive words marked per field)
/// or a message for the whole form. `None`: not a refusal a form can show.
pub fn refusal(e: &CmsError) -> Option<(FieldErrors, Option<String>)> {
    match e {
        CmsError::Invalid(_) | CmsError::Sensitive(_) => {
            Some((e.fields().into_iter().collect(), None))
        }
        CmsError::State { .. } | CmsError::Forbidden(_) => {
            Some((FieldErrors::default(), Some(e.message_zh())))
        }
        _ => None,
    }
}

/// The refusal of a marketplace form as the form shows it: field errors (sensitive words
/// marked per field) or, for a step the state does not allow, a message for the whole form.
/// `None`: not a refusal a form can show.
pub fn market_refusal(e: &market::MarketError) -> Option<(FieldErrors, Option<String>)> {
    let fields = e.fields();
    if !fields.is_empty() {
        return Some((fields.into_iter().collect(), None));
    }
    match e {
        market::MarketError::State { .. } => Some((FieldErrors::default(), Some(e.message_zh()))),
        _ => None,
    }
}

/// The columns an editor may choose, grouped under their sections.
pub fn column_groups(all: &[Column], ed: &Editor, chosen: &[String]) -> Vec<serde_json::Value> {
    all.iter()
        .filter(|c| c.is_top())
        .filter(|top| matches!(ed, Editor::Admin { .. }) || top.section == "policy")
        .map(|top| {
            let options: Vec<serde_json::Value> = all
                .iter()
                .filter(|c| c.section == top.section)
                .map(|c| {
                    serde_json::json!({
                        "id": c.id,
                        "name": if c.is_top() { format!("{}（总栏目）", c.name) } else { c.name.clone() },
                        "checked": chosen.contains(&c.id),
                    })
                })
                .collect();
            serde_json::json!({ "name": top.name, "options": options })
        })
        .collect()
}

/// Uploaded files as the editor lists them.
pub fn file_list(files: &[StoredFile]) -> Vec<serde_json::Value> {
    files
        .iter()
        .map(|f| {
            serde_json::json!({
                "id": f.id,
                "name": f.name,
                "href": f.href(),
                "is_image": f.is_image,
                "size": cms::files::human_size(usize::try_from(f.size).unwrap_or(0)),
            })
        })
        .collect()
}
