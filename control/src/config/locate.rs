//! Finds the line of a field path such as `routes[1].oifs[0].interface` in YAML text.
//!
//! serde reports where a value failed to deserialise, but checks that run on the whole model
//! afterwards (unknown interface names, duplicates) only know the field path. This walks the
//! block structure of the text, `key:` mappings and `- ` sequence items by indentation, which is
//! how every config in this project is written. Flow collections (`[a, b]`, `{k: v}`) and
//! multi-line scalars are not looked into: a path that goes inside one resolves to the line of
//! the key that holds it, and a path that cannot be followed at all to the deepest part found.
//! The walk is a best effort on text serde has already accepted; it never fails or panics.

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A block collection never nests deeper than this in a valid config; the limit only keeps a
/// pathological file from exhausting the stack.
const MAX_DEPTH: usize = 64;

/// Returns the 1-based line of `path` in `text`, or of its deepest ancestor that can be found.
/// `None` when not even the first segment is there.
pub(crate) fn line_of(text: &str, path: &str) -> Option<usize> {
    let segments = parse_path(path);
    let mut lines = content_lines(text);
    if lines.is_empty() || segments.is_empty() {
        return None;
    }
    let mut pos = 0;
    let indent = lines[0].indent;
    let root = parse_node(&mut lines, &mut pos, indent, 0);

    let mut node = &root;
    let mut found = None;
    for segment in &segments {
        let next = match (segment, node) {
            (Segment::Key(key), Node::Map(entries)) => entries
                .iter()
                .find(|e| &e.key == key)
                .map(|e| (e.line, &e.value)),
            (Segment::Index(i), Node::Seq(items)) => items.get(*i).map(|(l, n)| (*l, n)),
            _ => None,
        };
        match next {
            Some((line, child)) => {
                found = Some(line);
                node = child;
            }
            None => break,
        }
    }
    found
}

/// `routes[1].oifs[0].interface` -> `routes`, 1, `oifs`, 0, `interface`.
fn parse_path(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push(Segment::Key(name.to_string()));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            if let Ok(i) = stripped[..end].parse() {
                out.push(Segment::Index(i));
            }
            rest = &stripped[end + 1..];
        }
    }
    out
}

#[derive(Debug)]
struct Line {
    /// 1-based line number in the file.
    number: usize,
    /// Column of the first content character; for a line rewritten from a `- ` item, the column
    /// of what follows the dash.
    indent: usize,
    /// Content without indentation, comment and trailing blanks.
    text: String,
}

#[derive(Debug)]
struct Entry {
    key: String,
    line: usize,
    value: Node,
}

#[derive(Debug)]
enum Node {
    /// A scalar, a flow collection, or anything else not looked into.
    Opaque,
    Map(Vec<Entry>),
    /// Items with the line of their dash.
    Seq(Vec<(usize, Node)>),
}

fn content_lines(text: &str) -> Vec<Line> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let indent = raw.len() - raw.trim_start_matches(' ').len();
            let text = strip_comment(&raw[indent..]).trim_end();
            let directive =
                text.starts_with("---") || text.starts_with("...") || text.starts_with('%');
            (!text.is_empty() && !directive).then(|| Line {
                number: i + 1,
                indent,
                text: text.to_string(),
            })
        })
        .collect()
}

/// Cuts a `#` comment, which starts a line or follows a blank outside quotes.
fn strip_comment(s: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            // A quote only opens a quoted scalar where a scalar can begin, not in `it's`.
            None if (c == '"' || c == '\'') && " \t:[{,-".contains(prev) => quote = Some(c),
            None if c == '#' && (prev == ' ' || prev == '\t') => return &s[..i],
            None => {}
        }
        prev = c;
    }
    s
}

fn is_seq_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// Splits `key: rest` (plain or quoted key) into the key and the trimmed rest.
fn split_key(text: &str) -> Option<(String, &str)> {
    let first = text.chars().next()?;
    let (key, after) = if first == '"' || first == '\'' {
        let end = text[1..].find(first)? + 1;
        (text[1..end].to_string(), &text[end + 1..])
    } else {
        if "[{&*!|>".contains(first) {
            return None;
        }
        let colon = text
            .char_indices()
            .find(|&(i, c)| {
                c == ':'
                    && !matches!(text[i + 1..].chars().next(), Some(n) if n != ' ' && n != '\t')
            })?
            .0;
        (text[..colon].trim_end().to_string(), &text[colon..])
    };
    let rest = after.trim_start().strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    Some((key, rest.trim()))
}

fn parse_node(lines: &mut [Line], pos: &mut usize, indent: usize, depth: usize) -> Node {
    let Some(line) = lines.get(*pos) else {
        return Node::Opaque;
    };
    if depth > MAX_DEPTH {
        *pos += 1;
        skip_deeper(lines, pos, indent);
        return Node::Opaque;
    }
    if is_seq_item(&line.text) {
        parse_seq(lines, pos, indent, depth)
    } else if split_key(&line.text).is_some() {
        parse_map(lines, pos, indent, depth)
    } else {
        *pos += 1;
        skip_deeper(lines, pos, indent);
        Node::Opaque
    }
}

