//! `legion bench screening`: screening against synthetic watchlists of people named from the
//! cross-script variant corpus — index build time and memory, latency per applicant on one
//! core, retrieval and match recall per kind of spelling drift, false matches, duplicate
//! applicants across missions, and the public name benchmark — beside the rate at which one
//! core scores a candidate, measured in the same run.
//!
//! The corpus groups spellings of one name (`volodymyr, vladimir, владимир, …`) but does not
//! say whether a name is a given or a family name, so a person is simply two (or three)
//! different groups: given name(s) first, family name last.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use chrono::{Datelike, NaiveDate};
use legion_screening::index::{CANDIDATES, Index};
use legion_screening::score::{Prepared, THRESHOLD, compare};
use legion_screening::variants::Variants;
use legion_screening::{Entries, Entry, PartialDate, Schema, Subject};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::bench::percentile;

const VARIANTS: &str = "names/name-variants.txt";
const NAME_BENCH: &str = "names/name-bench-nomenklatura.csv";

/// Published figures of nomenklatura 4.17.4 (`logic-v2`, threshold 0.7, one name per side) on
/// the same 826 pairs (see the data folder's README).
const PEER: (&str, f64, f64, f64, f64) = ("nomenklatura logic-v2 (published)", 0.760, 0.835, 0.796, 470.0);

/// Nationalities drawn for synthetic people.
const NATIONALITIES: &[&str] = &[
    "US", "GB", "DE", "CA", "PL", "GE", "JP", "FR", "AU", "BY", "RU", "UA", "IL", "KR", "BR", "CO", "IT", "ES", "NL",
    "SE", "NO", "DK", "FI", "LT", "LV", "EE", "CZ", "SK", "HR", "RO", "MD", "AZ", "AM", "KZ", "TR", "IN", "NZ", "IE",
    "PT", "BE",
];

/// Options of `legion bench screening`.
#[derive(Debug, clap::Args)]
pub struct ScreeningArgs {
    /// Reference data folder, holding `names/name-variants.txt` and
    /// `names/name-bench-nomenklatura.csv`.
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Watchlist sizes in people, comma-separated [default: 10000,100000,1000000].
    #[arg(long, value_delimiter = ',')]
    pub sizes: Vec<usize>,
    /// Queries per watchlist, half of them listed people under a drifted name [default: 2000].
    #[arg(long)]
    pub queries: Option<usize>,
    /// Applications in the duplicate-applicant run [default: 100000].
    #[arg(long)]
    pub applicants: Option<usize>,
    /// Smoke run: one watchlist of 10,000, 500 queries, 10,000 applicants.
    #[arg(long)]
    pub quick: bool,
    /// Skew of name popularity: the name group of rank r is drawn with weight 1/r^zipf
    /// (0: every group alike).
    #[arg(long, default_value_t = 0.8)]
    pub zipf: f64,
    /// Seed of every random choice (the same seed gives the same people and queries).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Also writes the Markdown report to this file.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Prints examples of misses and false matches, with their explanations, to stderr.
    #[arg(long)]
    pub verbose: bool,
    /// Share of the corpus's variant groups loaded as the dictionary of known spellings
    /// that indexes and scoring use: 1 all, 0 none, 0.5 a fixed half, leaving the names of
    /// the other half to the rules alone (the people are drawn from every group).
    #[arg(long, default_value_t = 1.0)]
    pub known_spellings: f64,
}

// ---------------------------------------------------------------------------------------
// The variant corpus
// ---------------------------------------------------------------------------------------

/// The writing system of a spelling, as far as this bench needs to tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
    Armenian,
    Hebrew,
    Arabic,
    Indic,
    Thai,
    Georgian,
    Hangul,
    Kana,
    Han,
    Other,
}

fn script_of_char(c: char) -> Script {
    match u32::from(c) {
        0..=0x24F | 0x1E00..=0x1EFF => Script::Latin,
        0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
        0x400..=0x52F => Script::Cyrillic,
        0x530..=0x58F => Script::Armenian,
        0x590..=0x5FF => Script::Hebrew,
        0x600..=0x6FF | 0x750..=0x77F | 0x8A0..=0x8FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arabic,
        0x900..=0xDFF => Script::Indic,
        0xE00..=0xE7F => Script::Thai,
        0x10A0..=0x10FF | 0x1C90..=0x1CBF => Script::Georgian,
        0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Script::Hangul,
        0x3040..=0x30FF | 0x31F0..=0x31FF => Script::Kana,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF => Script::Han,
        _ => Script::Other,
    }
}

/// Latin when every letter is Latin, else the script of the first letter.
fn script_of(form: &str) -> Script {
    let mut letters = form.chars().filter(|c| c.is_alphabetic());
    let first = letters.next().map_or(Script::Other, script_of_char);
    if first == Script::Latin && letters.all(|c| script_of_char(c) == Script::Latin) {
        Script::Latin
    } else if first == Script::Latin {
        Script::Other
    } else {
        first
    }
}

/// One word with letters in it: no spaces, digits or punctuation beyond `-` and `'` inside.
fn usable(form: &str) -> bool {
    !form.is_empty()
        && !form.starts_with(['-', '\''])
        && !form.ends_with(['-', '\''])
        && form.chars().any(char::is_alphabetic)
        && form.chars().all(|c| {
            c == '-'
                || c == '\''
                || !(c.is_whitespace() || c.is_numeric() || c.is_ascii_punctuation() || "・·‧।".contains(c))
        })
}

/// The spellings of one name: Latin ones first (at least one), then the others by script.
#[derive(Debug)]
struct Group {
    forms: Vec<String>,
    scripts: Vec<Script>,
    latin: usize,
}

impl Group {
    /// Spellings in a script, other than `except`.
    fn in_script(&self, script: Script, except: usize) -> Vec<usize> {
        (0..self.forms.len()).filter(|&i| i != except && self.scripts[i] == script).collect()
    }

    /// The scripts other than Latin the name is written in, each once.
    fn other_scripts(&self) -> Vec<Script> {
        let mut s: Vec<Script> = self.scripts[self.latin..].to_vec();
        s.dedup();
        s
    }
}

/// The variant corpus, with a popularity for each group.
struct Corpus {
    groups: Vec<Group>,
    /// Groups by rank of popularity (a seeded shuffle), and the cumulative weight of the ranks.
    by_rank: Vec<u32>,
    cumulative: Vec<f64>,
}

