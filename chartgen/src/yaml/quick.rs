//! The quick path of [`super::parse_head`]: a line reader for manifests in plain block style
//! (block maps and sequences, one-line plain or quoted scalars, literal and folded block
//! scalars, comment lines) that checks the whole document and builds only Helm's
//! `SimpleHead` (`apiVersion`, `kind`, `metadata.name`, `metadata.annotations`). Whatever it
//! is not sure of (flow collections other than `[]` and `{}`, multi-line plain or quoted
//! scalars, anchors, aliases, tags, tabs, directives, keys that are not plain words, values
//! that are not plain strings in the head, ...) makes it give up, and the full decoder
//! reads the document, so errors and edge cases stay the full decoder's.
//!
//! Rendered CRDs and large charts are mostly this subset, and the manifest sort reads the
//! head of every document Helm prints: this reader does it in a few instructions per byte.

use super::resolve::{Resolved, resolve_plain};
use crate::value::{Map, Value};

/// The document is outside the subset this reader is sure of.
struct GaveUp;

type Q<T> = Result<T, GaveUp>;

/// What the head keeps of a key's value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The top-level map: keeps `apiVersion`, `kind`, `metadata`.
    Top,
    /// `metadata`: keeps `name`, `annotations`.
    Metadata,
    /// `metadata.annotations`: keeps every value.
    Annotations,
    /// Anything else: checked, not kept.
    Other,
}

/// One line: `indent` spaces, content from `start` (first non-space) to `end` (its `\n` or
/// the end of the text).
#[derive(Clone, Copy)]
struct Line {
    at: usize,
    indent: usize,
    start: usize,
    end: usize,
}

struct Reader<'a> {
    text: &'a str,
    s: &'a [u8],
    /// Start of the current line.
    pos: usize,
    /// The last line read (lines are often looked at twice).
    last: Option<Line>,
    top: Map,
    metadata: Option<Map>,
    annotations: Option<Map>,
}

/// The head of `doc` as [`super::parse_head`] gives it for the keys `SimpleHead` reads, or
/// `None` when the document is outside the subset (then the full decoder must run).
pub(crate) fn head(doc: &str) -> Option<Value> {
    if !plain_text(doc) {
        return None;
    }
    let mut r = Reader {
        text: doc,
        s: doc.as_bytes(),
        pos: 0,
        last: None,
        top: Map::new(),
        metadata: None,
        annotations: None,
    };
    r.document().ok()
}

/// No characters the reader leaves to the full decoder: tabs, carriage returns, other
/// control characters, non-printable or line-breaking Unicode, invalid UTF-8, and no line
/// starting like a directive or a document marker.
fn plain_text(doc: &str) -> bool {
    let s = doc.as_bytes();
    // Whole chunks without early exits, so that the compiler can vectorize the test.
    let bad = |b: u8| (b < 0x20 && b != b'\n') | (b == 0x7f);
    if s.chunks(64)
        .any(|c| c.iter().fold(false, |acc, &b| acc | bad(b)))
    {
        return false;
    }
    if !s.is_ascii()
        && (crate::value::yaml_utf8_problem(doc).is_some()
            || !doc.chars().all(|c| {
                c.is_ascii()
                    || ('\u{a0}'..='\u{d7ff}').contains(&c) && c != '\u{2028}' && c != '\u{2029}'
                    || ('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}'
                    || c >= '\u{10000}'
            }))
    {
        return false;
    }
    let marker =
        |l: &[u8]| l.first() == Some(&b'%') || l.starts_with(b"---") || l.starts_with(b"...");
    if marker(s) {
        return false;
    }
    !memchr::memchr_iter(b'\n', s).any(|n| marker(&s[n + 1..]))
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b'$')
}

impl<'a> Reader<'a> {
    /// The line at `pos`, or `None` at the end of the text.
    fn line(&mut self) -> Option<Line> {
        if self.pos >= self.s.len() {
            return None;
        }
        if let Some(l) = self.last
            && l.at == self.pos
        {
            return Some(l);
        }
        let at = self.pos;
        let rest = &self.s[at..];
        let end = at + memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let indent = rest[..end - at]
            .iter()
            .position(|&b| b != b' ')
            .unwrap_or(end - at);
        let l = Line {
            at,
            indent,
            start: at + indent,
            end,
        };
        self.last = Some(l);
        Some(l)
    }

