//! Scoring a pair: names aligned token by token whatever their order, each pair of tokens
//! matched exactly, by sound, by spelling (typos), as an initial, an abbreviation or a split
//! or joined word; tokens only one side has counted against the match, lightly for the
//! longer name (a missing middle name) and fully for the shorter (a different given name).
//! Date of birth and nationality then support or contradict what the names say, but never
//! make a match on their own. Every score comes with its explanation.

use std::fmt::Write as _;

use serde::Serialize;

use crate::names::{Form, Role, Token, forms};
use crate::variants::Variants;
use crate::{PartialDate, Schema, Subject};

/// The score at and above which a pair counts as a possible match.
pub const THRESHOLD: f32 = 0.76;

/// A subject with its names reduced to tokens once, for many comparisons.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Person or entity.
    pub schema: Schema,
    /// Every Latin form of every name, with the index of the name it came from.
    pub forms: Vec<(usize, Form)>,
    /// Dates of birth.
    pub birth_dates: Vec<PartialDate>,
    /// Nationalities, ISO alpha-2 upper case.
    pub nationalities: Vec<String>,
}

impl Prepared {
    /// Tokenises every name of the subject.
    pub fn new(subject: &Subject) -> Self {
        Self::with_variants(subject, None)
    }

    /// Tokenises every name of the subject, marking each name token with the groups of
    /// known spellings it belongs to.
    pub fn with_variants(subject: &Subject, variants: Option<&Variants>) -> Self {
        let mut all: Vec<(usize, Form)> = Vec::new();
        for (i, name) in subject.names.iter().enumerate() {
            // "Al-Qa'ida/Islamic Army": two names in one.
            let parts = name.split('/').filter(|p| !p.trim().is_empty());
            for part in std::iter::once(name.as_str()).chain(parts.filter(|_| name.contains('/'))) {
                for form in forms(part, subject.schema) {
                    if !all.iter().any(|(_, f)| *f == form) {
                        all.push((i, form));
                    }
                }
            }
        }
        if let Some(v) = variants {
            for (_, form) in &mut all {
                for t in &mut form.tokens {
                    if t.role == Role::Name {
                        t.groups = v.groups(&t.text).to_vec();
                    }
                }
            }
        }
        Prepared {
            schema: subject.schema,
            forms: all,
            birth_dates: subject.birth_dates.clone(),
            nationalities: subject.nationalities.clone(),
        }
    }
}

/// The outcome of comparing two subjects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// 0 (nothing in common) to 1 (the same).
    pub score: f32,
    /// Whether the score reaches [`THRESHOLD`].
    pub matched: bool,
    /// Which parts matched, how, and what contradicted.
    pub explanation: String,
}

/// Compares two subjects: the best-matching pair of names, then dates of birth and
/// nationalities as evidence for or against.
pub fn compare(query: &Prepared, candidate: &Prepared) -> Comparison {
    let schema = if query.schema == Schema::Person && candidate.schema == Schema::Person {
        Schema::Person
    } else {
        Schema::Entity
    };
    let mut best: Option<NameMatch> = None;
    for (_, a) in &query.forms {
        for (_, b) in &candidate.forms {
            let m = compare_forms(a, b, schema);
            if best.as_ref().is_none_or(|x| m.score > x.score) {
                best = Some(m);
            }
        }
    }
    let Some(names) = best else {
        return Comparison { score: 0.0, matched: false, explanation: "no comparable name".into() };
    };
    let mut score = names.score;
    let mut explanation = names.explanation;
    if query.schema != candidate.schema {
        score *= 0.9;
        explanation.push_str("; one is a person, the other not (×0.9)");
    }
    match dates(&query.birth_dates, &candidate.birth_dates) {
        DateEvidence::Unknown => {}
        DateEvidence::Same(d) if names.score >= 0.7 => {
            score = (score + 0.05).min(1.0);
            let _ = write!(explanation, "; date of birth {d} on both (+0.05)");
        }
        DateEvidence::Same(d) => {
            let _ = write!(explanation, "; date of birth {d} on both, but the names differ too much for it to count");
        }
        DateEvidence::Close(a, b) => {
            score *= 0.85;
            let _ = write!(
                explanation,
                "; dates of birth {a} and {b} are close, not the same (a typo or an estimate? ×0.85)"
            );
        }
        DateEvidence::Different(a, b) => {
            score *= 0.7;
            let _ = write!(explanation, "; dates of birth differ: {a} and {b} (×0.7)");
        }
    }
    if !query.nationalities.is_empty() && !candidate.nationalities.is_empty() {
        if let Some(c) = query.nationalities.iter().find(|c| candidate.nationalities.contains(c)) {
            if names.score >= 0.7 {
                score = (score + 0.02).min(1.0);
                let _ = write!(explanation, "; nationality {c} on both (+0.02)");
            }
        } else {
            score *= 0.95;
            let _ = write!(
                explanation,
                "; nationalities differ: {} and {} (×0.95)",
                query.nationalities.join("/"),
                candidate.nationalities.join("/")
            );
        }
    }
    let _ = write!(explanation, "; score {score:.2}");
    Comparison { score, matched: score >= THRESHOLD, explanation }
}

