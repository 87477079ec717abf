//! The fields the product knows, in one table, and how paths map to JSON
//! keys.

/// The type of a field, which decides its operators and how its values
/// are normalised.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum FieldType {
    /// A UUID such as `1589a98a-66b3-11ee-80d5-4f584c6f672d`; `=`, `!=`
    /// and `LIKE`; `=` and `!=` values must be UUIDs and are lower-cased.
    Uuid,
    /// Free text; `=`, `!=` and `LIKE`.
    String,
    /// An instant; `=`, `!=`, `lt`, `le`, `gt`, `ge`; values are parsed
    /// and rewritten as RFC 3339 in UTC.
    Timestamp,
}

impl FieldType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            FieldType::Uuid => "uuid",
            FieldType::String => "string",
            FieldType::Timestamp => "timestamp",
        }
    }

    /// The operators the type allows, for messages.
    pub(crate) fn allowed(self) -> &'static str {
        match self {
            FieldType::Uuid | FieldType::String => "`=`, `!=` or `LIKE`",
            FieldType::Timestamp => "`=`, `!=`, `lt`, `le`, `gt` or `ge`",
        }
    }
}

/// Every field the product knows. Add a row to teach the crate a field.
pub(crate) const FIELDS: &[(&str, FieldType)] = &[
    ("id", FieldType::Uuid),
    ("hostname", FieldType::String),
    ("certificate/not-after", FieldType::Timestamp),
    ("certificate/not-before", FieldType::Timestamp),
];

/// The type of a known field.
pub(crate) fn field_type(path: &str) -> Option<FieldType> {
    known(path).map(|(_, t)| t)
}

/// A known field: its path as a static string (so normalised filters
/// need not copy it) and its type.
pub(crate) fn known(path: &str) -> Option<(&'static str, FieldType)> {
    FIELDS.iter().find(|(p, _)| *p == path).copied()
}

/// The JSON keys a path stands for: segments split at `/`, kebab case
/// turned into camel case (`certificate/not-after` to
/// `["certificate", "notAfter"]`).
pub(crate) fn key_path(path: &str) -> Vec<String> {
    path.split('/').map(camel_case).collect()
}

fn camel_case(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    let mut upper_next = false;
    for c in segment.chars() {
        if c == '-' {
            upper_next = true;
        } else if upper_next {
            out.push(c.to_ascii_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The known field closest to an unknown path, if one is close enough to
/// be a likely typo: same JSON keys (`certificate/notAfter`), same
/// letters in another case, or a small edit distance.
pub(crate) fn suggest(path: &str) -> Option<&'static str> {
    let keys = key_path(path);
    let lower = path.to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for (known, _) in FIELDS {
        if key_path(known) == keys || known.eq_ignore_ascii_case(path) {
            return Some(known);
        }
        let distance = edit_distance(&lower, known);
        let limit = (known.len() / 3).max(1);
        let is_better = best.is_none_or(|(d, _)| distance < d);
        if distance <= limit && is_better {
            best = Some((distance, known));
        }
    }
    best.map(|(_, known)| known)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths() {
        let check = |path: &str, keys: &[&str]| assert_eq!(key_path(path), keys, "{path}");
        check("hostname", &["hostname"]);
        check("certificate/not-after", &["certificate", "notAfter"]);
        check("a-b-c/d", &["aBC", "d"]);
        check("displayName", &["displayName"]);
    }

    #[test]
    fn suggestions() {
        let check =
            |path: &str, expected: Option<&str>| assert_eq!(suggest(path), expected, "{path}");
        check("hostnme", Some("hostname"));
        check("Hostname", Some("hostname"));
        check("host", None);
        check("certificate/notAfter", Some("certificate/not-after"));
        check("certificate/not-afte", Some("certificate/not-after"));
        check("certificate/not-befor", Some("certificate/not-before"));
        check("ID", Some("id"));
        check("os", None);
        check("displayName", None);
    }
}
