//! Renderings of a [`crate::findings::Report`]: text, Markdown, HTML and SARIF, plus the text
//! of one `check` result.

pub mod check;
pub mod html;
pub mod layout;
pub mod markdown;
pub(crate) mod problem;
pub mod sarif;
pub mod text;