impl Corpus {
    /// Reads `form, form, … => QID` lines, keeping single-word spellings and the groups with a
    /// Latin spelling of two letters or more.
    fn parse(text: &str, zipf: f64, seed: u64) -> Self {
        let mut groups = Vec::new();
        for line in text.lines() {
            let Some((forms, _)) = line.rsplit_once(" => ") else { continue };
            let mut latin: Vec<String> = Vec::new();
            let mut other: Vec<(Script, String)> = Vec::new();
            for form in forms.split(',').map(str::trim).filter(|f| usable(f)) {
                match script_of(form) {
                    Script::Latin if form.chars().count() >= 2 => {
                        if !latin.iter().any(|f| f == form) {
                            latin.push(form.to_owned());
                        }
                    }
                    Script::Latin | Script::Other => {}
                    s => {
                        if !other.iter().any(|(_, f)| f == form) {
                            other.push((s, form.to_owned()));
                        }
                    }
                }
            }
            if latin.is_empty() {
                continue;
            }
            other.sort_by_key(|(s, _)| *s);
            let n = latin.len();
            let mut scripts = vec![Script::Latin; n];
            scripts.extend(other.iter().map(|(s, _)| *s));
            latin.extend(other.into_iter().map(|(_, f)| f));
            groups.push(Group { forms: latin, scripts, latin: n });
        }
        let mut by_rank: Vec<u32> = (0..u32::try_from(groups.len()).expect("fewer than 2^32 groups")).collect();
        by_rank.shuffle(&mut StdRng::seed_from_u64(seed ^ 0x5eed_0f4a));
        let mut total = 0.0;
        let cumulative = (1..=groups.len())
            .map(|r| {
                total += f64::from(u32::try_from(r).unwrap_or(u32::MAX)).powf(-zipf);
                total
            })
            .collect();
        Corpus { groups, by_rank, cumulative }
    }

    fn group(&self, t: Tok) -> &Group {
        &self.groups[t.group as usize]
    }

    fn form(&self, t: Tok) -> &str {
        &self.group(t).forms[usize::from(t.form)]
    }

    /// A group, popular ones more often.
    fn draw(&self, rng: &mut impl Rng) -> u32 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let u = rng.r#gen::<f64>() * total;
        let rank = self.cumulative.partition_point(|&c| c <= u).min(self.by_rank.len() - 1);
        self.by_rank[rank]
    }

    /// A group drawn by popularity, as one of its Latin spellings.
    fn draw_tok(&self, rng: &mut impl Rng, not: &[u32]) -> Tok {
        loop {
            let group = self.draw(rng);
            if !not.contains(&group) {
                let latin = self.groups[group as usize].latin;
                let form = u16::try_from(rng.gen_range(0..latin)).unwrap_or(0);
                return Tok { group, form };
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Synthetic people
// ---------------------------------------------------------------------------------------

/// A name token: a group and which of its spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tok {
    group: u32,
    form: u16,
}

/// A synthetic person: given name(s) and a family name in their main (Latin) spelling.
#[derive(Debug, Clone)]
struct Person {
    given: Vec<Tok>,
    family: Tok,
    birth: NaiveDate,
    /// Whether lists know only the year of birth.
    year_only: bool,
    nationalities: Vec<&'static str>,
}

impl Person {
    fn tokens(&self) -> impl Iterator<Item = Tok> + '_ {
        self.given.iter().copied().chain(std::iter::once(self.family))
    }

    fn listed_birth(&self) -> PartialDate {
        if self.year_only {
            PartialDate { year: self.birth.year(), month: None, day: None }
        } else {
            PartialDate::from_date(self.birth)
        }
    }
}

fn random_date(rng: &mut impl Rng, from_year: i32, to_year: i32) -> NaiveDate {
    let from = NaiveDate::from_ymd_opt(from_year, 1, 1).expect("a date");
    let to = NaiveDate::from_ymd_opt(to_year, 12, 31).expect("a date");
    from + chrono::Days::new(rng.gen_range(0..=u64::try_from((to - from).num_days()).unwrap_or(0)))
}

/// A person: two different name groups (a third, the middle name, with probability
/// `middle`), a date of birth, one or two nationalities.
fn draw_person(corpus: &Corpus, rng: &mut impl Rng, middle: f64, year_only: f64) -> Person {
    let g0 = corpus.draw_tok(rng, &[]);
    let family = corpus.draw_tok(rng, &[g0.group]);
    let mut given = vec![g0];
    if rng.gen_bool(middle) {
        given.push(corpus.draw_tok(rng, &[g0.group, family.group]));
    }
    let mut nationalities = vec![*NATIONALITIES.choose(rng).expect("nationalities")];
    if rng.gen_bool(0.2) {
        let second = *NATIONALITIES.choose(rng).expect("nationalities");
        if second != nationalities[0] {
            nationalities.push(second);
        }
    }
    Person { given, family, birth: random_date(rng, 1950, 2006), year_only: rng.gen_bool(year_only), nationalities }
}

/// First letter upper case.
fn capitalise(word: &str) -> String {
    let mut c = word.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn join<S: AsRef<str>>(words: impl IntoIterator<Item = S>) -> String {
    words.into_iter().map(|w| capitalise(w.as_ref())).collect::<Vec<_>>().join(" ")
}

fn primary_name(corpus: &Corpus, p: &Person) -> String {
    join(p.tokens().map(|t| corpus.form(t)))
}

/// Another spelling of the whole name in one script (one the family name is written in), or
/// `None` when that gives the main spelling again.
fn alias(corpus: &Corpus, p: &Person, rng: &mut impl Rng) -> Option<String> {
    let mut scripts = corpus.group(p.family).other_scripts();
    scripts.push(Script::Latin);
    let script = *scripts.choose(rng)?;
    let name = join(p.tokens().map(|t| {
        let g = corpus.group(t);
        g.in_script(script, usize::from(t.form)).choose(rng).map_or(corpus.form(t), |&i| g.forms[i].as_str())
    }));
    (name != primary_name(corpus, p)).then_some(name)
}

/// A watchlist entry for a person: the main spelling and up to three other spellings.
fn entry(corpus: &Corpus, p: &Person, id: String, rng: &mut impl Rng) -> Entry {
    let mut names = vec![primary_name(corpus, p)];
    for _ in 0..rng.gen_range(0..=3) {
        if let Some(a) = alias(corpus, p, rng)
            && !names.contains(&a)
        {
            names.push(a);
        }
    }
    Entry {
        id,
        subject: Subject {
            schema: Schema::Person,
            names,
            birth_dates: vec![p.listed_birth()],
            nationalities: p.nationalities.iter().map(|&n| n.to_owned()).collect(),
        },
    }
}

/// Writes a watchlist of `people` synthetic people, drawn as in this suite from the variant
/// corpus under `data`, as CSV (`id,name,aliases,birth_date,nationality`) to `out`: what
/// the server's memory is measured with in `legion bench queue`.
pub fn write_synthetic_watchlist(
    data: &std::path::Path,
    people: usize,
    seed: u64,
    out: &std::path::Path,
) -> Result<()> {
    let path = data.join(VARIANTS);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}: pass the reference data folder with --data DIR", path.display()))?;
    let corpus = Corpus::parse(&text, 0.8, seed);
    drop(text);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0001);
    let mut w = csv::Writer::from_path(out).with_context(|| format!("cannot create {}", out.display()))?;
    w.write_record(["id", "name", "aliases", "birth_date", "nationality"])?;
    for i in 0..people {
        let p = draw_person(&corpus, &mut rng, 0.3, 0.2);
        let e = entry(&corpus, &p, format!("W{i:07}"), &mut rng);
        let birth = e.subject.birth_dates.first().map(ToString::to_string).unwrap_or_default();
        let nationality = e.subject.nationalities.first().cloned().unwrap_or_default();
        w.write_record([e.id.as_str(), &e.subject.names[0], &e.subject.names[1..].join(";"), &birth, &nationality])?;
    }
    w.flush()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Perturbations
// ---------------------------------------------------------------------------------------

/// How a listed person's name drifts on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Drift {
    /// Each word as another spelling of its group: another Latin one, or Cyrillic.
    Transliteration,
    /// Family name first.
    Order,
    /// One edit (substitution, deletion, insertion, transposition) in a word of five letters
    /// or more.
    Typo,
    /// Given names as initials with a full stop.
    Initials,
    /// A middle word left out (people with three words or more).
    MissingToken,
    /// The whole name in a script other than Latin that the family name is written in.
    Script,
}