    fn next_line(&mut self, l: &Line) {
        self.pos = l.end + 1;
    }

    /// The next line with content, past empty, blank and comment lines.
    fn content(&mut self) -> Option<Line> {
        loop {
            let l = self.line()?;
            if l.start == l.end || self.s[l.start] == b'#' {
                self.next_line(&l);
                continue;
            }
            return Some(l);
        }
    }

    fn document(&mut self) -> Q<Value> {
        let Some(l) = self.content() else {
            return Ok(Value::Nil);
        };
        if l.indent != 0 || self.key_end(&l, l.start).is_none() {
            return Err(GaveUp);
        }
        self.block_map(0, Role::Top)?;
        if self.content().is_some() {
            return Err(GaveUp);
        }
        let mut top = std::mem::take(&mut self.top);
        if let Some(mut md) = self.metadata.take() {
            if let Some(a) = self.annotations.take() {
                md.insert("annotations".into(), Value::map(a));
            }
            top.insert("metadata".into(), Value::map(md));
        }
        Ok(Value::map(top))
    }

    /// Where the plain key starting at `at` ends (its `:`, followed by a space or the end of
    /// the line), if the line holds one there.
    fn key_end(&self, l: &Line, at: usize) -> Option<usize> {
        let s = self.s;
        let first = s[at];
        if !(first.is_ascii_alphabetic() || matches!(first, b'_' | b'$' | b'/')) {
            return None;
        }
        let mut j = at + 1;
        while j < l.end && is_key_byte(s[j]) {
            j += 1;
        }
        if j >= l.end || s[j] != b':' || (j + 1 < l.end && s[j + 1] != b' ') {
            return None;
        }
        // Keys a resolver turns into booleans or null, and keys too long for a simple key.
        let key = &s[at..j];
        if key.len() > 512
            || key.len() <= 5
                && matches!(
                    key.to_ascii_lowercase().as_slice(),
                    b"y" | b"n" | b"yes" | b"no" | b"on" | b"off" | b"true" | b"false" | b"null"
                )
        {
            return None;
        }
        Some(j)
    }

    fn is_dash_item(&self, l: &Line) -> bool {
        self.s[l.start] == b'-' && (l.start + 1 == l.end || self.s[l.start + 1] == b' ')
    }

    /// A block map whose keys sit at column `ind`; the current line is its first key.
    fn block_map(&mut self, ind: usize, role: Role) -> Q<()> {
        loop {
            let Some(l) = self.content() else {
                return Ok(());
            };
            if l.indent < ind {
                return Ok(());
            }
            if l.indent > ind {
                return Err(GaveUp);
            }
            self.entry(&l, l.start, ind, role)?;
        }
    }

    /// The map entry `key: ...` at byte `at` of line `l`, in a map at column `ind`.
    fn entry(&mut self, l: &Line, at: usize, ind: usize, role: Role) -> Q<()> {
        let colon = self.key_end(l, at).ok_or(GaveUp)?;
        let key = &self.text[at..colon];
        let (child, keep) = match (role, key) {
            (Role::Top, "apiVersion" | "kind") => (Role::Other, true),
            (Role::Top, "metadata") => (Role::Metadata, false),
            (Role::Metadata, "name") => (Role::Other, true),
            (Role::Metadata, "annotations") => (Role::Annotations, false),
            (Role::Annotations, _) => (Role::Other, true),
            _ => (Role::Other, false),
        };
        let seen = match role {
            Role::Top => self.top.contains_key(key) || key == "metadata" && self.metadata.is_some(),
            Role::Metadata => {
                let md = self.metadata.as_ref().expect("metadata map is open");
                md.contains_key(key) || key == "annotations" && self.annotations.is_some()
            }
            Role::Annotations => self
                .annotations
                .as_ref()
                .expect("annotations map is open")
                .contains_key(key),
            Role::Other => false,
        };
        if seen && (keep || child != Role::Other) {
            return Err(GaveUp);
        }
        match child {
            Role::Metadata => self.metadata = Some(Map::new()),
            Role::Annotations => self.annotations = Some(Map::new()),
            _ => {}
        }
        let kept = self.value(l, colon + 1, ind, child, keep)?;
        if let Some(v) = kept {
            let key = key.to_string();
            match role {
                Role::Top => self.top.insert(key, v),
                Role::Metadata => self.metadata.as_mut().expect("open").insert(key, v),
                _ => self.annotations.as_mut().expect("open").insert(key, v),
            };
        }
        Ok(())
    }

