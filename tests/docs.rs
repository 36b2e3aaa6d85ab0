//! The user documentation stays true: every relative link of the README and `docs/` points at
//! a file that exists, and the IAM permissions the README lists for `snapshot` are exactly
//! the Organizations and Bedrock actions `template.yaml` grants the guard's reader.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The targets of `](target)` links that are not URLs or in-page anchors.
fn relative_links(text: &str) -> Vec<String> {
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    link.captures_iter(text)
        .map(|c| c[1].to_string())
        .filter(|t| !t.contains("://") && !t.starts_with('#') && !t.starts_with("mailto:"))
        .collect()
}

#[test]
fn readme_and_docs_links_point_at_existing_files() {
    let mut files = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).expect("docs/ exists") {
        files.push(entry.unwrap().path());
    }
    let mut broken = Vec::new();
    let mut docs_linked = false;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let dir = file.parent().unwrap_or(Path::new("."));
        for target in relative_links(&text) {
            let path = target.split('#').next().unwrap_or_default();
            docs_linked |= file.ends_with("README.md") && path.starts_with("docs/");
            if !dir.join(path).exists() {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:#?}");
    assert!(docs_linked, "the README links docs/");
}

fn actions(text: &str) -> BTreeSet<String> {
    let action = regex::Regex::new(r"\b(organizations|bedrock):[A-Za-z]+").unwrap();
    action
        .find_iter(text)
        .map(|m| m.as_str().to_string())
        .collect()
}

#[test]
fn readme_lists_the_permissions_the_template_grants_the_reader() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("### IAM permissions `snapshot` needs")
        .nth(1)
        .and_then(|rest| rest.split("```json").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("the README's IAM permissions section with a JSON policy");
    let template = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let reader = template
        .split("Sid: ReadOrganization")
        .nth(1)
        .and_then(|rest| rest.split("Sid: PublishAlerts").next())
        .expect("the reader's statements in template.yaml");
    let listed = actions(section);
    assert_eq!(listed, actions(reader));
    assert!(listed.contains("organizations:DescribeOrganization"));
    assert!(listed.contains("bedrock:ListInferenceProfiles"));
}