fn parse_seq(lines: &mut [Line], pos: &mut usize, indent: usize, depth: usize) -> Node {
    let mut items = Vec::new();
    while let Some(line) = lines.get_mut(*pos) {
        if line.indent != indent || !is_seq_item(&line.text) {
            break;
        }
        let number = line.number;
        let rest = line.text[1..].trim_start();
        let value = if rest.is_empty() {
            *pos += 1;
            match lines.get(*pos) {
                Some(next) if next.indent > indent => {
                    let child_indent = next.indent;
                    parse_node(lines, pos, child_indent, depth + 1)
                }
                _ => Node::Opaque,
            }
        } else {
            // `- name: p0` opens a mapping whose keys sit at the column after the dash:
            // rewrite the line to start there and parse it like any other node.
            let child_indent = indent + line.text.len() - rest.len();
            line.text = rest.to_string();
            line.indent = child_indent;
            parse_node(lines, pos, child_indent, depth + 1)
        };
        skip_deeper(lines, pos, indent);
        items.push((number, value));
    }
    Node::Seq(items)
}

fn parse_map(lines: &mut [Line], pos: &mut usize, indent: usize, depth: usize) -> Node {
    let mut entries = Vec::new();
    while let Some(line) = lines.get(*pos) {
        if line.indent != indent {
            break;
        }
        let Some((key, rest)) = split_key(&line.text) else {
            break;
        };
        let number = line.number;
        let inline = !rest.is_empty();
        *pos += 1;
        let value = match lines.get(*pos) {
            Some(next)
                if !inline
                    && (next.indent > indent
                        || (next.indent == indent && is_seq_item(&next.text))) =>
            {
                let child_indent = next.indent;
                parse_node(lines, pos, child_indent, depth + 1)
            }
            _ => Node::Opaque,
        };
        skip_deeper(lines, pos, indent);
        entries.push(Entry {
            key,
            line: number,
            value,
        });
    }
    Node::Map(entries)
}

/// Skips continuation lines (multi-line scalars and flow collections) indented past `indent`.
fn skip_deeper(lines: &[Line], pos: &mut usize, indent: usize) {
    while lines.get(*pos).is_some_and(|l| l.indent > indent) {
        *pos += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# comment: with colon
eal: [\"--no-pci\"]   # trailing
ports:
  - name: p0
    device: \"net_af_packet0,iface=r0\"

  - name: p1   # c
    device: 'it''s # not a comment'
    mtu: 1500
interfaces:
- name: if0
  port: p0
  address: 10.0.1.1/24
routes:
  -
    group: 239.1.1.1
    oifs:
      - interface: if1
        ttl_threshold: 4
      - {interface: if2}
    iif: if0
  - group: 239.2.2.2
    oifs: [
      a, b]
    iif: |
      text
      - not: an item
\"workers\": [1, 2]
";

    #[test]
    fn parses_paths() {
        assert_eq!(
            parse_path("routes[1].oifs[0].interface"),
            vec![
                Segment::Key("routes".into()),
                Segment::Index(1),
                Segment::Key("oifs".into()),
                Segment::Index(0),
                Segment::Key("interface".into()),
            ]
        );
        assert_eq!(
            parse_path("a[0][2]"),
            vec![
                Segment::Key("a".into()),
                Segment::Index(0),
                Segment::Index(2)
            ]
        );
        assert_eq!(parse_path(""), vec![]);
    }

    #[test]
    fn finds_block_paths() {
        let at = |p| line_of(TEXT, p);
        assert_eq!(at("eal"), Some(2));
        assert_eq!(at("ports"), Some(3));
        assert_eq!(at("ports[0]"), Some(4));
        assert_eq!(at("ports[0].name"), Some(4));
        assert_eq!(at("ports[0].device"), Some(5));
        assert_eq!(at("ports[1]"), Some(7));
        assert_eq!(at("ports[1].device"), Some(8));
        assert_eq!(at("ports[1].mtu"), Some(9));
        assert_eq!(at("interfaces[0].port"), Some(12));
        assert_eq!(at("interfaces[0].address"), Some(13));
        assert_eq!(at("routes[0]"), Some(15));
        assert_eq!(at("routes[0].group"), Some(16));
        assert_eq!(at("routes[0].oifs[0].ttl_threshold"), Some(19));
        assert_eq!(at("routes[0].iif"), Some(21));
        assert_eq!(at("routes[1].iif"), Some(25));
        assert_eq!(at("workers"), Some(28));
    }

    #[test]
    fn falls_back_to_the_deepest_line_found() {
        let at = |p| line_of(TEXT, p);
        // Inside flow collections: the line of the holding key or item.
        assert_eq!(at("eal[0]"), Some(2));
        assert_eq!(at("workers[1]"), Some(28));
        assert_eq!(at("routes[0].oifs[1].interface"), Some(20));
        assert_eq!(at("routes[1].oifs[1]"), Some(23));
        // Missing parts.
        assert_eq!(at("ports[7].name"), Some(3));
        assert_eq!(at("ports[1].rx_queues"), Some(7));
        assert_eq!(at("nothing"), None);
        assert_eq!(line_of("", "ports"), None);
        assert_eq!(line_of("# only a comment\n", "ports"), None);
    }

    #[test]
    fn survives_odd_text() {
        for text in [
            "- - - a",
            ":",
            "a:\n\tb: c",
            "a: [\n",
            "'unterminated",
            "- \n-",
            "a:\n  - b\n c: d",
        ] {
            let _ = line_of(text, "a[0].b");
        }
        let deep = "- ".repeat(500) + "a";
        assert_eq!(line_of(&deep, "[0][0]"), Some(1));
        assert_eq!(line_of("---\nports:\n- a\n", "ports[0]"), Some(3));
    }
}