enum DateEvidence {
    Unknown,
    Same(PartialDate),
    Close(PartialDate, PartialDate),
    Different(PartialDate, PartialDate),
}

/// The strongest date evidence: any date in agreement (to the precision both know), else
/// any within a year or a day/month swap, else different.
fn dates(a: &[PartialDate], b: &[PartialDate]) -> DateEvidence {
    if a.is_empty() || b.is_empty() {
        return DateEvidence::Unknown;
    }
    let agree = |x: &PartialDate, y: &PartialDate| {
        x.year == y.year
            && (x.month.is_none() || y.month.is_none() || x.month == y.month)
            && (x.day.is_none() || y.day.is_none() || x.day == y.day)
    };
    let close = |x: &PartialDate, y: &PartialDate| {
        let swapped = x.year == y.year && x.month.is_some() && x.month == y.day && x.day == y.month;
        let one_field = [x.year == y.year, x.month == y.month, x.day == y.day].iter().filter(|s| **s).count() >= 2;
        swapped || one_field || (x.year - y.year).abs() <= 1 && (x.month.is_none() || y.month.is_none())
    };
    for x in a {
        for y in b {
            if agree(x, y) {
                return DateEvidence::Same(if x.day.is_some() || x.month.is_some() { *x } else { *y });
            }
        }
    }
    for x in a {
        for y in b {
            if close(x, y) {
                return DateEvidence::Close(*x, *y);
            }
        }
    }
    DateEvidence::Different(a[0], b[0])
}

/// How two tokens matched.
#[derive(Debug, Clone, Copy, PartialEq)]
enum How {
    Exact,
    Sound,
    Spelling,
    Initial,
    Abbreviation,
    Reversed,
    Nickname,
    Feminine,
    Known,
}

impl How {
    fn word(self) -> &'static str {
        match self {
            How::Exact => "=",
            How::Sound => "sounds like",
            How::Spelling => "spelled like",
            How::Initial => "initial of",
            How::Abbreviation => "abbreviates",
            How::Reversed => "reversed",
            How::Nickname => "is a short form of",
            How::Feminine => "is the feminine form of",
            How::Known => "is a known spelling of",
        }
    }
}

/// Edits tolerated in a token of this length.
fn tolerated(len: usize) -> usize {
    match len {
        0..=2 => 0,
        3..=5 => 1,
        6..=9 => 2,
        _ => 3,
    }
}

