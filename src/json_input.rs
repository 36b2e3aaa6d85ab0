//! Strict JSON input: the one reader for every JSON file cris-guard loads (snapshot, `--what-if`
//! changes, `check` requests), so each gets the same limits and the same error paths.
//!
//! On top of serde it enforces what the contract (§1, §2) says and serde's defaults do not:
//! - a size limit ([`MAX_INPUT_BYTES`]), checked before anything is parsed, and UTF-8;
//! - a nesting limit ([`MAX_DEPTH`], serde_json's recursion limit), with a short path;
//! - no duplicate object keys anywhere: `BTreeMap` and `serde_json::Value` silently keep the
//!   last of two equal keys, which would hide half of the input;
//! - objects where the types expect objects: serde-derived structs (and internally tagged enums)
//!   also accept a JSON array read positionally, in field order.
//!
//! Every error names the source, a JSON path (`$.policies[0].content`, `$[1].target`) and the
//! problem. Design: serde (through `serde_path_to_error`) deserializes first, keeping its
//! messages and paths; then one streaming pass over the text compares the input's
//! array/object skeleton with the re-serialized value's (an array where the value serializes as
//! an object was read positionally) and tracks each object's keys. When serde itself fails inside
//! an array that stands for a struct, a probe on the failure path finds that array and says
//! "expected an object" there, not "invalid length" or an element's type.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;
use serde_path_to_error::{Path, Segment, Track};

use crate::error::InputError;
use crate::policy::json::Json;

/// The largest JSON input accepted; larger input is refused before parsing.
pub const MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;

/// The deepest nesting of arrays and objects accepted (serde_json's recursion limit, which stops
/// the parse before the stack is at risk).
pub const MAX_DEPTH: usize = 128;

/// Path segments shown for an error about nesting depth; the rest is elided.
const DEPTH_PATH_SEGMENTS: usize = 8;

/// Reads JSON into `T` strictly (see the module docs). `source` names the input (a file path) in
/// errors; `what` says what it is ("snapshot", "request") in the size message.
pub fn read<T: DeserializeOwned + Serialize>(
    source: &str,
    what: &str,
    bytes: &[u8],
) -> Result<T, InputError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(InputError::new(
            source,
            "$",
            format!(
                "the {what} is {} bytes, over the {MAX_INPUT_BYTES} byte limit",
                bytes.len()
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|err| {
        InputError::new(
            source,
            "$",
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                err.valid_up_to()
            ),
        )
    })?;
    if text.trim().is_empty() {
        return Err(InputError::new(
            source,
            "$",
            format!("empty file: expected the {what} as JSON"),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|err| deserialize_error::<T>(source, text, err))?;
    deserializer
        .end()
        .map_err(|err| InputError::new(source, "$", err.to_string()))?;
    let shape = serde_json::to_value(&value).map_err(|err| {
        InputError::new(
            source,
            "$",
            format!("cannot re-check the shape of the input: {err}"),
        )
    })?;
    check_keys_and_shape(source, text, &shape)?;
    Ok(value)
}

/// Turns a serde error into an [`InputError`] with a JSON path and a clearer message where
/// serde's is about its own machinery.
fn deserialize_error<T: DeserializeOwned>(
    source: &str,
    text: &str,
    err: serde_path_to_error::Error<serde_json::Error>,
) -> InputError {
    let mut segments: Vec<Segment> = err.path().iter().cloned().collect();
    let message = err.into_inner().to_string();
    if message.contains("recursion limit exceeded") {
        return InputError::new(
            source,
            elided_path(&segments),
            format!("nested more than {MAX_DEPTH} levels deep ({message})"),
        );
    }
    // An unknown or repeated field is named, whatever its value: the positional probe below
    // would otherwise take an unknown field's array value for a struct read positionally.
    // Internally tagged enums buffer their fields, and a repeated struct field is reported at
    // the object, so the path may stop there: name the field, as derived structs do.
    if let Some(field) = quoted_after(&message, "unknown field `")
        .or_else(|| quoted_after(&message, "duplicate field `"))
    {
        let named = matches!(segments.last(), Some(Segment::Map { key }) if key == field);
        if !named {
            segments.push(Segment::Map {
                key: field.to_string(),
            });
        }
        return InputError::new(source, json_path(&segments), message);
    }
    // A struct read positionally from an array that did not fit ("invalid length 0, expected
    // struct Snapshot with 9 elements", or an element of the wrong type): say what the contract
    // says, an object, at the array.
    if let Some(depth) = positional_array::<T>(text, &segments) {
        return InputError::new(
            source,
            json_path(&segments[..depth]),
            "expected an object, found an array",
        );
    }
    InputError::new(source, json_path(&segments), message)
}

/// The text between `prefix` and the next backtick, when `message` starts with `prefix`.
fn quoted_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

/// When an error lies in (or at) an input array that `T` reads as a struct, the length of the
/// path to that array. Each array on the error path is probed: replaced by `{}` (in document
/// order, duplicates kept), `T` is deserialized again; a sequence type then fails right there
/// with "invalid type: map", anything else accepted an object. Runs only after a failure.
fn positional_array<T: DeserializeOwned>(text: &str, segments: &[Segment]) -> Option<usize> {
    let mut tree: Json = serde_json::from_str(text).ok()?;
    for depth in 0..=segments.len() {
        let prefix = &segments[..depth];
        let Some(node) = node_at(&mut tree, prefix) else {
            break;
        };
        if !matches!(node, Json::Array(_)) {
            continue;
        }
        let array = std::mem::replace(node, Json::Object(Vec::new()));
        let probe = tree.minified();
        if let Some(node) = node_at(&mut tree, prefix) {
            *node = array;
        }
        let mut deserializer = serde_json::Deserializer::from_str(&probe);
        let is_sequence = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
            Ok(_) => false,
            Err(err) => {
                let at: Vec<Segment> = err.path().iter().cloned().collect();
                json_path(&at) == json_path(prefix)
                    && err.inner().to_string().contains("invalid type: map")
            }
        };
        if !is_sequence {
            return Some(depth);
        }
    }
    None
}

/// The node a path points at (the last of repeated keys, as maps read them).
fn node_at<'t>(tree: &'t mut Json, segments: &[Segment]) -> Option<&'t mut Json> {
    let mut node = tree;
    for segment in segments {
        node = match (segment, node) {
            (Segment::Seq { index }, Json::Array(items)) => items.get_mut(*index)?,
            (Segment::Map { key } | Segment::Enum { variant: key }, Json::Object(entries)) => {
                entries
                    .iter_mut()
                    .rev()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v)?
            }
            _ => return None,
        };
    }
    Some(node)
}