const DRIFTS: [Drift; 6] =
    [Drift::Transliteration, Drift::Order, Drift::Typo, Drift::Initials, Drift::MissingToken, Drift::Script];

impl Drift {
    fn label(self) -> &'static str {
        match self {
            Drift::Transliteration => "transliteration",
            Drift::Order => "order",
            Drift::Typo => "typo",
            Drift::Initials => "initials",
            Drift::MissingToken => "missing_token",
            Drift::Script => "script",
        }
    }

    /// The drifted name, or `None` when the drift does not apply to this person.
    fn apply(self, corpus: &Corpus, p: &Person, rng: &mut impl Rng) -> Option<String> {
        let words: Vec<&str> = p.tokens().map(|t| corpus.form(t)).collect();
        match self {
            Drift::Transliteration => {
                let cyrillic_first = rng.gen_bool(0.3);
                let order: [Script; 2] =
                    if cyrillic_first { [Script::Cyrillic, Script::Latin] } else { [Script::Latin, Script::Cyrillic] };
                order.into_iter().find_map(|script| respell(corpus, p, script, rng))
            }
            Drift::Order => {
                let mut w = vec![corpus.form(p.family)];
                w.extend(p.given.iter().map(|&t| corpus.form(t)));
                Some(join(w))
            }
            Drift::Typo => {
                let long: Vec<usize> = (0..words.len()).filter(|&i| words[i].chars().count() >= 5).collect();
                let &i = long.choose(rng)?;
                let mut w: Vec<String> = words.iter().map(|&s| s.to_owned()).collect();
                w[i] = typo(&w[i], rng);
                Some(join(w))
            }
            Drift::Initials => {
                let mut w: Vec<String> = p
                    .given
                    .iter()
                    .map(|&t| format!("{}.", corpus.form(t).chars().next().map(capitalise_char).unwrap_or_default()))
                    .collect();
                w.push(capitalise(corpus.form(p.family)));
                Some(w.join(" "))
            }
            Drift::MissingToken => {
                if words.len() < 3 {
                    return None;
                }
                let drop = rng.gen_range(1..words.len() - 1);
                Some(join(words.iter().enumerate().filter(|(i, _)| *i != drop).map(|(_, w)| *w)))
            }
            Drift::Script => {
                let script = *corpus.group(p.family).other_scripts().choose(rng)?;
                respell(corpus, p, script, rng)
            }
        }
    }
}

fn capitalise_char(c: char) -> String {
    c.to_uppercase().collect()
}

/// Each word as another spelling of its group in `script` where it has one (the main
/// spelling where not); `None` when no word changes.
fn respell(corpus: &Corpus, p: &Person, script: Script, rng: &mut impl Rng) -> Option<String> {
    let mut changed = false;
    let words: Vec<&str> = p
        .tokens()
        .map(|t| {
            let g = corpus.group(t);
            match g.in_script(script, usize::from(t.form)).choose(rng) {
                Some(&i) => {
                    changed = true;
                    g.forms[i].as_str()
                }
                None => corpus.form(t),
            }
        })
        .collect();
    changed.then(|| join(words))
}

/// One edit: a letter substituted, deleted, inserted, or two different neighbours swapped.
fn typo(word: &str, rng: &mut impl Rng) -> String {
    let mut c: Vec<char> = word.chars().collect();
    let swappable: Vec<usize> = (0..c.len().saturating_sub(1)).filter(|&i| c[i] != c[i + 1]).collect();
    match rng.gen_range(0..4) {
        1 if c.len() > 1 => {
            c.remove(rng.gen_range(0..c.len()));
        }
        2 => {
            let at = rng.gen_range(0..=c.len());
            c.insert(at, letter(rng));
        }
        3 if !swappable.is_empty() => {
            let i = *swappable.choose(rng).expect("not empty");
            c.swap(i, i + 1);
        }
        _ => {
            let i = rng.gen_range(0..c.len());
            let was = c[i];
            while c[i] == was {
                c[i] = letter(rng);
            }
        }
    }
    c.into_iter().collect()
}

fn letter(rng: &mut impl Rng) -> char {
    char::from(b'a' + rng.gen_range(0..26u8))
}

