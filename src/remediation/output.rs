//! The files behind a proposal's `apply` commands (policy documents, the CfCT manifest and its
//! policies), laid out per proposal for `propose --output-dir`, and the commands re-pointed at
//! them so they run as printed. Pure: the CLI does the writing.

use std::borrow::Cow;

use crate::findings::Proposal;

/// The CfCT manifest's file name (the name CfCT itself reads).
const MANIFEST: &str = "manifest.yaml";

/// One file to write: its path relative to the output directory, and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub path: String,
    pub content: String,
}

/// Every file a proposal's commands and CfCT entry name, under `<proposal id>/` (proposals may
/// name the same file with different content, such as the two Control Tower options).
pub fn files(proposal: &Proposal) -> Vec<OutputFile> {
    let artifact = proposal.artifact.as_ref();
    let strings = |value: Option<&serde_json::Value>| -> Vec<(String, String)> {
        value
            .and_then(serde_json::Value::as_object)
            .map(|map| {
                map.iter()
                    .filter_map(|(name, content)| Some((name.clone(), content.as_str()?.into())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let cfct = artifact.and_then(|a| a.get("cfct"));
    let mut out: Vec<(String, String)> = strings(artifact.and_then(|a| a.get("files")));
    out.extend(strings(cfct.and_then(|c| c.get("policies"))));
    if let Some(manifest) = cfct
        .and_then(|c| c.get("manifest"))
        .and_then(serde_json::Value::as_str)
    {
        out.push((MANIFEST.to_string(), manifest.to_string()));
    }
    out.into_iter()
        .map(|(name, content)| OutputFile {
            path: format!("{}/{name}", proposal.id),
            content: with_newline(content),
        })
        .collect()
}

fn with_newline(mut content: String) -> String {
    if !content.ends_with('\n') {
        content.push('\n');
    }
    content
}

/// Re-points every `file://NAME` of `apply` at `<dir>/<proposal id>/NAME` (shell-quoted when
/// the directory needs it), so the commands run as printed from anywhere.
pub fn point_apply_into(proposal: &mut Proposal, dir: &str) {
    let mut names: Vec<String> = proposal
        .artifact
        .as_ref()
        .and_then(|a| a.get("files"))
        .and_then(serde_json::Value::as_object)
        .map(|files| files.keys().cloned().collect())
        .unwrap_or_default();
    // Longest first, so a name that ends another one is not replaced inside it.
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    let mut apply = proposal.apply.clone();
    for name in &names {
        let argument = format!("file://{dir}/{}/{name}", proposal.id);
        let quoted = shlex::try_quote(&argument).unwrap_or(Cow::Borrowed(argument.as_str()));
        apply = replace_word(&apply, &format!("file://{name}"), &quoted);
    }
    // The Terraform route copies its files into the root module: `cp NAME DEST` (only the
    // source is re-pointed; the destination may be spelled like it).
    let lines: Vec<String> = apply
        .lines()
        .map(|line| {
            let source = line
                .strip_prefix("cp ")
                .and_then(|rest| rest.split(' ').next());
            match source.and_then(|s| {
                names
                    .iter()
                    .find(|n| shlex::try_quote(n).is_ok_and(|q| q == s))
            }) {
                Some(name) => {
                    let path = format!("{dir}/{}/{name}", proposal.id);
                    let quoted = shlex::try_quote(&path).unwrap_or(Cow::Borrowed(path.as_str()));
                    let rest = line
                        .get(3 + source.map_or(0, str::len)..)
                        .unwrap_or_default();
                    format!("cp {quoted}{rest}")
                }
                None => line.to_string(),
            }
        })
        .collect();
    proposal.apply = lines.join("\n");
}

/// Replaces `word` where it stands alone (followed by whitespace, a quote or the end).
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let end = at + word.len();
        let (before, after) = rest.split_at(end);
        let standalone = after
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || c == '"' || c == '\'' || c == ')');
        let head = before.get(..at).unwrap_or_default();
        out.push_str(head);
        out.push_str(if standalone { with } else { word });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_with_a_space_is_quoted_for_the_shell() {
        let mut proposal: Proposal = serde_json::from_value(serde_json::json!({
            "id": "prop-1", "fixes": [], "kind": "patchScp", "policyId": null, "targetIds": [],
            "before": null, "after": null, "diff": null, "sizeChars": null,
            "verification": {"fixedFindings": 0, "stillBlocked": 0, "newlyAllowedOutsideProfiles": []},
            "apply": "aws organizations update-policy --policy-id p-1 --content file://a.json",
            "artifact": {"files": {"a.json": "{}"}}
        }))
        .unwrap();
        point_apply_into(&mut proposal, "/tmp/my fixes");
        assert_eq!(
            proposal.apply,
            "aws organizations update-policy --policy-id p-1 --content 'file:///tmp/my fixes/prop-1/a.json'"
        );
        assert_eq!(
            files(&proposal),
            [OutputFile {
                path: "prop-1/a.json".to_string(),
                content: "{}\n".to_string()
            }]
        );
    }

    #[test]
    fn only_whole_file_arguments_are_replaced() {
        assert_eq!(
            replace_word(
                "a --content file://x.json\nb file://x.json.bak file://x.json",
                "file://x.json",
                "file:///d/x.json"
            ),
            "a --content file:///d/x.json\nb file://x.json.bak file:///d/x.json"
        );
    }
}