/// `$`, then `.key` for object members and `[i]` for array elements.
pub fn json_path(segments: &[Segment]) -> String {
    let mut path = String::from("$");
    for segment in segments {
        push_segment(&mut path, segment);
    }
    path
}

/// Like [`json_path`], but long paths (thousands of `[0]`) are cut after a few segments.
fn elided_path(segments: &[Segment]) -> String {
    let mut path = json_path(&segments[..segments.len().min(DEPTH_PATH_SEGMENTS)]);
    if segments.len() > DEPTH_PATH_SEGMENTS {
        path.push('…');
    }
    path
}

fn push_segment(path: &mut String, segment: &Segment) {
    match segment {
        Segment::Seq { index } => {
            path.push('[');
            path.push_str(&index.to_string());
            path.push(']');
        }
        Segment::Map { key } | Segment::Enum { variant: key } => {
            path.push('.');
            path.push_str(key);
        }
        Segment::Unknown => path.push_str(".?"),
    }
}

/// The streaming pass: duplicate keys anywhere, arrays where `shape` (the re-serialized value)
/// has an object.
fn check_keys_and_shape(source: &str, text: &str, shape: &Value) -> Result<(), InputError> {
    let mut track = Track::new();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let tracked = serde_path_to_error::Deserializer::new(&mut deserializer, &mut track);
    match (Check { shape: Some(shape) }).deserialize(tracked) {
        Ok(()) => Ok(()),
        Err(err) => {
            let path: Path = track.path();
            let segments: Vec<Segment> = path.iter().cloned().collect();
            Err(InputError::new(
                source,
                json_path(&segments),
                err.to_string(),
            ))
        }
    }
}

/// Walks one JSON value; `shape` is the matching part of the re-serialized value, if any.
struct Check<'s> {
    shape: Option<&'s Value>,
}

impl<'de> DeserializeSeed<'de> for Check<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Check<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if matches!(self.shape, Some(Value::Object(_))) {
            return Err(de::Error::custom("expected an object, found an array"));
        }
        let items = self.shape.and_then(Value::as_array);
        let mut index = 0usize;
        while seq
            .next_element_seed(Check {
                shape: items.and_then(|items| items.get(index)),
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let members = self.shape.and_then(Value::as_object);
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                // Fail inside the value, so the path names the repeated key.
                return map.next_value_seed(Duplicate(key));
            }
            let shape = members.and_then(|members| members.get(&key));
            map.next_value_seed(Check { shape })?;
            seen.insert(key);
        }
        Ok(())
    }
}

/// The value of a repeated key: always an error.
struct Duplicate(String);

