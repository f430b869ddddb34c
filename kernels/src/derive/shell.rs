//! Splitting the shell command lines `make -n` prints into commands and words.
//!
//! Kbuild's recipes are POSIX shell: `set -e; trap ...; gcc ... -c -o x.o x.c; fixdep ...`.
//! Only quoting (`'...'`, `"..."`, `\`) and the separators `;`, `&&`, `||`, `|`, `{`, `}` matter
//! for finding the compile command and the `modules.order` lists in them; no crate parses shell
//! into spans of the original text, which the compile stage re-runs verbatim.

/// One simple command of a line: its words (unquoted) and its exact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command<'a> {
    pub words: Vec<String>,
    pub text: &'a str,
}

/// The simple commands of a shell line, split at unquoted `;`, `&`, `|` and newlines.
/// Braces of a group (`{ ...; }`) are words of their own.
pub(crate) fn commands(line: &str) -> Vec<Command<'_>> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut start = 0;
    let mut i = 0;
    let finish_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' => {
                in_word = true;
                let end = line[i + 1..].find('\'').map_or(bytes.len(), |e| i + 1 + e);
                word.push_str(&line[i + 1..end]);
                i = end + 1;
                continue;
            }
            b'"' => {
                in_word = true;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\'
                        && i + 1 < bytes.len()
                        && matches!(bytes[i + 1], b'"' | b'\\' | b'$' | b'`')
                    {
                        i += 1;
                    }
                    let ch_len = utf8_len(bytes[i]);
                    word.push_str(&line[i..(i + ch_len).min(bytes.len())]);
                    i += ch_len;
                }
                i += 1;
                continue;
            }
            b'\\' => {
                in_word = true;
                if i + 1 < bytes.len() {
                    let ch_len = utf8_len(bytes[i + 1]);
                    word.push_str(&line[i + 1..(i + 1 + ch_len).min(bytes.len())]);
                    i += 1 + ch_len;
                } else {
                    i += 1;
                }
                continue;
            }
            b';' | b'&' | b'|' | b'\n' => {
                finish_word(&mut word, &mut in_word, &mut words);
                let text = line[start..i].trim();
                if !words.is_empty() {
                    out.push(Command {
                        words: std::mem::take(&mut words),
                        text,
                    });
                }
                // `&&` and `||` are one separator.
                if i + 1 < bytes.len() && bytes[i + 1] == c && c != b';' && c != b'\n' {
                    i += 1;
                }
                start = i + 1;
            }
            b' ' | b'\t' => finish_word(&mut word, &mut in_word, &mut words),
            _ => {
                in_word = true;
                let ch_len = utf8_len(c);
                word.push_str(&line[i..(i + ch_len).min(bytes.len())]);
                i += ch_len;
                continue;
            }
        }
        i += 1;
    }
    finish_word(&mut word, &mut in_word, &mut words);
    if !words.is_empty() {
        out.push(Command {
            words,
            text: line[start.min(line.len())..].trim(),
        });
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_kbuild_recipe_and_unquotes() {
        let line = r#"set -e;  echo '  CC [M]  a.o'; gcc -DKBUILD_MODNAME='"ahci"' -c -o a.o a.c   ; fixdep a.d a.o 'gcc -DX='\''"y"'\'' -c' > .a.o.cmd"#;
        let cmds = commands(line);
        assert_eq!(cmds.len(), 4);
        assert_eq!(cmds[0].words, ["set", "-e"]);
        assert_eq!(cmds[1].words, ["echo", "  CC [M]  a.o"]);
        assert_eq!(
            cmds[2].words,
            ["gcc", "-DKBUILD_MODNAME=\"ahci\"", "-c", "-o", "a.o", "a.c"]
        );
        assert_eq!(
            cmds[2].text,
            r#"gcc -DKBUILD_MODNAME='"ahci"' -c -o a.o a.c"#
        );
        assert_eq!(cmds[3].words[3], "gcc -DX='\"y\"' -c");
    }

    #[test]
    fn groups_and_double_separators() {
        let cmds = commands(
            "{   echo a/x.o;   cat b/modules.order;  :; } > modules.order && true || false",
        );
        let words: Vec<Vec<String>> = cmds.into_iter().map(|c| c.words).collect();
        assert_eq!(
            words,
            [
                vec!["{", "echo", "a/x.o"],
                vec!["cat", "b/modules.order"],
                vec![":"],
                vec!["}", ">", "modules.order"],
                vec!["true"],
                vec!["false"],
            ]
        );
    }

    #[test]
    fn unterminated_quotes_do_not_panic() {
        for s in ["'abc", "\"abc\\", "a\\", "\"", "'", "é'ü", "\"é\\é\""] {
            let _ = commands(s);
        }
    }
}