/// Optimal string alignment distance (Levenshtein with adjacent transpositions), over
/// ASCII bytes, giving up (returning `limit + 1`) once the distance exceeds `limit`.
fn distance(a: &[u8], b: &[u8], limit: usize) -> usize {
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let n = b.len();
    let mut prev2: Vec<usize> = vec![0; n + 1];
    let mut prev: Vec<usize> = (0..=n).collect();
    let mut cur: Vec<usize> = vec![0; n + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=n {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > limit {
            return limit + 1;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[n]
}

/// Whether two spellings are at most `edits` apart.
pub(crate) fn within(a: &str, b: &str, edits: usize) -> bool {
    distance(a.as_bytes(), b.as_bytes(), edits) <= edits
}

/// Similarity of two spellings within the tolerated number of edits, else `None`.
fn spelling(a: &str, b: &str) -> Option<f32> {
    let len = a.len().max(b.len());
    // Beyond one edit, only where the name starts alike: "Scholz"/"Schulze", but not
    // "Erik"/"Henrik".
    let same_start = a.len() >= 2 && b.len() >= 2 && a.as_bytes()[..2] == b.as_bytes()[..2];
    let limit = if same_start { tolerated(len) } else { tolerated(len).min(1) };
    if limit == 0 {
        return None;
    }
    let d = distance(a.as_bytes(), b.as_bytes(), limit);
    #[allow(clippy::cast_precision_loss)]
    (d <= limit).then(|| 1.0 - d as f32 / len as f32)
}

/// Endings that make a feminine family name, or a patronymic, of the masculine (Czech and
/// Slovak -ová, Polish -owa and -ówna, East Slavic -ova, -eva, -ina, -ovna, Baltic -ienė,
/// -aitė, -ytė, -utė), as they read once marks are stripped.
const FEMININE: &[&str] = &[
    "a", "ova", "eva", "owa", "ewa", "ina", "yna", "owna", "ovna", "evna", "ewna", "ivna", "iene", "aite", "yte", "ute",
];

/// Whether `long` is `short` in its feminine form: "Novak" and "Novakova", "Dean" and
/// "Deanova", or "Prochazka" and "Prochazkova".
fn feminine(short: &str, long: &str) -> bool {
    if short.len() < 4 || long.len() <= short.len() {
        return false;
    }
    if let Some(ending) = long.strip_prefix(short) {
        return FEMININE.contains(&ending);
    }
    // A closing vowel gives way to the ending: Procházk(a) → Procházk(ová).
    let stem = &short[..short.len() - 1];
    matches!(short.as_bytes()[short.len() - 1], b'a' | b'o' | b'e' | b'y' | b'i')
        && long.strip_prefix(stem).is_some_and(|ending| ending.len() > 1 && FEMININE.contains(&ending))
}

/// Whether `short` is `long` with most letters left out, keeping the first ("intl" for
/// "international").
fn abbreviates(short: &str, long: &str) -> bool {
    if short.len() < 3 || short.len() * 2 > long.len() || short.as_bytes()[0] != long.as_bytes()[0] {
        return false;
    }
    let mut rest = long.bytes();
    short.bytes().all(|c| rest.any(|l| l == c))
}

/// How well two tokens match, if at all.
fn token_match(a: &Token, b: &Token, schema: Schema) -> Option<(f32, How)> {
    if a.text == b.text {
        return Some((1.0, How::Exact));
    }
    match (a.role, b.role) {
        (Role::Initial, Role::Name) | (Role::Name, Role::Initial) => {
            return (b.text.as_bytes()[0] == a.text.as_bytes()[0]).then_some((0.85, How::Initial));
        }
        (Role::Initial | Role::Number | Role::LegalForm, _) | (_, Role::Initial | Role::Number | Role::LegalForm) => {
            return None;
        }
        _ => {}
    }
    let mut best: Option<(f32, How)> = None;
    let mut consider = |s: f32, how: How| {
        if best.is_none_or(|(b, _)| s > b) {
            best = Some((s, how));
        }
    };
    if a.key == b.key && a.key.len() >= 2 {
        // A short key says little: "Eco" and "Okoya" both sound "aka".
        consider(if a.key.len() >= 4 { 0.92 } else { 0.8 }, How::Sound);
    }
    if crate::variants::share(&a.groups, &b.groups) {
        consider(0.9, How::Known);
    }
    if schema == Schema::Person && crate::names::nickname_of(a, b) {
        consider(0.85, How::Nickname);
    }
    if (a.abjad || b.abjad) && a.abjad != b.abjad {
        let (ca, cb) = (crate::names::consonants(&a.text), crate::names::consonants(&b.text));
        if ca.len() >= 2 && ca == cb {
            consider(0.85, How::Sound);
        }
    }
    if let Some(s) = spelling(&a.text, &b.text) {
        consider(s, How::Spelling);
    }
    if schema == Schema::Person {
        let (short, long) = if a.text.len() < b.text.len() { (a, b) } else { (b, a) };
        if feminine(&short.text, &long.text) {
            consider(0.88, How::Feminine);
        }
    }
    if schema == Schema::Entity && (abbreviates(&a.text, &b.text) || abbreviates(&b.text, &a.text)) {
        consider(0.8, How::Abbreviation);
    }
    if schema == Schema::Person && a.text.len() >= 4 && a.text.bytes().rev().eq(b.text.bytes()) {
        consider(0.8, How::Reversed);
    }
    best
}

/// The outcome of comparing two forms of names.
struct NameMatch {
    score: f32,
    explanation: String,
}

/// A link between tokens of the two sides: a run of tokens on each side (one token, or
/// several written together on the other side).
struct Link {
    a: Vec<usize>,
    b: Vec<usize>,
    sim: f32,
    how: How,
}

impl Link {
    /// A link found looking from one side: `mine` on that side, `theirs` on the other;
    /// `swapped` when that side is the second form.
    fn oriented(swapped: bool, mine: Vec<usize>, theirs: Vec<usize>, sim: f32, how: How) -> Self {
        if swapped { Link { a: theirs, b: mine, sim, how } } else { Link { a: mine, b: theirs, sim, how } }
    }
}

/// Aligns the tokens of two forms and scores the alignment.
fn compare_forms(a: &Form, b: &Form, schema: Schema) -> NameMatch {
    let (ta, tb) = (&a.tokens, &b.tokens);
    let mut pairs: Vec<(f32, usize, usize, How)> = Vec::new();
    for (i, x) in ta.iter().enumerate() {
        for (j, y) in tb.iter().enumerate() {
            if let Some((s, how)) = token_match(x, y, schema) {
                pairs.push((s, i, j, how));
            }
        }
    }
    // Strongest first; between equals, the token pair that keeps written order.
    pairs.sort_by(|p, q| q.0.total_cmp(&p.0).then((p.1.abs_diff(p.2)).cmp(&q.1.abs_diff(q.2))));
    let mut used_a = vec![false; ta.len()];
    let mut used_b = vec![false; tb.len()];
    let mut links: Vec<Link> = Vec::new();
    for (s, i, j, how) in pairs {
        if !used_a[i] && !used_b[j] {
            used_a[i] = true;
            used_b[j] = true;
            links.push(Link { a: vec![i], b: vec![j], sim: s, how });
        }
    }
    // Words split on one side and written together on the other ("patr ushev", "alisherusmanov").
    join_runs(ta, &mut used_a, tb, &mut used_b, &mut links, false, schema);
    join_runs(tb, &mut used_b, ta, &mut used_a, &mut links, true, schema);
    if schema == Schema::Entity {
        acronyms(ta, &mut used_a, tb, &mut used_b, &mut links, false);
        acronyms(tb, &mut used_b, ta, &mut used_a, &mut links, true);
    }

    let substance = |t: &[Token]| t.iter().filter(|t| matches!(t.role, Role::Name | Role::Number)).count();
    let (na, nb) = (substance(ta), substance(tb));
    // Tokens only the longer name has are forgiven in part: a middle name or patronymic
    // left out. For companies an extra word usually names another company.
    let spare = if schema == Schema::Person { 0.25 } else { 0.6 };
    let factor_a = if na > nb { spare } else { 1.0 };
    let factor_b = if nb > na { spare } else { 1.0 };

    let mut num = 0.0f32;
    let mut den = 0.0f32;
    let mut substantive_link = false;
    for l in &links {
        let w: f32 =
            l.a.iter().map(|&i| ta[i].weight()).sum::<f32>() + l.b.iter().map(|&j| tb[j].weight()).sum::<f32>();
        num += l.sim * w;
        den += w;
        substantive_link |= l.a.iter().any(|&i| matches!(ta[i].role, Role::Name | Role::Number))
            && l.b.iter().any(|&j| matches!(tb[j].role, Role::Name | Role::Number))
            && l.how != How::Initial;
    }
    let mut only_a: Vec<&str> = Vec::new();
    let mut only_b: Vec<&str> = Vec::new();
    for (i, t) in ta.iter().enumerate() {
        if !used_a[i] {
            den += t.weight() * factor_a;
            only_a.push(&t.text);
        }
    }
    for (j, t) in tb.iter().enumerate() {
        if !used_b[j] {
            den += t.weight() * factor_b;
            only_b.push(&t.text);
        }
    }
    // Two companies with different legal forms (an AG and a GmbH) are different companies.
    let forms_of =
        |t: &[Token]| t.iter().filter(|t| t.role == Role::LegalForm).map(|t| t.text.clone()).collect::<Vec<_>>();
    let (fa, fb) = (forms_of(ta), forms_of(tb));
    let forms_conflict = !fa.is_empty() && !fb.is_empty() && !fa.iter().any(|f| fb.contains(f));
    let mut score = if den > 0.0 && substantive_link { num / den } else { 0.0 };
    if forms_conflict {
        score *= 0.8;
    }
    // A name on each side that the other lacks: a different given or family name.
    let conflict = ta.iter().enumerate().any(|(i, t)| !used_a[i] && t.role == Role::Name)
        && tb.iter().enumerate().any(|(j, t)| !used_b[j] && t.role == Role::Name);
    if conflict {
        score *= 0.8;
    }

    let mut explanation = format!("names \u{201c}{}\u{201d} and \u{201c}{}\u{201d}: ", a.text(), b.text());
    links.sort_by_key(|l| l.a[0]);
    for (k, l) in links.iter().enumerate() {
        if k > 0 {
            explanation.push_str(", ");
        }
        let side = |idx: &[usize], t: &[Token]| idx.iter().map(|&i| t[i].text.as_str()).collect::<Vec<_>>().join(" ");
        let _ = write!(explanation, "{} {} {}", side(&l.a, ta), l.how.word(), side(&l.b, tb));
        if l.how != How::Exact {
            let _ = write!(explanation, " ({:.2})", l.sim);
        }
    }
    if !only_a.is_empty() {
        let _ = write!(explanation, "; only in the first: {}", only_a.join(" "));
    }
    if !only_b.is_empty() {
        let _ = write!(explanation, "; only in the second: {}", only_b.join(" "));
    }
    if forms_conflict {
        let _ = write!(explanation, "; legal forms differ: {} and {} (×0.8)", fa.join("/"), fb.join("/"));
    }
    if conflict {
        explanation.push_str("; each has a name the other lacks (×0.8)");
    }
    if !substantive_link {
        explanation.push_str("; no name in common beyond initials and particles");
    }
    let _ = write!(explanation, " (names {score:.2})");
    NameMatch { score, explanation }
}

/// Links runs of two or three adjacent unmatched tokens of `ta`, written together, to an
/// unmatched token of `tb`.
fn join_runs(
    ta: &[Token],
    used_a: &mut [bool],
    tb: &[Token],
    used_b: &mut [bool],
    links: &mut Vec<Link>,
    swapped: bool,
    schema: Schema,
) {
    for run in [3usize, 2] {
        let mut i = 0;
        while i + run <= ta.len() {
            if (i..i + run).any(|k| used_a[k]) || ta[i].role == Role::LegalForm {
                i += 1;
                continue;
            }
            let joined: String = ta[i..i + run].iter().map(|t| t.text.as_str()).collect();
            let abjad = ta[i].abjad;
            let token = Token {
                key: crate::names::phonetic_key(&joined),
                text: joined,
                role: Role::Name,
                abjad,
                groups: Vec::new(),
            };
            let found =
                tb.iter().enumerate().filter(|(j, t)| !used_b[*j] && t.role == Role::Name).find_map(|(j, t)| {
                    token_match(&token, t, schema).filter(|(_, how)| *how != How::Reversed).map(|m| (j, m))
                });
            if let Some((j, (sim, how))) = found {
                for flag in &mut used_a[i..i + run] {
                    *flag = true;
                }
                used_b[j] = true;
                let run_idx: Vec<usize> = (i..i + run).collect();
                links.push(Link::oriented(swapped, run_idx, vec![j], sim, how));
                i += run;
            } else {
                i += 1;
            }
        }
    }
}

/// Links an unmatched token of `ta` that spells the initials of `tb`'s unmatched names
/// ("pla" for "people's liberation army").
fn acronyms(
    ta: &[Token],
    used_a: &mut [bool],
    tb: &[Token],
    used_b: &mut [bool],
    links: &mut Vec<Link>,
    swapped: bool,
) {
    let rest: Vec<usize> = (0..tb.len()).filter(|&j| !used_b[j] && tb[j].role == Role::Name).collect();
    if rest.len() < 2 {
        return;
    }
    let initials: String = rest.iter().map(|&j| tb[j].text.as_bytes()[0] as char).collect();
    for (i, t) in ta.iter().enumerate() {
        if !used_a[i] && t.role == Role::Name && t.text == initials {
            used_a[i] = true;
            for &j in &rest {
                used_b[j] = true;
            }
            links.push(Link::oriented(swapped, vec![i], rest, 0.85, How::Abbreviation));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(names: &[&str]) -> Prepared {
        Prepared::new(&Subject { names: names.iter().map(|s| (*s).to_owned()).collect(), ..Subject::default() })
    }

    fn score(a: &str, b: &str) -> Comparison {
        compare(&person(&[a]), &person(&[b]))
    }

    #[test]
    fn distance_counts_transpositions_once() {
        assert_eq!(distance(b"lukashenko", b"luakshenko", 3), 1);
        assert_eq!(distance(b"scholz", b"schulze", 3), 2);
        assert_eq!(distance(b"abc", b"xyz", 1), 2);
        assert_eq!(distance(b"", b"abc", 5), 3);
    }

    #[test]
    fn people() {
        for (a, b) in [
            ("Sergey Viktorovich Lavrov", "Sergey Lavrov"),
            ("Olaf Scholze", "Olaf Scholz"),
            ("Hans J Friedrich", "Hans Joachim Friedrich"),
            ("FridrichBuchenberg", "Friedrich Buchenberg"),
            ("Nikolai Patr ushev", "Nikolai Platonovich Patrushev"),
            ("bin Salman Mohammed", "Mohammed bin Salman"),
            ("N. Nazarbayev", "Nursultan Nazarbayev"),
            ("Jana Novakova", "Jana Novak"),
            ("Petra Prochazkova", "Petra Prochazka"),
            ("Irina Lejmanowiczowna", "Irina Lejmanowicz"),
            ("Christofer Barto", "Барто Кристофер"),
            ("Kiichiro Szuwar", "Kiichirou Shuvar"),
        ] {
            let c = score(a, b);
            assert!(c.matched, "{a} / {b}: {}", c.explanation);
        }
        for (a, b) in [
            ("Rami Makhlouf", "Ihab Makhlouf"),
            ("Octavian Scholz", "Olaf Scholz"),
            ("Sergey Ivanevich Lavrov", "Sergey Viktorovich Lavrov"),
            ("Olga Barynova", "Oleg Baranov"),
            ("N.N.", "Nursultan Nazarbayev"),
            ("A. Nazarbayev", "Nursultan Nazarbayev"),
            ("Thomas A. Lind", "Thomas Lindemann"),
        ] {
            let c = score(a, b);
            assert!(!c.matched, "{a} / {b}: {}", c.explanation);
        }
    }

    #[test]
    fn birth_dates_support_and_contradict_but_never_match_alone() {
        let born =
            |names: &[&str], d: &str| Prepared { birth_dates: vec![PartialDate::parse(d).unwrap()], ..person(names) };
        let same = compare(&born(&["Ivan Petrenko"], "1990-05-01"), &born(&["Ivan Petrenko"], "1990-05-01"));
        let other = compare(&born(&["Ivan Petrenko"], "1990-05-01"), &born(&["Ivan Petrenko"], "1971-11-23"));
        assert!(same.score > other.score && same.matched && !other.matched, "{}", other.explanation);
        let unrelated = compare(&born(&["Ivan Petrenko"], "1990-05-01"), &born(&["John Smith"], "1990-05-01"));
        assert!(!unrelated.matched, "{}", unrelated.explanation);
        let swapped = compare(&born(&["Ivan Petrenko"], "1990-05-01"), &born(&["Ivan Petrenko"], "1990-01-05"));
        assert!(swapped.matched && swapped.explanation.contains("close"), "{}", swapped.explanation);
        // A close date is not the same date: it costs a little, so only names that agree
        // well carry the pair.
        assert!(swapped.score < same.score && swapped.score < 0.9, "{}", swapped.explanation);
    }

    #[test]
    fn explanations_say_how() {
        let c = score("Sergei Lavrov", "Sergey Viktorovich Lavrov");
        assert!(c.explanation.contains("sergei sounds like sergey"), "{}", c.explanation);
        assert!(c.explanation.contains("only in the second: viktorovich"), "{}", c.explanation);
    }
}
