//! Paging for mocked SDK list operations, shared by the reader and fault tests.

/// Pages of `size` with tokens `t<offset>` (the mocks ignore `MaxResults`).
pub fn page<T: Clone>(items: &[T], token: Option<&str>, size: usize) -> (Vec<T>, Option<String>) {
    let start = token.map_or(0, |t| t.trim_start_matches('t').parse::<usize>().unwrap());
    let end = (start + size).min(items.len());
    (
        items[start..end].to_vec(),
        (end < items.len()).then(|| format!("t{end}")),
    )
}
