//! Nesting depth of raw text, measured in one pass before anything parses it.
//!
//! Hive Router 0.3.10 parses `variables` and `extensions` with sonic-rs into
//! `sonic_rs::Value`, whose recursive DOM parser has no depth limit (the serde path's limit
//! of 255 does not apply to `Value`): a 31 kB body nested 16,000 levels overflows a worker's
//! 2 MiB stack, and ntex-rt's SIGSEGV handler then symbolizes backtraces for minutes instead
//! of letting the process die (services/gateway/README.md, "The nesting hang"). Its GraphQL
//! parser recurses per selection set too. These scans are linear in the input, allocate
//! nothing and stop at the first level over the limit, so the guard refuses such a request
//! in microseconds, before any parser sees it.

/// The deepest `[`/`{` nesting of a JSON text, or `None` once it passes `limit` (the scan
/// stops there). Brackets inside strings do not count. Malformed JSON is not judged here:
/// the parser that runs afterwards reports it.
pub fn json_depth_within(text: &[u8], limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in text {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return None;
                }
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Some(deepest)
}

/// The deepest `{`/`[`/`(` nesting of a GraphQL document (selection sets, list and object
/// values, arguments), or `None` once it passes `limit`. Strings and `#` comments do not
/// count; a block string (`"""…"""`) is read as strings too, which can only over-count.
pub fn graphql_nesting_within(text: &[u8], limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    for &byte in text {
        if in_comment {
            if byte == b'\n' || byte == b'\r' {
                in_comment = false;
            }
            continue;
        }
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'#' => in_comment = true,
            b'[' | b'{' | b'(' => {
                depth += 1;
                if depth > limit {
                    return None;
                }
                deepest = deepest.max(depth);
            }
            b']' | b'}' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Some(deepest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_depth_counts_brackets_outside_strings() {
        assert_eq!(
            json_depth_within(br#"{"a":[1,{"b":"[[[{{"}]}"#, 10),
            Some(3)
        );
        assert_eq!(json_depth_within(br#"{"a":"\"[[["}"#, 10), Some(1));
        assert_eq!(json_depth_within(b"1", 10), Some(0));
    }

    #[test]
    fn json_depth_stops_past_the_limit() {
        let deep = format!("{}{}", "[".repeat(16_000), "]".repeat(16_000));
        assert_eq!(json_depth_within(deep.as_bytes(), 64), None);
        assert_eq!(json_depth_within(deep.as_bytes(), 16_000), Some(16_000));
    }

    #[test]
    fn graphql_nesting_skips_strings_and_comments() {
        let doc = "query Q($a: [Int]) { # {{{{\n a(s: \"{{{{\") { b } }";
        assert_eq!(graphql_nesting_within(doc.as_bytes(), 10), Some(2));
        let deep = format!("{}{}", "{a".repeat(5000), "}".repeat(5000));
        assert_eq!(graphql_nesting_within(deep.as_bytes(), 64), None);
    }
}