/// A date of birth mistyped: day and month swapped, or one digit off by one.
fn date_typo(d: NaiveDate, rng: &mut impl Rng) -> NaiveDate {
    if d.day() <= 12 && d.day() != d.month() && rng.gen_bool(0.5) {
        return NaiveDate::from_ymd_opt(d.year(), d.day(), d.month()).expect("a day of twelve or less is a month");
    }
    let digits = d.format("%Y%m%d").to_string().into_bytes();
    loop {
        let mut t = digits.clone();
        // Not the century: 1987 can become 1988 or 1997, not 2987.
        let at = rng.gen_range(2..8);
        t[at] = if rng.gen_bool(0.5) {
            if t[at] == b'9' { b'8' } else { t[at] + 1 }
        } else if t[at] == b'0' {
            b'1'
        } else {
            t[at] - 1
        };
        if let Ok(changed) = NaiveDate::parse_from_str(std::str::from_utf8(&t).unwrap_or(""), "%Y%m%d")
            && changed != d
        {
            return changed;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------

/// `VmRSS` or `VmHWM` of this process, in KiB.
fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn rss_kib() -> u64 {
    proc_status_kib("VmRSS:").unwrap_or(0)
}

/// Resets the peak RSS to the current RSS (Linux 4.0 and later); whether it could.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[allow(clippy::cast_precision_loss, reason = "reported to three figures")]
fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[allow(clippy::cast_precision_loss, reason = "reported to three figures")]
fn frac(a: usize, b: usize) -> f64 {
    if b == 0 { f64::NAN } else { a as f64 / b as f64 }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) }
}

/// Candidates scored per second on one core, the floor of a search: each search prepares and
/// scores up to [`CANDIDATES`] entries in full. One fixed entry (a Latin and a Cyrillic name,
/// a date of birth, a nationality) against one fixed applicant, prepared anew each time as
/// the search does, with the same dictionary of known spellings.
fn raw_scorings_per_second(known: Option<&Variants>) -> f64 {
    let query = Subject {
        schema: Schema::Person,
        names: vec!["Ivan Petrov".into()],
        birth_dates: PartialDate::parse("1987-04-12").into_iter().collect(),
        nationalities: vec!["UA".into()],
    };
    let entry = Subject {
        schema: Schema::Person,
        names: vec!["Ivan Sergeyevich Petrov".into(), "Иван Сергеевич Петров".into()],
        birth_dates: PartialDate::parse("1987-04-12").into_iter().collect(),
        nationalities: vec!["RU".into()],
    };
    let q = Prepared::with_variants(&query, known);
    let mut n = 0u64;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        for _ in 0..1000 {
            std::hint::black_box(compare(&q, &Prepared::with_variants(std::hint::black_box(&entry), known)));
        }
        n += 1000;
    }
    crate::bench::rate(n, start.elapsed())
}

/// One query of the latency run: a listed person under a drifted name, or someone unlisted.
struct Query {
    subject: Subject,
    truth: Option<(Drift, usize)>,
}

#[derive(Default, Clone, Copy)]
struct Recall {
    n: usize,
    retrieved: usize,
    matched: usize,
}

struct SizeResult {
    people: usize,
    names: usize,
    postings: usize,
    generate: Duration,
    build: Duration,
    entries_kib: u64,
    index_kib: u64,
    peak_kib: Option<u64>,
    queries: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
    per_second: f64,
    recall: Vec<(Drift, Recall)>,
    negatives: usize,
    false_matches: usize,
}