    /// The value after a key's `:` (at byte `at` of line `l`) in a collection at column
    /// `ind`; with `keep`, the value must be a plain string and is returned.
    fn value(
        &mut self,
        l: &Line,
        at: usize,
        ind: usize,
        role: Role,
        keep: bool,
    ) -> Q<Option<Value>> {
        let s = self.s;
        let mut c = at;
        while c < l.end && s[c] == b' ' {
            c += 1;
        }
        if c == l.end || s[c] == b'#' {
            self.next_line(l);
            // A nested collection, or null.
            let Some(n) = self.content() else {
                return self.null_value(role, keep);
            };
            if n.indent > ind && self.empty_flow(&n, n.start).is_some() {
                // `[]` or `{}` on a line of its own.
                if keep || (role != Role::Other && self.s[n.start] != b'{') {
                    return Err(GaveUp);
                }
                self.next_line(&n);
                return Ok(None);
            }
            if n.indent > ind {
                if self.is_dash_item(&n) {
                    if role != Role::Other || keep {
                        return Err(GaveUp);
                    }
                    return self.block_seq(n.indent).map(|_| None);
                }
                if keep || self.key_end(&n, n.start).is_none() {
                    return Err(GaveUp);
                }
                self.block_map(n.indent, role)?;
                return Ok(None);
            }
            if n.indent == ind && self.is_dash_item(&n) {
                if role != Role::Other || keep {
                    return Err(GaveUp);
                }
                return self.block_seq(ind).map(|_| None);
            }
            return self.null_value(role, keep);
        }
        if role != Role::Other && self.empty_flow(l, c) != Some(b'{') {
            // metadata or annotations given as a scalar or list: the full decoder's error.
            return Err(GaveUp);
        }
        let v = self.scalar(l, c, ind, keep)?;
        Ok(v)
    }

    fn null_value(&mut self, role: Role, keep: bool) -> Q<Option<Value>> {
        match role {
            Role::Metadata => self.metadata = None,
            Role::Annotations => self.annotations = None,
            Role::Top | Role::Other => {}
        }
        if role != Role::Other {
            // Held as Nil: SimpleHead reads no name or annotations from it.
            return Err(GaveUp);
        }
        if keep {
            return Err(GaveUp);
        }
        Ok(None)
    }

    /// `[]` or `{}` (then spaces or a comment) at byte `c`: its opening bracket.
    fn empty_flow(&self, l: &Line, c: usize) -> Option<u8> {
        let s = self.s;
        if c + 1 < l.end && matches!((s[c], s[c + 1]), (b'[', b']') | (b'{', b'}')) {
            self.line_rest_ok(l, c + 2).then_some(s[c])
        } else {
            None
        }
    }

    /// Nothing but spaces, or spaces and a comment, from byte `c` to the end of the line.
    fn line_rest_ok(&self, l: &Line, c: usize) -> bool {
        let s = self.s;
        let mut j = c;
        while j < l.end && s[j] == b' ' {
            j += 1;
        }
        j == l.end || (j > c && s[j] == b'#')
    }