impl<'de> DeserializeSeed<'de> for Duplicate {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        Err(de::Error::custom(format!(
            "duplicate key `{}` (a JSON object must not repeat a key; one value would be silently dropped)",
            self.0
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Outer {
        inner: Inner,
        #[serde(default)]
        items: Vec<Inner>,
        #[serde(default)]
        by_name: BTreeMap<String, Vec<Inner>>,
        #[serde(default)]
        any: Option<Value>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        a: String,
        b: u32,
    }

    fn err(text: &str) -> InputError {
        match read::<Outer>("in.json", "input", text.as_bytes()) {
            Ok(value) => panic!("accepted {text}: {value:?}"),
            Err(err) => err,
        }
    }

    #[test]
    fn accepts_well_formed_input() {
        let value: Outer = read(
            "in.json",
            "input",
            br#"{"inner":{"a":"x","b":1},"items":[{"a":"y","b":2}],"byName":{"k":[]},"any":[1,{"z":[]}]}"#,
        )
        .expect("valid");
        assert_eq!(value.items.len(), 1);
        assert_eq!(value.inner.b, 1);
    }

    #[test]
    fn rejects_arrays_read_positionally_with_the_path() {
        let e = err(r#"["x", 1]"#);
        assert_eq!(e.path, "$", "{e}");
        assert!(e.message.contains("expected an object"), "{e}");
        let e = err(r#"{"inner":["x",1]}"#);
        assert_eq!(e.path, "$.inner", "{e}");
        assert!(e.message.contains("expected an object"), "{e}");
        let e = err(r#"{"inner":{"a":"x","b":1},"byName":{"k":[["y",2]]}}"#);
        assert_eq!(e.path, "$.byName.k[0]", "{e}");
        let e = err(r#"[]"#);
        assert_eq!(e.path, "$", "{e}");
        assert!(
            e.message.contains("expected an object, found an array"),
            "{e}"
        );
    }

    #[test]
    fn an_error_inside_a_positional_array_is_reported_at_the_array() {
        // `"two"` is not a u32, but the real problem is the array standing for `Inner`.
        let e = err(r#"{"inner":{"a":"x","b":1},"items":[{"a":"y","b":2},["z","two"]]}"#);
        assert_eq!(e.path, "$.items[1]", "{e}");
        assert_eq!(e.message, "expected an object, found an array", "{e}");
        // A wrong element in a real list keeps serde's message and the element's path.
        let e = err(r#"{"inner":{"a":"x","b":1},"items":[5]}"#);
        assert_eq!(e.path, "$.items[0]", "{e}");
        assert!(e.message.contains("invalid type: integer"), "{e}");
        let e = err(r#"{"inner":{"a":"x","b":1},"items":{"a":"y","b":2}}"#);
        assert_eq!(e.path, "$.items", "{e}");
        assert!(e.message.contains("expected a sequence"), "{e}");
    }

    #[test]
    fn rejects_duplicate_keys_in_maps_and_free_values_with_the_path() {
        let e = err(r#"{"inner":{"a":"x","b":1},"byName":{"k":[],"k":[]}}"#);
        assert_eq!(e.path, "$.byName.k", "{e}");
        assert!(e.message.contains("duplicate key `k`"), "{e}");
        let e = err(r#"{"inner":{"a":"x","b":1},"any":[{"s":1,"t":2,"s":3}]}"#);
        assert_eq!(e.path, "$.any[0].s", "{e}");
        assert!(e.message.contains("duplicate key `s`"), "{e}");
    }

    #[test]
    fn arrays_inside_free_values_are_fine() {
        read::<Outer>(
            "in.json",
            "input",
            br#"{"inner":{"a":"x","b":1},"any":{"inner":["not","checked"]}}"#,
        )
        .expect("free-form values keep their arrays");
    }

    #[test]
    fn deep_nesting_is_refused_with_a_short_path() {
        let text = format!(
            r#"{{"inner":{{"a":"x","b":1}},"any":{}{}}}"#,
            "[".repeat(5_000),
            "]".repeat(5_000)
        );
        let e = err(&text);
        assert!(e.path.starts_with("$.any[0][0]"), "{e}");
        assert!(e.path.len() < 40, "{e}");
        assert!(e.message.contains("recursion limit exceeded"), "{e}");
        assert!(e.message.contains("128 levels"), "{e}");
    }

    #[test]
    fn size_and_encoding_are_checked_first() {
        let e = match read::<Outer>("in.json", "input", b"{\"inner\":\"\xff\"}") {
            Ok(_) => panic!("accepted non-UTF-8"),
            Err(e) => e,
        };
        assert_eq!(e.path, "$");
        assert!(e.message.contains("not UTF-8"), "{e}");
    }

    #[test]
    fn paths_use_brackets_for_elements_and_dots_for_keys() {
        let e = err(r#"{"inner":{"a":"x","b":1},"items":[{"a":"y","b":"two"}]}"#);
        assert_eq!(e.path, "$.items[0].b", "{e}");
        assert_eq!(
            json_path(&[
                Segment::Seq { index: 1 },
                Segment::Map {
                    key: "target".into()
                }
            ]),
            "$[1].target"
        );
    }
}