/// Runs the suite and prints its report.
pub fn run(args: &ScreeningArgs) -> Result<()> {
    let sizes = if args.quick {
        vec![10_000]
    } else if args.sizes.is_empty() {
        vec![10_000, 100_000, 1_000_000]
    } else {
        args.sizes.clone()
    };
    let queries = if args.quick { 500 } else { args.queries.unwrap_or(2000) };
    let applicants = if args.quick { 10_000 } else { args.applicants.unwrap_or(100_000) };
    let read = |rel: &str| -> Result<String> {
        let path = args.data.join(rel);
        std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}: this bench needs the reference data folder (with {VARIANTS} and {NAME_BENCH}); \
                 pass its path with --data DIR",
                path.display()
            )
        })
    };
    let variants = read(VARIANTS)?;
    let name_bench = read(NAME_BENCH)?;
    let corpus = Corpus::parse(&variants, args.zipf, args.seed);
    eprintln!("corpus: {} groups with a Latin spelling", corpus.groups.len());
    let share = args.known_spellings.clamp(0.0, 1.0);
    let known = if share > 0.0 {
        // A fixed share of lines, spread over the file by a multiplicative hash.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let cut = (share * 10_000.0).round() as u64;
        let started = Instant::now();
        let (known, _) = Variants::read(variants.as_bytes(), |line| {
            (u64::try_from(line).unwrap_or(0).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) % 10_000 < cut
        })?;
        eprintln!(
            "known spellings: {} groups, {} spellings, read in {:.1} s",
            known.len(),
            known.spellings(),
            started.elapsed().as_secs_f64()
        );
        Some(Arc::new(known))
    } else {
        None
    };
    drop(variants);

    let mut md = String::new();
    let sizes_s = sizes.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let _ = writeln!(md, "## Screening\n");
    let _ = writeln!(
        md,
        "`legion bench screening --sizes {sizes_s} --queries {queries} --applicants {applicants} --zipf {} --seed {} \
         --known-spellings {share}`\n",
        args.zipf, args.seed
    );
    let _ = writeln!(
        md,
        "Known spellings: {}.\n",
        known.as_ref().map_or_else(
            || "none (rules alone)".to_owned(),
            |k| format!(
                "{} of the corpus's groups ({} groups, {} spellings), as the dictionary the index and scoring use",
                if share >= 1.0 { "all".to_owned() } else { format!("a fixed {:.0} %", share * 100.0) },
                k.len(),
                k.spellings()
            )
        )
    );
    let _ = writeln!(
        md,
        "Name corpus: {} variant groups with a Latin spelling (single words); popularity 1/rank^{}.\n",
        corpus.groups.len(),
        args.zipf
    );

    let raw = raw_scorings_per_second(known.as_deref());
    eprintln!("raw: {raw:.0} candidates scored per second");
    let floor_qps = raw / f64::from(u32::try_from(CANDIDATES).unwrap_or(1));

    let mut results = Vec::new();
    for &size in &sizes {
        results.push(one_size(&corpus, size, queries, known.clone(), args)?);
    }

    let _ = writeln!(md, "### 1:N search, one core\n");
    let _ = writeln!(
        md,
        "Raw limit: {raw:.0} candidates prepared and scored per second on one core; a search scores up to \
         {CANDIDATES}, so at most {floor_qps:.0} searches/s.\n"
    );
    let _ = writeln!(
        md,
        "| watchlist | names | postings | generate (s) | index build (s) | RSS of entries | RSS of index | peak RSS during build |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    for r in &results {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.1} | {:.1} | {:.0} MiB | {:.0} MiB | {} |",
            r.people,
            r.names,
            r.postings,
            r.generate.as_secs_f64(),
            r.build.as_secs_f64(),
            mib(r.entries_kib),
            mib(r.index_kib),
            r.peak_kib.map_or_else(|| "n/a".into(), |k| format!("+{:.0} MiB", mib(k))),
        );
    }
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "| watchlist | queries | p50 | p99 | max | searches/s | ratio to raw | candidate recall | match recall | false-match rate |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        let all = r.recall.iter().fold(Recall::default(), |a, (_, x)| Recall {
            n: a.n + x.n,
            retrieved: a.retrieved + x.retrieved,
            matched: a.matched + x.matched,
        });
        let _ = writeln!(
            md,
            "| {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.0} | {:.2} | {:.4} | {:.4} | {:.4} ({} of {}) |",
            r.people,
            r.queries,
            ms(r.p50),
            ms(r.p99),
            ms(r.max),
            r.per_second,
            r.per_second / floor_qps,
            frac(all.retrieved, all.n),
            frac(all.matched, all.n),
            frac(r.false_matches, r.negatives),
            r.false_matches,
            r.negatives,
        );
    }
    let _ = writeln!(md, "\n### Recall per kind of drift\n");
    let _ = writeln!(md, "| watchlist | drift | n | candidate recall (top {CANDIDATES}) | match recall |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    for r in &results {
        for (d, x) in &r.recall {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.3} | {:.3} |",
                r.people,
                d.label(),
                x.n,
                frac(x.retrieved, x.n),
                frac(x.matched, x.n)
            );
        }
    }
    println!("{md}");
    let mut all_md = md;

    let md = duplicates(&corpus, applicants, known, args);
    println!("{md}");
    all_md.push_str(&md);

    let md = name_bench_report(&name_bench, raw)?;
    println!("{md}");
    all_md.push_str(&md);

    if let Some(path) = &args.markdown {
        std::fs::write(path, all_md).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Builds a watchlist of `size` people and measures the index and the searches over it.
fn one_size(
    corpus: &Corpus,
    size: usize,
    queries: usize,
    known: Option<Arc<Variants>>,
    args: &ScreeningArgs,
) -> Result<SizeResult> {
    eprintln!("watchlist of {size}: generating");
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x0001);
    let people: Vec<Person> = (0..size).map(|_| draw_person(corpus, &mut rng, 0.3, 0.2)).collect();
    let before_entries = rss_kib();
    let mut names = 0;
    let entries: Entries = people
        .iter()
        .enumerate()
        .map(|(i, p)| entry(corpus, p, format!("W{i:07}"), &mut rng))
        .inspect(|e| names += e.subject.names.len())
        .collect();
    let generate = started.elapsed();
    let before_index = rss_kib();
    let peak_known = reset_peak();
    eprintln!("watchlist of {size}: building the index");
    let started = Instant::now();
    let index = Index::build_with_variants(entries, known, |_| {});
    let build = started.elapsed();
    let after = rss_kib();
    let peak_kib = proc_status_kib("VmHWM:").filter(|_| peak_known).map(|p| p.saturating_sub(before_index));
    eprintln!("watchlist of {size}: index built in {:.1} s, {} postings", build.as_secs_f64(), index.postings());

    // Queries: listed people under each drift in turn, and unlisted people, shuffled.
    let mut qrng = StdRng::seed_from_u64(args.seed ^ 0x0002 ^ (u64::try_from(size).unwrap_or(0) << 8));
    let listed: HashSet<(u32, u32)> =
        people.iter().flat_map(|p| p.given.iter().map(move |g| (g.group, p.family.group))).collect();
    let mut qs: Vec<Query> = Vec::with_capacity(queries);
    for k in 0..queries / 2 {
        let drift = DRIFTS[k % DRIFTS.len()];
        qs.push(
            positive(corpus, &people, &index, drift, &mut qrng)
                .ok_or_else(|| anyhow!("no listed person to apply the drift {} to", drift.label()))?,
        );
    }
    while qs.len() < queries {
        let p = loop {
            let p = draw_person(corpus, &mut qrng, 0.3, 0.0);
            if !p.given.iter().any(|g| listed.contains(&(g.group, p.family.group))) {
                break p;
            }
        };
        qs.push(Query {
            subject: Subject {
                schema: Schema::Person,
                names: vec![primary_name(corpus, &p)],
                birth_dates: vec![PartialDate::from_date(p.birth)],
                nationalities: vec![p.nationalities[0].to_owned()],
            },
            truth: None,
        });
    }
    qs.shuffle(&mut qrng);

    // Warm-up (the first search sizes the per-thread scratch to the index).
    for q in qs.iter().take(queries.min(100)) {
        std::hint::black_box(index.search(&q.subject, 10, 0.5));
    }
    eprintln!("watchlist of {size}: {queries} searches");
    let mut times = Vec::with_capacity(qs.len());
    let mut hits = Vec::with_capacity(qs.len());
    let all = Instant::now();
    for q in &qs {
        let t = Instant::now();
        let h = index.search(&q.subject, 10, 0.5);
        times.push(t.elapsed());
        hits.push(h);
    }
    let total = all.elapsed();

    let mut recall: Vec<(Drift, Recall)> = DRIFTS.iter().map(|d| (*d, Recall::default())).collect();
    let (mut negatives, mut false_matches) = (0, 0);
    let mut shown: HashMap<&str, usize> = HashMap::new();
    for (q, h) in qs.iter().zip(&hits) {
        if let Some((drift, position)) = q.truth {
            let r = &mut recall.iter_mut().find(|(d, _)| *d == drift).expect("every drift").1;
            r.n += 1;
            let retrieved = index.candidates(&q.subject, CANDIDATES).contains(&position);
            let matched = h.iter().any(|h| h.position == position && h.comparison.matched);
            r.retrieved += usize::from(retrieved);
            r.matched += usize::from(matched);
            let seen = shown.entry(if retrieved { drift.label() } else { "not retrieved" }).or_default();
            if args.verbose && !matched && *seen < if retrieved { 3 } else { 12 } {
                *seen += 1;
                let e = index.entry(position);
                let v = index.variants();
                let c = compare(&Prepared::with_variants(&q.subject, v), &Prepared::with_variants(&e.subject, v));
                eprintln!(
                    "MISS {} ({}): {:?} {:?} vs {} {:?} {:?}: {}",
                    drift.label(),
                    if retrieved { "retrieved, scored below" } else { "not retrieved" },
                    q.subject.names,
                    q.subject.birth_dates.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    e.id,
                    e.subject.names,
                    e.subject.birth_dates.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    c.explanation
                );
            }
        } else {
            negatives += 1;
            if let Some(hit) = h.iter().find(|h| h.comparison.matched) {
                false_matches += 1;
                let seen = shown.entry("false").or_default();
                if args.verbose && *seen < 5 {
                    *seen += 1;
                    eprintln!(
                        "FALSE MATCH: {:?} vs {} {:?}: {}",
                        q.subject.names,
                        hit.entry_id,
                        index.entry(hit.position).subject.names,
                        hit.comparison.explanation
                    );
                }
            }
        }
    }
    let postings = index.postings();
    drop(index);
    Ok(SizeResult {
        people: size,
        names,
        postings,
        generate,
        build,
        entries_kib: before_index.saturating_sub(before_entries),
        index_kib: after.saturating_sub(before_index),
        peak_kib,
        queries: qs.len(),
        p50: percentile(&mut times, 0.5),
        p99: percentile(&mut times, 0.99),
        max: percentile(&mut times, 1.0),
        per_second: crate::bench::rate(u64::try_from(qs.len()).unwrap_or(0), total),
        recall,
        negatives,
        false_matches,
    })
}