    /// A scalar (or `[]`/`{}`) starting at byte `c` of line `l`, in a collection at column
    /// `ind`; moves past it. With `keep`, returns it (plain strings and quoted ones only).
    fn scalar(&mut self, l: &Line, c: usize, ind: usize, keep: bool) -> Q<Option<Value>> {
        let s = self.s;
        let kept = match s[c] {
            b'[' | b'{' => {
                if self.empty_flow(l, c).is_none() || keep {
                    return Err(GaveUp);
                }
                None
            }
            b'|' | b'>' => {
                if keep {
                    return Err(GaveUp);
                }
                let mut j = c + 1;
                if j < l.end && matches!(s[j], b'-' | b'+') {
                    j += 1;
                }
                if !(j == l.end || s[j] == b' ' && self.line_rest_ok(l, j)) {
                    return Err(GaveUp);
                }
                self.next_line(l);
                return self.block_scalar(ind).map(|_| None);
            }
            b'"' => {
                let (close, text) = self.double_quoted(l, c, keep)?;
                if close > l.end {
                    // Closed on a later line: that line's rest must be empty.
                    let last = self.line_of(close);
                    if !self.line_rest_ok(&last, close + 1) {
                        return Err(GaveUp);
                    }
                    self.next_line(&last);
                    return Ok(None);
                }
                if !self.line_rest_ok(l, close + 1) {
                    return Err(GaveUp);
                }
                text.map(Value::str)
            }
            b'\'' => {
                let mut j = c + 1;
                let mut text = String::new();
                loop {
                    if j >= s.len() || (keep && j >= l.end) {
                        return Err(GaveUp);
                    }
                    if !keep {
                        j += memchr::memchr(b'\'', &s[j..]).ok_or(GaveUp)?;
                    }
                    if s[j] == b'\'' {
                        if j + 1 < s.len() && s[j + 1] == b'\'' {
                            if keep {
                                text.push('\'');
                            }
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    let n = utf8_width(s[j]);
                    if keep {
                        text.push_str(&self.text[j..j + n]);
                    }
                    j += n;
                }
                if j > l.end {
                    let last = self.line_of(j);
                    if !self.line_rest_ok(&last, j + 1) {
                        return Err(GaveUp);
                    }
                    self.next_line(&last);
                    return Ok(None);
                }
                if !self.line_rest_ok(l, j + 1) {
                    return Err(GaveUp);
                }
                keep.then(|| Value::str(text))
            }
            _ => {
                let text = self.plain(l, c)?;
                self.next_line(l);
                let continued = self.plain_continuation(ind)?;
                if !keep {
                    return Ok(None);
                }
                if continued || !matches!(resolve_plain(text), Resolved::Str) {
                    return Err(GaveUp);
                }
                return Ok(Some(Value::str(text)));
            }
        };
        self.next_line(l);
        Ok(kept)
    }

    /// A one-line plain scalar from byte `c` to the end of line `l` (no `: `, ` #`, no
    /// indicator first, not infinite or NaN); its text without trailing spaces.
    fn plain(&self, l: &Line, c: usize) -> Q<&'a str> {
        let s = self.s;
        let first = s[c];
        let next_blank = c + 1 == l.end || s[c + 1] == b' ';
        match first {
            b'-' | b'?' | b':' if next_blank => return Err(GaveUp),
            b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
            | b'"' | b'%' | b'@' | b'`' => return Err(GaveUp),
            _ => {}
        }
        let mut end = l.end;
        while end > c && s[end - 1] == b' ' {
            end -= 1;
        }
        let body = &s[c..end];
        if body.last() == Some(&b':') || has_value_or_comment(body) {
            return Err(GaveUp);
        }
        let text = &self.text[c..end];
        if matches!(first, b'.' | b'+' | b'-')
            && matches!(resolve_plain(text), Resolved::Float(x) if !x.is_finite())
        {
            return Err(GaveUp);
        }
        Ok(text)
    }

    /// The continuation lines of a plain scalar in a collection at column `ind`: lines more
    /// indented than `ind` (blank lines between them), each without `: `, ` #` or a final
    /// `:`. Moves past them; true if there was one.
    fn plain_continuation(&mut self, ind: usize) -> Q<bool> {
        let s = self.s;
        let mut continued = false;
        loop {
            let save = self.pos;
            let mut next = None;
            while let Some(n) = self.line() {
                if n.start == n.end {
                    self.next_line(&n);
                    continue;
                }
                next = Some(n);
                break;
            }
            match next {
                Some(n) if n.indent > ind && s[n.start] != b'#' => {
                    let mut end = n.end;
                    while end > n.start && s[end - 1] == b' ' {
                        end -= 1;
                    }
                    let body = &s[n.start..end];
                    if body.last() == Some(&b':') || has_value_or_comment(body) {
                        return Err(GaveUp);
                    }
                    self.next_line(&n);
                    continued = true;
                }
                _ => {
                    self.pos = save;
                    return Ok(continued);
                }
            }
        }
    }

    /// The line holding byte `at` (only its `end` is meaningful).
    fn line_of(&self, at: usize) -> Line {
        let rest = &self.s[at..];
        let end = at + memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        Line {
            at,
            indent: 0,
            start: at,
            end,
        }
    }

    /// A double-quoted scalar opening at byte `c`: its closing quote (on a later line only
    /// without `keep`) and, with `keep`, its text. Escapes other than the one-character ones
    /// and escaped line breaks give up.
    fn double_quoted(&self, l: &Line, c: usize, keep: bool) -> Q<(usize, Option<String>)> {
        let s = self.s;
        let mut text = String::new();
        let mut j = c + 1;
        loop {
            if j >= s.len() || (keep && j >= l.end) {
                return Err(GaveUp);
            }
            if !keep {
                j += memchr::memchr2(b'"', b'\\', &s[j..]).ok_or(GaveUp)?;
            }
            match s[j] {
                b'"' => break,
                b'\\' => {
                    let e = *s.get(j + 1).ok_or(GaveUp)?;
                    let ch = match e {
                        b'0' => '\0',
                        b'a' => '\x07',
                        b'b' => '\x08',
                        b't' => '\t',
                        b'n' => '\n',
                        b'v' => '\x0b',
                        b'f' => '\x0c',
                        b'r' => '\r',
                        b'e' => '\x1b',
                        b' ' => ' ',
                        b'"' => '"',
                        b'/' => '/',
                        b'\\' => '\\',
                        b'N' => '\u{85}',
                        b'_' => '\u{a0}',
                        b'L' => '\u{2028}',
                        b'P' => '\u{2029}',
                        b'\n' if !keep => '\n',
                        _ => return Err(GaveUp),
                    };
                    if keep {
                        text.push(ch);
                    }
                    j += 2;
                }
                b => {
                    let n = utf8_width(b);
                    if keep {
                        text.push_str(&self.text[j..j + n]);
                    }
                    j += n;
                }
            }
        }
        Ok((j, keep.then_some(text)))
    }

    /// A block scalar's content, the header line read: lines more indented than `ind`
    /// (the indentation found on its first non-empty line) and empty lines.
    fn block_scalar(&mut self, ind: usize) -> Q<()> {
        let mut max_blank = 0;
        let content = loop {
            let Some(l) = self.line() else {
                return Ok(());
            };
            if l.start == l.end {
                max_blank = max_blank.max(l.indent);
                self.next_line(&l);
                continue;
            }
            if l.indent <= ind {
                // Empty scalar; leading blank lines deeper than `ind` set its indentation,
                // which this line does not reach either.
                return Ok(());
            }
            if max_blank > l.indent {
                return Err(GaveUp);
            }
            break l.indent;
        };
        while let Some(l) = self.line() {
            if l.start != l.end && l.indent < content {
                break;
            }
            self.next_line(&l);
        }
        Ok(())
    }

    /// A block sequence whose `-` sit at column `ind`; the current line is its first item.
    fn block_seq(&mut self, ind: usize) -> Q<()> {
        let s = self.s;
        loop {
            let Some(l) = self.content() else {
                return Ok(());
            };
            if l.indent < ind {
                return Ok(());
            }
            if l.indent > ind {
                return Err(GaveUp);
            }
            if !self.is_dash_item(&l) {
                return Ok(());
            }
            let mut c = l.start + 1;
            while c < l.end && s[c] == b' ' {
                c += 1;
            }
            if c == l.end || s[c] == b'#' {
                self.next_line(&l);
                if let Some(n) = self.content()
                    && n.indent > ind
                {
                    if self.is_dash_item(&n) {
                        self.block_seq(n.indent)?;
                    } else if self.key_end(&n, n.start).is_some() {
                        self.block_map(n.indent, Role::Other)?;
                    } else {
                        return Err(GaveUp);
                    }
                }
                continue;
            }
            if s[c] == b'-' && (c + 1 == l.end || s[c + 1] == b' ') {
                return Err(GaveUp);
            }
            if self.key_end(&l, c).is_some() {
                // A compact map: its keys at the column of the first one.
                let col = c - l.at;
                self.entry(&l, c, col, Role::Other)?;
                self.block_map(col, Role::Other)?;
                continue;
            }
            self.scalar(&l, c, ind, false)?;
        }
    }
}

/// Whether a plain scalar's line holds `: ` (a value indicator) or ` #` (a comment).
fn has_value_or_comment(body: &[u8]) -> bool {
    memchr::memchr2_iter(b':', b'#', body).any(|at| match body[at] {
        b':' => body.get(at + 1) == Some(&b' '),
        _ => at > 0 && body[at - 1] == b' ',
    })
}

/// The length of the UTF-8 sequence a lead byte starts.
fn utf8_width(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quick reader gives the full decoder's head wherever it does not give up, and
    /// gives up on every document the full decoder rejects.
    #[test]
    fn agrees_with_the_full_decoder() {
        let docs = [
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    helm.sh/hook: pre-install\n    x: 'it''s'\n    z: \"q\\\"\\n\"\ndata:\n  a: |\n    text\n\n    more\n  b: >-\n    folded\n  c: []\n  d: {}\n",
            "kind: List\nitems:\n- a\n- b: 1\n  c:\n  - x\n  - y\n-\n  d: 2\n- |\n  block\nnext: 1\n",
            "# comment\n\napiVersion: \"v1\"  # trailing\nkind: K\n",
            "apiVersion: v1\nkind: K\nmetadata:\n  name: 5\n",
            "apiVersion: v1\nkind: K\nspec: a: b\n",
            "apiVersion: v1\nkind: K\nspec:\n  a: x\n   b: y\n",
            "apiVersion: v1\nkind: K\nspec:\n  a: x\n    continued\n",
            "apiVersion: v1\nkind: K\nkind: L\n",
            "apiVersion: v1\nkind: K\nmetadata: x\n",
            "apiVersion: v1\nkind: K\nmetadata:\n",
            "apiVersion: v1\nkind: K\nspec:\n  v: .inf\n",
            "apiVersion: v1\nkind: K\nspec:\n  v: \"unclosed\n",
            "apiVersion: v1\nkind: K\nspec:\n  t: |\n      deep blank\n    less\n",
            "apiVersion: v1\nkind: K\nspec:\n  t: |\n\n       \n    x\n",
            "apiVersion: v1\nkind: K\nspec:\n  t: |\n  x: 1\n",
            "- a\n- b\n",
            "plain scalar\n",
            "",
            "# only a comment\n",
            "a: b\n- c\n",
            "a:\n- b\nc: d\n",
            "a:\n  - b\n  - c: 1\n    d: 2\n",
            "a: x #c\n",
            "a: \"x\"#c\n",
            "a: 'x' y\n",
            "a: \"\\x41\"\n",
            "a: -1\nb: -x\nc: - x\n",
            "a: ~\nb: null\nyes: 1\n",
            "a: é ok\nb: \u{85}\n",
            "apiVersion: v1\nkind: K\nmetadata:\n  annotations: {}\n  name: web\n",
            "apiVersion: v1\nkind: K\nmetadata:\n  annotations:\n    a: 1\n",
            "a:\n  b: 1\n c: 2\n",
            "kind: K\nspec:\n  d: a long\n    text\n\n    - more\n  e: 1\n",
            "metadata:\n  annotations:\n    {}\n  name: web\n",
            "a: b\n  c\n",
            "a: b\n  c: d\n",
            "a: b\n  # c\n  d\n",
            "a:\n  b: \"x\n    y \\\n  z\"\n  c: 'p\n    ''q'\n  d: 1\n",
            "a:\n  b: \"x\n  c: 1\n",
        ];
        let mut accepted = 0;
        for doc in docs {
            let full = super::super::decode(doc, false, super::super::load::Keep::Head);
            let Some(quick) = head(doc) else {
                continue;
            };
            accepted += 1;
            let full = full.unwrap_or_else(|e| panic!("quick read accepted {doc:?}, full: {e}"));
            assert_eq!(
                crate::yaml::to_yaml(&quick),
                crate::yaml::to_yaml(&slim(&full)),
                "{doc:?}"
            );
        }
        // The subset is what the reader is for: these documents are all inside it.
        for doc in &docs[..3] {
            assert!(head(doc).is_some(), "gave up on {doc:?}");
        }
        assert_eq!(accepted, 14);
    }

    /// The parts of a full head that the quick reader keeps.
    fn slim(v: &Value) -> Value {
        let Value::Map(m) = v else { return v.clone() };
        let m = m.borrow();
        let mut out = Map::new();
        for k in ["apiVersion", "kind"] {
            if let Some(x) = m.get(k) {
                out.insert(k.into(), x.clone());
            }
        }
        if let Some(Value::Map(md)) = m.get("metadata") {
            let md = md.borrow();
            let mut o = Map::new();
            for k in ["name", "annotations"] {
                if let Some(x) = md.get(k) {
                    o.insert(k.into(), x.clone());
                }
            }
            out.insert("metadata".into(), Value::map(o));
        }
        Value::map(out)
    }
}
