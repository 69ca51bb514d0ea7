//! Results as the REPL prints them: the value in a readable form (one line
//! when it fits, else one element per line) and its type.

use crate::engine::process::Process;
use rhai::{Dynamic, Map};

/// Wider values are broken into one element per line.
const WIDTH: usize = 100;

/// The script type of a value: int, string, map, Process...
pub fn type_name(v: &Dynamic) -> String {
    crate::engine::opts::type_name(v).to_string()
}

/// `=> VALUE : TYPE`, or for a Process its description.
pub fn result(v: &Dynamic) -> String {
    if let Some(p) = v.clone().try_cast::<Process>() {
        return format!("=> {}", p.describe());
    }
    let mut out = String::from("=> ");
    write(&mut out, v, 3, 0);
    out.push_str(" : ");
    out.push_str(&type_name(v));
    if let Some(n) = v.read_lock::<rhai::Array>().map(|a| a.len()) {
        out.push_str(&format!(" ({n})"));
    }
    out
}

/// The value on one line, however long.
pub fn compact(v: &Dynamic) -> String {
    if let Some(p) = v.clone().try_cast::<Process>() {
        return p.describe();
    }
    if v.is_string() {
        return format!("{:?}", v.clone().into_string().unwrap_or_default());
    }
    if let Some(a) = v.read_lock::<rhai::Array>() {
        let items: Vec<String> = a.iter().map(compact).collect();
        return format!("[{}]", items.join(", "));
    }
    if let Some(m) = v.read_lock::<Map>() {
        let items: Vec<String> = m
            .iter()
            .map(|(k, v)| format!("{}: {}", key(k), compact(v)))
            .collect();
        return format!("#{{{}}}", items.join(", "));
    }
    if v.is_char() {
        return format!("{:?}", v.as_char().unwrap_or(' '));
    }
    if v.is_unit() {
        return "()".into();
    }
    v.to_string()
}

/// A map key as Rhai would accept it back: bare when it is an identifier.
fn key(k: &str) -> String {
    let ident = k
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_alphanumeric() || c == '_');
    if ident {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

/// Appends `v`, which starts at column `col` on a line indented by
/// `indent`, breaking arrays and maps one element per line (two more
/// spaces each level) when they do not fit.
fn write(out: &mut String, v: &Dynamic, col: usize, indent: usize) {
    let one = compact(v);
    if col + one.chars().count() <= WIDTH {
        out.push_str(&one);
        return;
    }
    let inner = indent + 2;
    let pad = " ".repeat(inner);
    let end = " ".repeat(indent);
    if let Some(a) = v.read_lock::<rhai::Array>() {
        out.push_str("[\n");
        for item in a.iter() {
            out.push_str(&pad);
            write(out, item, inner, inner);
            out.push_str(",\n");
        }
        out.push_str(&end);
        out.push(']');
    } else if let Some(m) = v.read_lock::<Map>() {
        out.push_str("#{\n");
        for (k, item) in m.iter() {
            let k = key(k);
            out.push_str(&pad);
            out.push_str(&k);
            out.push_str(": ");
            write(out, item, inner + k.len() + 2, inner);
            out.push_str(",\n");
        }
        out.push_str(&end);
        out.push('}');
    } else {
        out.push_str(&one);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_types() {
        assert_eq!(result(&Dynamic::from(3_i64)), "=> 3 : int");
        assert_eq!(result(&Dynamic::from("a\"b")), "=> \"a\\\"b\" : string");
        let mut m = Map::new();
        m.insert("code".into(), Dynamic::from(0_i64));
        m.insert("two words".into(), Dynamic::from(true));
        assert_eq!(
            result(&Dynamic::from(m)),
            "=> #{code: 0, \"two words\": true} : map"
        );
        let a: rhai::Array = (0..40).map(|i| Dynamic::from(i as i64 * 1000)).collect();
        let text = result(&Dynamic::from(a));
        assert!(text.starts_with("=> [\n  0,\n  1000,\n"), "{text}");
        assert!(text.ends_with("] : array (40)"), "{text}");
    }
}