/// A listed person, drawn at random among those the drift applies to, under the drifted name
/// (one the entry does not already carry, when the drift allows), with their full date of
/// birth (a date in the listed year when the list knows only the year) and one nationality.
fn positive(corpus: &Corpus, people: &[Person], index: &Index, drift: Drift, rng: &mut impl Rng) -> Option<Query> {
    for _ in 0..10_000 {
        let position = rng.gen_range(0..people.len());
        let p = &people[position];
        let listed = index.entry(position).subject.names;
        let mut name = None;
        for _ in 0..5 {
            match drift.apply(corpus, p, rng) {
                Some(n) => {
                    let fresh = !listed.contains(&n);
                    name = Some(n);
                    if fresh {
                        break;
                    }
                }
                None => break,
            }
        }
        let Some(name) = name else { continue };
        let birth = if p.year_only { random_date(rng, p.birth.year(), p.birth.year()) } else { p.birth };
        return Some(Query {
            subject: Subject {
                schema: Schema::Person,
                names: vec![name],
                birth_dates: vec![PartialDate::from_date(birth)],
                nationalities: vec![(*p.nationalities.choose(rng)?).to_owned()],
            },
            truth: Some((drift, position)),
        });
    }
    None
}

// ---------------------------------------------------------------------------------------
// Duplicate applicants
// ---------------------------------------------------------------------------------------

const ROMANISED: u8 = 1;
const REORDERED: u8 = 2;
const DATE_TYPO: u8 = 4;

fn variation_label(flags: u8) -> String {
    let parts: Vec<&str> = [(ROMANISED, "other spelling"), (REORDERED, "name order"), (DATE_TYPO, "date typo")]
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, l)| *l)
        .collect();
    if parts.is_empty() { "same name and date".into() } else { parts.join(" + ") }
}

struct Applicant {
    person: u32,
    /// What differs from the person's first application.
    flags: u8,
    given: Vec<u32>,
    family: u32,
    birth: NaiveDate,
    subject: Subject,
}

/// `n` applications: about one in ten from a person applying at two or three missions (other
/// spellings of the same name groups, sometimes family name first, sometimes a mistyped date),
/// the rest from distinct people, some of them relatives of another applicant (same family
/// name; twins also share the date of birth). Shuffled.
fn applicants(corpus: &Corpus, n: usize, rng: &mut impl Rng) -> Vec<Applicant> {
    let mut out: Vec<Applicant> = Vec::with_capacity(n + 2);
    let mut person = 0u32;
    let mut singles: Vec<Person> = Vec::new();
    let make = |p: &Person, id: u32, flags: u8, name: String, birth: NaiveDate| Applicant {
        person: id,
        flags,
        given: p.given.iter().map(|t| t.group).collect(),
        family: p.family.group,
        birth,
        subject: Subject {
            schema: Schema::Person,
            names: vec![name],
            birth_dates: vec![PartialDate::from_date(birth)],
            nationalities: p.nationalities.iter().map(|&s| s.to_owned()).collect(),
        },
    };
    while out.len() < n {
        person += 1;
        // Share of people applying more than once such that ~10 % of applications are theirs.
        if rng.gen_bool(0.0426) {
            let p = draw_person(corpus, rng, 0.3, 0.0);
            out.push(make(&p, person, 0, primary_name(corpus, &p), p.birth));
            for _ in 0..rng.gen_range(1..=2) {
                let mut flags = 0;
                let words: Vec<Tok> = p.tokens().collect();
                let romanise = rng.gen_bool(0.8);
                let mut name_words: Vec<String> = words.iter().map(|&t| corpus.form(t).to_owned()).collect();
                if romanise {
                    let script = if rng.gen_bool(0.3) { Script::Cyrillic } else { Script::Latin };
                    for (k, t) in words.iter().enumerate() {
                        let g = corpus.group(*t);
                        if let Some(&i) = g.in_script(script, usize::from(t.form)).choose(rng) {
                            name_words[k].clone_from(&g.forms[i]);
                            flags |= ROMANISED;
                        }
                    }
                }
                if rng.gen_bool(0.3) {
                    name_words.rotate_right(1);
                    flags |= REORDERED;
                }
                let birth = if rng.gen_bool(0.2) {
                    flags |= DATE_TYPO;
                    date_typo(p.birth, rng)
                } else {
                    p.birth
                };
                out.push(make(&p, person, flags, join(&name_words), birth));
            }
        } else {
            let mut p = draw_person(corpus, rng, 0.3, 0.0);
            let relative = rng.r#gen::<f64>();
            if relative < 0.05
                && let Some(other) = singles.choose(rng)
            {
                // A sibling: the same family name, a different given name; twins (2 in 5)
                // share the date of birth too.
                p.family = other.family;
                p.given = vec![corpus.draw_tok(rng, &[other.given[0].group, other.family.group])];
                if relative < 0.02 {
                    p.birth = other.birth;
                }
            }
            out.push(make(&p, person, 0, primary_name(corpus, &p), p.birth));
            singles.push(p);
        }
    }
    out.truncate(n);
    out.shuffle(rng);
    out
}

fn one_field_or_swapped(a: NaiveDate, b: NaiveDate) -> bool {
    let same = [a.year() == b.year(), a.month() == b.month(), a.day() == b.day()];
    same.iter().filter(|s| **s).count() >= 2 || (a.year() == b.year() && a.month() == b.day() && a.day() == b.month())
}

/// Finds duplicate applications by screening each against an index of all of them.
fn duplicates(corpus: &Corpus, n: usize, known: Option<Arc<Variants>>, args: &ScreeningArgs) -> String {
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x0003);
    let apps = applicants(corpus, n, &mut rng);
    let mut truth: HashSet<(u32, u32)> = HashSet::new();
    let mut by_person: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, a) in apps.iter().enumerate() {
        by_person.entry(a.person).or_default().push(u32::try_from(i).expect("fewer than 2^32 applicants"));
    }
    for ids in by_person.values() {
        for (k, &a) in ids.iter().enumerate() {
            for &b in &ids[k + 1..] {
                truth.insert((a.min(b), a.max(b)));
            }
        }
    }
    let in_dups = by_person.values().filter(|v| v.len() > 1).map(Vec::len).sum::<usize>();
    eprintln!(
        "duplicates: {n} applications, {in_dups} from people applying more than once, {} true pairs",
        truth.len()
    );

    let entries: Vec<Entry> =
        apps.iter().enumerate().map(|(i, a)| Entry { id: format!("A{i:06}"), subject: a.subject.clone() }).collect();
    let started = Instant::now();
    let index = Index::build_with_variants(entries, known, |_| {});
    let build = started.elapsed();
    let started = Instant::now();
    // Every application searched against all, on every core: the index is shared read-only.
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let chunk = apps.len().div_ceil(threads).max(1);
    let found: HashSet<(u32, u32)> = std::thread::scope(|scope| {
        let workers: Vec<_> = apps
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let index = &index;
                scope.spawn(move || {
                    let mut found = Vec::new();
                    for (k, a) in part.iter().enumerate() {
                        let i = u32::try_from(c * chunk + k).expect("fewer than 2^32 applicants");
                        for h in index.search(&a.subject, 10, 0.5) {
                            let j = u32::try_from(h.position).expect("fewer than 2^32 applicants");
                            if h.comparison.matched && j != i {
                                found.push((i.min(j), i.max(j)));
                            }
                        }
                    }
                    found
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a search thread panicked")).collect()
    });
    let queries = started.elapsed();
    let tp = found.intersection(&truth).count();
    let precision = frac(tp, found.len());
    let recall = frac(tp, truth.len());

    // Recall per variation, and the kinds of false pairs.
    let mut per: HashMap<u8, (usize, usize)> = HashMap::new();
    let mut shown = 0;
    for &(a, b) in &truth {
        let (x, y) = (&apps[a as usize], &apps[b as usize]);
        let counts = per.entry(x.flags | y.flags).or_default();
        counts.0 += 1;
        if found.contains(&(a, b)) {
            counts.1 += 1;
        } else if args.verbose && shown < 8 {
            shown += 1;
            let retrieved = index.candidates(&x.subject, CANDIDATES).contains(&(b as usize))
                || index.candidates(&y.subject, CANDIDATES).contains(&(a as usize));
            let v = index.variants();
            let scored = compare(&Prepared::with_variants(&x.subject, v), &Prepared::with_variants(&y.subject, v));
            eprintln!(
                "MISSED PAIR ({}, {}): {:?} {} / {:?} {}: {}",
                variation_label(x.flags | y.flags),
                if retrieved { "retrieved, scored below" } else { "not retrieved" },
                x.subject.names,
                x.birth,
                y.subject.names,
                y.birth,
                scored.explanation
            );
        }
    }
    let mut kinds: HashMap<String, usize> = HashMap::new();
    let mut shown = 0;
    for &(a, b) in found.difference(&truth) {
        let (x, y) = (&apps[a as usize], &apps[b as usize]);
        let groups = |p: &Applicant| p.given.iter().copied().chain(std::iter::once(p.family)).collect::<HashSet<u32>>();
        let shared = groups(x).intersection(&groups(y)).count();
        let family = if x.family == y.family { "the family name among them" } else { "not as the family name of both" };
        let born = if x.birth == y.birth {
            "the same date of birth"
        } else if one_field_or_swapped(x.birth, y.birth) {
            "dates of birth one field apart or day and month swapped"
        } else {
            "different dates of birth"
        };
        let kind = format!("{shared} name group(s) in common ({family}), {born}");
        *kinds.entry(kind.clone()).or_default() += 1;
        if args.verbose && shown < 8 {
            shown += 1;
            let v = index.variants();
            let scored = compare(&Prepared::with_variants(&x.subject, v), &Prepared::with_variants(&y.subject, v));
            eprintln!(
                "FALSE PAIR ({kind}): {:?} {} / {:?} {}: {}",
                x.subject.names, x.birth, y.subject.names, y.birth, scored.explanation
            );
        }
    }

    let mut md = String::new();
    let _ = writeln!(md, "### Duplicate applicants, {threads} thread(s)\n");
    let _ = writeln!(
        md,
        "| applications | from people applying more than once | true pairs | pairs found | precision | recall | F1 | index build | {n} searches | all pairs |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
    let _ = writeln!(
        md,
        "| {n} | {in_dups} | {} | {} | {precision:.4} | {recall:.4} | {:.4} | {:.1} s | {:.1} s | {:.1} s |\n",
        truth.len(),
        found.len(),
        f1(precision, recall),
        build.as_secs_f64(),
        queries.as_secs_f64(),
        (build + queries).as_secs_f64()
    );
    let _ = writeln!(md, "| what differs between the two applications | true pairs | found | recall |");
    let _ = writeln!(md, "|---|---|---|---|");
    let mut rows: Vec<(u8, (usize, usize))> = per.into_iter().collect();
    rows.sort_by_key(|(f, _)| *f);
    for (f, (t, k)) in rows {
        let _ = writeln!(md, "| {} | {t} | {k} | {:.3} |", variation_label(f), frac(k, t));
    }
    let _ = writeln!(md, "\n| false pairs: what the two people share | pairs |");
    let _ = writeln!(md, "|---|---|");
    let mut kinds: Vec<(String, usize)> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (k, c) in kinds {
        let _ = writeln!(md, "| {k} | {c} |");
    }
    md.push('\n');
    md
}

// ---------------------------------------------------------------------------------------
// The public name benchmark
// ---------------------------------------------------------------------------------------

/// Rows of a CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            '\r' => {}
            c => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Precision, recall and F1 at the threshold on the labelled pairs, and the time per pair
/// (both names prepared and compared, as nomenklatura's figure includes parsing the names).
fn name_bench_report(csv: &str, raw: f64) -> Result<String> {
    let rows = parse_csv(csv);
    let header = rows.first().ok_or_else(|| anyhow!("{NAME_BENCH} is empty"))?;
    let col =
        |name: &str| header.iter().position(|h| h == name).ok_or_else(|| anyhow!("{NAME_BENCH} has no column {name}"));
    let (schema, n1, n2, is_match) = (col("schema")?, col("name1")?, col("name2")?, col("is_match")?);
    let pairs: Vec<(Subject, Subject, bool)> = rows[1..]
        .iter()
        .filter(|r| r.len() > is_match.max(n2))
        .map(|r| {
            let s = Schema::from_ftm(&r[schema]);
            let subject = |n: &str| Subject { schema: s, names: vec![n.to_owned()], ..Subject::default() };
            (subject(&r[n1]), subject(&r[n2]), r[is_match].eq_ignore_ascii_case("true"))
        })
        .collect();
    let (mut tp, mut fp, mut fneg) = (0usize, 0usize, 0usize);
    for (a, b, truth) in &pairs {
        let m = compare(&Prepared::new(a), &Prepared::new(b)).matched;
        match (m, *truth) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fneg += 1,
            (false, false) => {}
        }
    }
    // Timed over whole rounds until a second has passed, after one round of warm-up.
    let mut rounds = 0u64;
    let started = Instant::now();
    for round in 0.. {
        for (a, b, _) in &pairs {
            std::hint::black_box(compare(&Prepared::new(a), &Prepared::new(b)));
        }
        if round == 0 {
            continue;
        }
        rounds += 1;
        if started.elapsed() > Duration::from_secs(1) && rounds >= 3 {
            break;
        }
    }
    let elapsed = started.elapsed();
    let per_pair_us = elapsed.as_secs_f64() * 1e6
        / frac(usize::try_from(rounds + 1).unwrap_or(usize::MAX), 1)
        / frac(pairs.len().max(1), 1);
    let precision = frac(tp, tp + fp);
    let recall = frac(tp, tp + fneg);
    let mut md = String::new();
    let _ = writeln!(md, "### Public name benchmark ({} pairs, threshold {THRESHOLD})\n", pairs.len());
    let _ = writeln!(md, "| matcher | precision | recall | F1 | µs per pair (one core) |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    let _ = writeln!(md, "| Legion | {precision:.3} | {recall:.3} | {:.3} | {per_pair_us:.1} |", f1(precision, recall));
    let _ = writeln!(md, "| {} | {:.3} | {:.3} | {:.3} | ~{:.0} |", PEER.0, PEER.1, PEER.2, PEER.3, PEER.4);
    let _ = writeln!(
        md,
        "\n{tp} true matches found, {fp} false, {fneg} missed. The raw limit above ({:.1} µs per candidate, a \
         two-name entry) is the same work on a larger subject.\n",
        1e6 / raw
    );
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS: &str = "\
ivan, iwan, ivann, иван, イワン => Q1
petrov, petroff, петров => Q2
sergeevich, sergeyevich, сергеевич => Q3
li, ли => Q4
";

    fn corpus() -> Corpus {
        Corpus::parse(CORPUS, 0.0, 1)
    }

    fn tok(c: &Corpus, form: &str) -> Tok {
        for (g, group) in c.groups.iter().enumerate() {
            if let Some(i) = group.forms.iter().position(|f| f == form) {
                return Tok { group: u32::try_from(g).unwrap(), form: u16::try_from(i).unwrap() };
            }
        }
        panic!("{form} not in the corpus");
    }

    fn person(c: &Corpus, words: &[&str]) -> Person {
        let (family, given) = words.split_last().unwrap();
        Person {
            given: given.iter().map(|w| tok(c, w)).collect(),
            family: tok(c, family),
            birth: NaiveDate::from_ymd_opt(1987, 4, 12).unwrap(),
            year_only: false,
            nationalities: vec!["UA"],
        }
    }

    /// Levenshtein distance with adjacent transpositions, over characters.
    fn edits(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }

    #[test]
    fn corpus_keeps_latin_first_and_scripts() {
        let c = corpus();
        assert_eq!(c.groups.len(), 4);
        let g = c.group(tok(&c, "ivan"));
        assert_eq!(g.latin, 3);
        assert_eq!(g.other_scripts(), [Script::Cyrillic, Script::Kana]);
        assert_eq!(script_of("πετρόφ"), Script::Greek);
        assert_eq!(script_of("černyševskij"), Script::Latin);
        assert!(!usable("van der") && !usable("a.b") && !usable("wei³") && usable("o'neil") && usable("jean-pierre"));
    }

    #[test]
    fn drifts_change_the_name_as_described() {
        let c = corpus();
        let p = person(&c, &["ivan", "sergeevich", "petrov"]);
        assert_eq!(primary_name(&c, &p), "Ivan Sergeevich Petrov");
        for seed in 0..50 {
            let mut rng = StdRng::seed_from_u64(seed);
            let same = |d: Drift, rng: &mut StdRng| d.apply(&c, &p, rng).unwrap();

            // Every word another spelling of its own group, at least one changed.
            let t = same(Drift::Transliteration, &mut rng);
            let words: Vec<String> = t.split(' ').map(str::to_lowercase).collect();
            assert_eq!(words.len(), 3, "{t}");
            for (w, original) in words.iter().zip(p.tokens()) {
                assert!(c.group(original).forms.contains(w), "{t}");
            }
            assert_ne!(t, "Ivan Sergeevich Petrov");

            assert_eq!(same(Drift::Order, &mut rng), "Petrov Ivan Sergeevich");
            assert_eq!(same(Drift::Initials, &mut rng), "I. S. Petrov");
            assert_eq!(same(Drift::MissingToken, &mut rng), "Ivan Petrov");
            assert_eq!(same(Drift::Script, &mut rng), "Иван Сергеевич Петров");

            // One edit in one word of five letters or more; "Ivan" is too short.
            let typo = same(Drift::Typo, &mut rng).to_lowercase();
            let words: Vec<&str> = typo.split(' ').collect();
            let original = ["ivan", "sergeevich", "petrov"];
            assert_eq!(words[0], "ivan", "{typo}");
            let changed: Vec<usize> = (0..3).filter(|&i| words[i] != original[i]).collect();
            assert_eq!(changed.len(), 1, "{typo}");
            assert_eq!(edits(words[changed[0]], original[changed[0]]), 1, "{typo}");
        }
        // Two words: nothing to leave out. No word of five letters: no typo. No other script.
        let short = person(&c, &["li", "ivan"]);
        let mut rng = StdRng::seed_from_u64(0);
        assert_eq!(Drift::MissingToken.apply(&c, &short, &mut rng), None);
        assert_eq!(Drift::Typo.apply(&c, &short, &mut rng), None);
        assert_eq!(Drift::Order.apply(&c, &short, &mut rng).unwrap(), "Ivan Li");
        // "li" has no Kana spelling and keeps its Latin one.
        let script = Drift::Script.apply(&c, &short, &mut rng).unwrap();
        assert!(script == "Ли Иван" || script == "Li イワン", "{script}");
    }

    #[test]
    fn date_typos_are_a_swap_or_one_digit() {
        let d = NaiveDate::from_ymd_opt(1987, 4, 12).unwrap();
        for seed in 0..200 {
            let t = date_typo(d, &mut StdRng::seed_from_u64(seed));
            let (a, b) = (d.format("%Y%m%d").to_string(), t.format("%Y%m%d").to_string());
            let differing = a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count();
            let swapped = t == NaiveDate::from_ymd_opt(1987, 12, 4).unwrap();
            assert!(swapped || differing == 1, "{d} -> {t}");
        }
    }

    #[test]
    fn generation_is_deterministic() {
        let c = corpus();
        let names = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..20)
                .map(|i| entry(&c, &draw_person(&c, &mut rng, 0.3, 0.2), format!("W{i}"), &mut rng).subject.names)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(7), names(7));
        let apps = |seed| {
            applicants(&c, 50, &mut StdRng::seed_from_u64(seed))
                .into_iter()
                .map(|a| a.subject.names)
                .collect::<Vec<_>>()
        };
        assert_eq!(apps(3), apps(3));
    }

    #[test]
    fn csv_fields_with_quotes_and_commas() {
        let rows = parse_csv("a,b,c\r\n1,\"x, \"\"y\"\"\",3\n");
        assert_eq!(rows, vec![vec!["a", "b", "c"], vec!["1", "x, \"y\"", "3"]]);
    }
}
