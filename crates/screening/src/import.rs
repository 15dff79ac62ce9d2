//! Watchlist import: FollowTheMoney JSON lines, the UN consolidated-list XML, CSV.
//!
//! Each reader turns a list into [`Entry`]s and reports what it left out and why
//! ([`Imported`]): records it skipped (not parseable, no id, no name), single values it dropped
//! from records it kept (a date that does not parse, a country without an ISO code), and
//! records of kinds that name no party (FollowTheMoney sanctions, addresses, ownerships).
//! Only what makes the rest of the input untrustworthy is an error ([`ImportError`]): a file
//! that cannot be read, XML that breaks off, a CSV header without the columns it needs.
//!
//! Readers take any [`BufRead`] and report the bytes consumed so far to a progress callback,
//! about once a megabyte and once at the end, so that a caller can drive a progress bar from
//! the file's size.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::hash::{BuildHasher, Hash};
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use legion_domain::countries::COUNTRIES;
use quick_xml::events::Event;
use serde::Deserialize;
use serde_json::Value;

use crate::{Entries, Entry, PartialDate, Schema, Subject};

/// Bytes between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 20;

/// Bytes [`read_path`] looks at to recognise a file whose extension says nothing.
const SNIFF_BYTES: u64 = 8 * 1024;

/// The widest range of birth years (`BETWEEN 1950 AND 1960` is 10) expanded to one date per
/// year; a wider range says too little to screen on and is dropped, and reported.
pub const MAX_BIRTH_YEAR_SPAN: i32 = 10;

/// The list formats the readers understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// FollowTheMoney entities, one JSON object a line, as OpenSanctions publishes them.
    FollowTheMoney,
    /// The UN Security Council consolidated sanctions list, XML.
    UnXml,
    /// CSV with a header naming at least `id` and `name`.
    Csv,
}

impl Format {
    /// The format a file name's extension names: `.json`, `.jsonl`, `.ndjson`, `.ftm` for
    /// FollowTheMoney, `.xml` for the UN list, `.csv` for CSV, in any case.
    pub fn from_extension(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" | "jsonl" | "ndjson" | "ftm" => Some(Format::FollowTheMoney),
            "xml" => Some(Format::UnXml),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The format the first bytes of a file suggest: after any byte-order mark and white
    /// space, `{` is FollowTheMoney, `<` is XML, anything else CSV.
    pub fn sniff(head: &[u8]) -> Self {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Format::FollowTheMoney,
            Some(b'<') => Format::UnXml,
            _ => Format::Csv,
        }
    }

    /// The format of a file: by its extension when that names one, else by its first bytes.
    pub fn detect(path: &Path, head: &[u8]) -> Self {
        Self::from_extension(path).unwrap_or_else(|| Self::sniff(head))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::FollowTheMoney => "FollowTheMoney JSON lines",
            Format::UnXml => "UN consolidated list XML",
            Format::Csv => "CSV",
        })
    }
}

/// Why an import stopped: nothing it read can be trusted to be the whole list.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be opened.
    #[error("could not open {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Reading failed part way.
    #[error("could not read the list: {0}")]
    Io(#[from] io::Error),
    /// The XML document is not a UN consolidated list.
    #[error("not a UN consolidated list: the document's root element is {0:?}, not CONSOLIDATED_LIST")]
    NotUnList(String),
    /// The XML is not well formed.
    #[error("malformed XML near byte {at}: {message}")]
    Xml {
        /// Byte offset of the error.
        at: u64,
        /// The parser's description.
        message: String,
    },
    /// The XML ends with elements still open: the file was cut short.
    #[error("the XML ends at byte {0} before the list does: the file looks truncated")]
    TruncatedXml(u64),
    /// The CSV header lacks a required column.
    #[error("the CSV header has no {0:?} column (required columns: id, name)")]
    MissingColumn(&'static str),
    /// The CSV header cannot be read.
    #[error("the CSV header cannot be read: {0}")]
    CsvHeader(String),
}

/// Why a record was skipped or a value dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// A line that is not valid JSON.
    NotJson,
    /// JSON that is not a FollowTheMoney entity: not an object, or without a schema.
    NotAnEntity,
    /// A CSV row that cannot be read: another number of fields than the header, or not UTF-8.
    BadRow,
    /// A CSV row whose `schema` names no kind of party.
    UnknownSchema,
    /// A record without an id.
    NoId,
    /// A record without a usable name.
    NoName,
    /// A record whose id an earlier record has.
    DuplicateId,
    /// A date that does not parse (dropped from its record).
    BadDate,
    /// A range of birth years wider than [`MAX_BIRTH_YEAR_SPAN`] (dropped from its record).
    DateRangeTooWide,
    /// A country name or code that is not recognised (dropped from its record).
    UnknownCountry,
    /// A country without an assigned ISO 3166-1 code, such as the Soviet Union or Kosovo
    /// (dropped from its record).
    CountryWithoutCode,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::NotJson => "not valid JSON",
            Reason::NotAnEntity => "not a FollowTheMoney entity",
            Reason::BadRow => "unreadable CSV row",
            Reason::UnknownSchema => "schema names no kind of party",
            Reason::NoId => "no id",
            Reason::NoName => "no usable name",
            Reason::DuplicateId => "id already seen",
            Reason::BadDate => "date that does not parse",
            Reason::DateRangeTooWide => "range of birth years too wide",
            Reason::UnknownCountry => "country not recognised",
            Reason::CountryWithoutCode => "country without an ISO 3166-1 code",
        })
    }
}

/// A record skipped, or a value dropped from a record, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where: `line 12` (JSON lines, CSV), `record CDi.001` or `individual 7` (UN XML).
    pub at: String,
    /// Why.
    pub reason: Reason,
    /// The value or the parser's message, for display.
    pub detail: String,
}

/// What an import produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The format read.
    pub format: Format,
    /// The entries, in the order of the list, packed.
    pub entries: Entries,
    /// Records not imported, and why.
    pub skipped: Vec<Skipped>,
    /// Values left out of imported entries, and why.
    pub dropped: Vec<Skipped>,
    /// Records of kinds that name no party (FollowTheMoney `Sanction`, `Address`,
    /// `Ownership` …), counted by kind: the list's other content, not problems.
    pub other_records: BTreeMap<String, u64>,
}

impl Imported {
    fn new(format: Format) -> Self {
        Imported {
            format,
            entries: Entries::new(),
            skipped: Vec::new(),
            dropped: Vec::new(),
            other_records: BTreeMap::new(),
        }
    }

    /// Counts per kind and per reason, for display.
    pub fn summary(&self) -> Summary {
        Summary {
            entries: self.entries.len(),
            other_records: self.other_records.iter().map(|(k, n)| (k.clone(), *n)).collect(),
            skipped: count_reasons(&self.skipped),
            dropped: count_reasons(&self.dropped),
        }
    }
}

fn count_reasons(list: &[Skipped]) -> Vec<(Reason, usize)> {
    let mut counts = BTreeMap::new();
    for s in list {
        *counts.entry(s.reason).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

/// An import in numbers; its `Display` is a few lines for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Entries imported.
    pub entries: usize,
    /// Records of other kinds, by kind.
    pub other_records: Vec<(String, u64)>,
    /// Records skipped, by reason.
    pub skipped: Vec<(Reason, usize)>,
    /// Values dropped, by reason.
    pub dropped: Vec<(Reason, usize)>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<K: fmt::Display, N: fmt::Display>(items: &[(K, N)]) -> String {
            items.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")
        }
        let plural = |n: usize, one: &'static str, many: &'static str| if n == 1 { one } else { many };
        write!(f, "{} {} imported", self.entries, plural(self.entries, "entry", "entries"))?;
        let others: u64 = self.other_records.iter().map(|(_, n)| n).sum();
        if others > 0 {
            let records = if others == 1 { "record" } else { "records" };
            write!(f, "\n{others} other {records} (not parties): {}", list(&self.other_records))?;
        }
        let skipped: usize = self.skipped.iter().map(|(_, n)| n).sum();
        if skipped > 0 {
            write!(f, "\n{skipped} {} skipped: {}", plural(skipped, "record", "records"), list(&self.skipped))?;
        }
        let dropped: usize = self.dropped.iter().map(|(_, n)| n).sum();
        if dropped > 0 {
            write!(f, "\n{dropped} {} dropped: {}", plural(dropped, "value", "values"), list(&self.dropped))?;
        }
        Ok(())
    }
}

/// Reads a list in the given format.
pub fn read<R: BufRead>(format: Format, input: R, progress: &mut dyn FnMut(u64)) -> Result<Imported, ImportError> {
    match format {
        Format::FollowTheMoney => read_ftm(input, progress),
        Format::UnXml => read_un_xml(input, progress),
        Format::Csv => read_csv(input, progress),
    }
}

/// Opens a file, recognises its format ([`Format::detect`]) and reads it.
pub fn read_path(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<Imported, ImportError> {
    let file = File::open(path).map_err(|source| ImportError::Open { path: path.to_owned(), source })?;
    read_named(path, file, progress)
}

/// Reads a list from `input`, its format recognised from the file name `path` and the first
/// bytes ([`Format::detect`]); for callers that read the file through a reader of their own.
pub fn read_named(path: &Path, mut input: impl Read, progress: &mut dyn FnMut(u64)) -> Result<Imported, ImportError> {
    let mut head = Vec::new();
    (&mut input).take(SNIFF_BYTES).read_to_end(&mut head)?;
    let format = Format::detect(path, &head);
    read(format, BufReader::new(Cursor::new(head).chain(input)), progress)
}

/// Collects entries and problems, and reports progress.
struct Collector<'p> {
    out: Imported,
    /// The ids taken, as positions in `out.entries`, found by the id's hash: no copy of
    /// any id.
    ids: hashbrown::HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    progress: &'p mut dyn FnMut(u64),
    reported: u64,
}

impl<'p> Collector<'p> {
    fn new(format: Format, progress: &'p mut dyn FnMut(u64)) -> Self {
        Collector {
            out: Imported::new(format),
            ids: hashbrown::HashTable::new(),
            hasher: hashbrown::DefaultHashBuilder::default(),
            progress,
            reported: 0,
        }
    }

    fn tick(&mut self, consumed: u64) {
        if consumed >= self.reported + PROGRESS_EVERY {
            self.reported = consumed;
            (self.progress)(consumed);
        }
    }

    fn finish(self, consumed: u64) -> Imported {
        (self.progress)(consumed);
        self.out
    }

    fn skip(&mut self, at: String, reason: Reason, detail: impl Into<String>) {
        self.out.skipped.push(Skipped { at, reason, detail: detail.into() });
    }

    fn drop_value(&mut self, at: &str, reason: Reason, detail: impl Into<String>) {
        self.out.dropped.push(Skipped { at: at.to_owned(), reason, detail: detail.into() });
    }

    fn other(&mut self, kind: &str) {
        *self.out.other_records.entry(kind.to_owned()).or_insert(0) += 1;
    }

    /// A date for `dates`, or a dropped value.
    fn date(&mut self, at: &str, raw: &str, dates: &mut Vec<PartialDate>) {
        if raw.trim().is_empty() {
            return;
        }
        match PartialDate::parse(raw) {
            Some(d) => dates.push(d),
            None => self.drop_value(at, Reason::BadDate, raw.trim()),
        }
    }

    /// A country for `codes`, or a dropped value.
    fn country(&mut self, at: &str, found: Country, raw: &str, codes: &mut Vec<String>) {
        match found {
            Country::Code(code) => codes.push(code.to_owned()),
            Country::WithoutCode => self.drop_value(at, Reason::CountryWithoutCode, raw.trim()),
            Country::Unknown => self.drop_value(at, Reason::UnknownCountry, raw.trim()),
        }
    }

    /// Where the values dropped from the record being read begin.
    fn record_start(&self) -> usize {
        self.out.dropped.len()
    }

    /// Adds an entry: names cleaned (white space collapsed) and every list deduplicated, in
    /// order; or skips it when it has no id or no name, or an id seen before, and forgets the
    /// values dropped from it since `start` ([`Self::record_start`]).
    fn accept(&mut self, start: usize, at: String, id: &str, mut subject: Subject) {
        let id = id.trim();
        let id_hash = self.hasher.hash_one(id);
        subject.names = subject.names.iter().map(|n| clean(n)).filter(|n| !n.is_empty()).collect();
        dedup(&mut subject.names);
        let problem = if id.is_empty() {
            Some((Reason::NoId, ""))
        } else if subject.names.is_empty() {
            Some((Reason::NoName, id))
        } else if self.ids.find(id_hash, |&p| self.out.entries.id(p as usize) == id).is_some() {
            Some((Reason::DuplicateId, id))
        } else {
            None
        };
        if let Some((reason, detail)) = problem {
            self.out.dropped.truncate(start);
            return self.skip(at, reason, detail);
        }
        dedup(&mut subject.birth_dates);
        dedup(&mut subject.nationalities);
        let position = u32::try_from(self.out.entries.len()).expect("fewer than 2^32 entries in a list");
        self.out.entries.push(&Entry { id: id.to_owned(), subject });
        let (entries, hasher) = (&self.out.entries, &self.hasher);
        self.ids.insert_unique(id_hash, position, |&p| hasher.hash_one(entries.id(p as usize)));
    }
}

/// Trims and collapses runs of white space to one space.
fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Removes later duplicates, keeping the order.
fn dedup<T: Eq + Hash + Clone>(items: &mut Vec<T>) {
    let mut seen = HashSet::with_capacity(items.len());
    items.retain(|item| seen.insert(item.clone()));
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The FollowTheMoney schemas that name a party, and how they screen.
fn party_schema(name: &str) -> Option<Schema> {
    match name {
        "Person" => Some(Schema::Person),
        "Company" | "Organization" | "LegalEntity" | "PublicBody" | "Vessel" | "Airplane" => Some(Schema::Entity),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Countries

/// What a country name or code on a list stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Country {
    /// An assigned ISO 3166-1 alpha-2 code, upper case.
    Code(&'static str),
    /// A real place or former state without an assigned code: the Soviet Union, Yugoslavia,
    /// Kosovo, the European Union.
    WithoutCode,
    /// Not recognised.
    Unknown,
}

/// UN (and other common) names that differ from the short names in
/// [`COUNTRIES`](legion_domain::countries::COUNTRIES).
const COUNTRY_ALIASES: &[(&str, &str)] = &[
    ("Bolivia (Plurinational State of)", "BO"),
    ("Brunei", "BN"),
    ("Burma", "MM"),
    ("Cape Verde", "CV"),
    ("Congo, Democratic Republic of the", "CD"),
    ("Cote d'Ivoire", "CI"),
    ("Czech Republic", "CZ"),
    ("Democratic People's Republic of Korea", "KP"),
    ("Democratic Republic of the Congo", "CD"),
    ("Holy See", "VA"),
    ("Iran (Islamic Republic of)", "IR"),
    ("Iran, Islamic Republic of", "IR"),
    ("Ivory Coast", "CI"),
    ("Korea, Democratic People's Republic of", "KP"),
    ("Korea, Republic of", "KR"),
    ("Lao People's Democratic Republic", "LA"),
    ("Micronesia (Federated States of)", "FM"),
    ("Moldova, Republic of", "MD"),
    ("Netherlands (Kingdom of the)", "NL"),
    ("Republic of Korea", "KR"),
    ("Republic of Moldova", "MD"),
    ("Russia", "RU"),
    ("State of Palestine", "PS"),
    ("Swaziland", "SZ"),
    ("Syrian Arab Republic", "SY"),
    ("Tanzania, United Republic of", "TZ"),
    ("The former Yugoslav Republic of Macedonia", "MK"),
    ("Turkey", "TR"),
    ("United Kingdom of Great Britain and Northern Ireland", "GB"),
    ("United Republic of Tanzania", "TZ"),
    ("United States of America", "US"),
    ("Venezuela (Bolivarian Republic of)", "VE"),
    ("Viet Nam", "VN"),
];

/// Names of places and former states that have no assigned alpha-2 code.
const COUNTRIES_WITHOUT_CODE: &[&str] = &[
    "Czechoslovakia",
    "East Germany",
    "European Union",
    "former Soviet Union",
    "former Yugoslavia",
    "German Democratic Republic",
    "Kosovo",
    "Serbia and Montenegro",
    "Soviet Union",
    "Union of Soviet Socialist Republics",
    "USSR",
    "Yugoslavia",
];

/// Case-folded, apostrophes unified, white space collapsed.
fn country_key(name: &str) -> String {
    clean(&name.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'"))
}

fn country_names() -> &'static HashMap<String, Country> {
    static NAMES: OnceLock<HashMap<String, Country>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names = HashMap::new();
        for name in COUNTRIES_WITHOUT_CODE {
            names.insert(country_key(name), Country::WithoutCode);
        }
        for (name, code) in COUNTRY_ALIASES {
            names.insert(country_key(name), country_from_code(code));
        }
        for (code, name) in COUNTRIES {
            names.insert(country_key(name), Country::Code(code));
        }
        names
    })
}

/// Looks a country up by its English name: the ISO short name (`Syria`,
/// `Congo, The Democratic Republic of the`), the UN's official name (`Syrian Arab Republic`,
/// `Iran (Islamic Republic of)`) or a common one (`Turkey`), in any case.
pub fn country_from_name(name: &str) -> Country {
    country_names().get(&country_key(name)).copied().unwrap_or(Country::Unknown)
}

/// Looks a country up by its ISO 3166-1 alpha-2 code in either case (`ru`, `GB`). Other
/// code-like values (up to four letters, or letters with hyphens), such as FollowTheMoney's
/// `suhh` (Soviet Union), `xk` (Kosovo), `eu` or `ge-ab` (Abkhazia), are
/// [`Country::WithoutCode`].
pub fn country_from_code(code: &str) -> Country {
    let code = code.trim();
    let upper = code.to_ascii_uppercase();
    if let Ok(i) = COUNTRIES.binary_search_by(|(c, _)| (*c).cmp(upper.as_str())) {
        return Country::Code(COUNTRIES[i].0);
    }
    let code_like = code.len() >= 2
        && code.len() <= 6
        && (code.len() <= 4 || code.contains('-'))
        && code.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
    if code_like { Country::WithoutCode } else { Country::Unknown }
}

// ---------------------------------------------------------------------------------------------
// FollowTheMoney JSON lines

#[derive(Deserialize)]
struct FtmEntity {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    caption: Value,
    #[serde(default)]
    schema: Value,
    #[serde(default)]
    properties: Value,
}

impl FtmEntity {
    /// A property's string values (FollowTheMoney gives lists; a lone string is taken too).
    fn prop(&self, name: &str) -> Vec<&str> {
        match self.properties.get(name) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(s)) => vec![s.as_str()],
            _ => Vec::new(),
        }
    }
}

/// Reads FollowTheMoney entities, one JSON object a line.
///
/// Persons and the party schemas (`Company`, `Organization`, `LegalEntity`, `PublicBody`,
/// `Vessel`, `Airplane`) become entries; other schemas are counted in
/// [`Imported::other_records`]. Names: the caption, `name`, then `alias`, `weakAlias`,
/// `previousName`; a person without `name` gets one composed of the first of each of
/// `firstName`, `secondName`, `middleName` (else `fatherName`) and `lastName`. Dates:
/// `birthDate` for persons, `incorporationDate` for the rest. Nationalities: `nationality` and
/// `citizenship`, else `country`, for persons; `jurisdiction`, `country` and `flag` for the
/// rest; values without an assigned ISO code are dropped.
pub fn read_ftm<R: BufRead>(mut input: R, progress: &mut dyn FnMut(u64)) -> Result<Imported, ImportError> {
    let mut c = Collector::new(Format::FollowTheMoney, progress);
    let mut line = Vec::new();
    let mut consumed = 0u64;
    let mut number = 0u64;
    loop {
        line.clear();
        let n = input.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        consumed += to_u64(n);
        number += 1;
        let mut bytes = line.as_slice();
        if number == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        if !bytes.iter().all(u8::is_ascii_whitespace) {
            ftm_line(&mut c, format!("line {number}"), bytes);
        }
        c.tick(consumed);
    }
    Ok(c.finish(consumed))
}

fn ftm_line(c: &mut Collector<'_>, at: String, bytes: &[u8]) {
    let entity: FtmEntity = match serde_json::from_slice(bytes) {
        Ok(e) => e,
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            return c.skip(at, Reason::NotAnEntity, e.to_string());
        }
        Err(e) => return c.skip(at, Reason::NotJson, e.to_string()),
    };
    let Some(schema_name) = entity.schema.as_str().map(str::trim).filter(|s| !s.is_empty()) else {
        return c.skip(at, Reason::NotAnEntity, "no schema");
    };
    let Some(schema) = party_schema(schema_name) else {
        return c.other(schema_name);
    };
    let start = c.record_start();
    let mut names: Vec<String> = Vec::new();
    if let Some(caption) = entity.caption.as_str()
        && caption.trim() != schema_name
    {
        names.push(caption.to_owned());
    }
    let name = entity.prop("name");
    names.extend(name.iter().map(|n| (*n).to_owned()));
    if schema == Schema::Person && name.is_empty() {
        names.extend(compose_person_name(&entity));
    }
    for prop in ["alias", "weakAlias", "previousName"] {
        names.extend(entity.prop(prop).into_iter().map(str::to_owned));
    }

    let mut birth_dates = Vec::new();
    let date_prop = if schema == Schema::Person { "birthDate" } else { "incorporationDate" };
    for raw in entity.prop(date_prop) {
        c.date(&at, raw, &mut birth_dates);
    }

    let mut country_values = Vec::new();
    if schema == Schema::Person {
        country_values.extend(entity.prop("nationality"));
        country_values.extend(entity.prop("citizenship"));
        if country_values.is_empty() {
            country_values.extend(entity.prop("country"));
        }
    } else {
        for prop in ["jurisdiction", "country", "flag"] {
            country_values.extend(entity.prop(prop));
        }
    }
    let mut nationalities = Vec::new();
    for raw in country_values {
        c.country(&at, country_from_code(raw), raw, &mut nationalities);
    }

    let id = entity.id.as_str().unwrap_or_default();
    c.accept(start, at, id, Subject { schema, names, birth_dates, nationalities });
}

/// A person's name from its parts, first value of each; a part whose words the name already
/// has (`firstName` "Maria Aleksandrovna", `middleName` "Aleksandrovna") is left out.
fn compose_person_name(entity: &FtmEntity) -> Option<String> {
    let middle = if entity.prop("middleName").is_empty() { "fatherName" } else { "middleName" };
    let mut words: Vec<&str> = Vec::new();
    for prop in ["firstName", "secondName", middle, "lastName"] {
        let Some(part) = entity.prop(prop).first().copied() else { continue };
        let new = part.split_whitespace().any(|w| !words.iter().any(|have| have.to_lowercase() == w.to_lowercase()));
        if new {
            words.extend(part.split_whitespace());
        }
    }
    if words.is_empty() { None } else { Some(words.join(" ")) }
}

// ---------------------------------------------------------------------------------------------
// UN consolidated list XML

/// One `INDIVIDUAL_DATE_OF_BIRTH`, as written.
#[derive(Default)]
struct UnBirth {
    date: String,
    year: String,
    from_year: String,
    to_year: String,
    note: String,
}

/// One `INDIVIDUAL` or `ENTITY`, as written.
struct UnRecord {
    schema: Schema,
    ordinal: u64,
    reference: String,
    name_parts: [String; 4],
    original_script: Vec<String>,
    aliases: Vec<String>,
    alias_birth_dates: Vec<String>,
    nationalities: Vec<String>,
    births: Vec<UnBirth>,
    birth: UnBirth,
}

impl UnRecord {
    fn new(schema: Schema, ordinal: u64) -> Self {
        UnRecord {
            schema,
            ordinal,
            reference: String::new(),
            name_parts: Default::default(),
            original_script: Vec::new(),
            aliases: Vec::new(),
            alias_birth_dates: Vec::new(),
            nationalities: Vec::new(),
            births: Vec::new(),
            birth: UnBirth::default(),
        }
    }

    /// Takes the text of an element that just closed; `parent` is the element around it
    /// inside the record (`None` for the record's own children).
    fn take(&mut self, parent: Option<&[u8]>, name: &[u8], text: &str) {
        match (parent, name) {
            (None, b"FIRST_NAME") => text.clone_into(&mut self.name_parts[0]),
            (None, b"SECOND_NAME") => text.clone_into(&mut self.name_parts[1]),
            (None, b"THIRD_NAME") => text.clone_into(&mut self.name_parts[2]),
            (None, b"FOURTH_NAME") => text.clone_into(&mut self.name_parts[3]),
            (None, b"REFERENCE_NUMBER") => text.clone_into(&mut self.reference),
            (None, b"NAME_ORIGINAL_SCRIPT") => self.original_script.push(text.to_owned()),
            (None, b"INDIVIDUAL_DATE_OF_BIRTH") => self.births.push(std::mem::take(&mut self.birth)),
            (Some(b"NATIONALITY"), b"VALUE") => self.nationalities.push(text.to_owned()),
            (Some(b"INDIVIDUAL_ALIAS" | b"ENTITY_ALIAS"), b"ALIAS_NAME") => self.aliases.push(text.to_owned()),
            (Some(b"INDIVIDUAL_ALIAS" | b"ENTITY_ALIAS"), b"DATE_OF_BIRTH") => {
                self.alias_birth_dates.push(text.to_owned());
            }
            (Some(b"INDIVIDUAL_DATE_OF_BIRTH"), field) => {
                let slot = match field {
                    b"DATE" => &mut self.birth.date,
                    b"YEAR" => &mut self.birth.year,
                    b"FROM_YEAR" => &mut self.birth.from_year,
                    b"TO_YEAR" => &mut self.birth.to_year,
                    b"NOTE" => &mut self.birth.note,
                    _ => return,
                };
                text.clone_into(slot);
            }
            _ => {}
        }
    }
}

/// Nationality values that say nothing.
const NO_NATIONALITY: &[&str] = &["na", "n/a", "n.a.", "unknown", "-"];

/// Reads the UN Security Council consolidated list, streaming.
///
/// Individuals are persons named by `FIRST_NAME` to `FOURTH_NAME` joined, then
/// `NAME_ORIGINAL_SCRIPT`, then every alias, whatever its `QUALITY`: the UN marks aliases "Low"
/// when they may not suffice to identify someone, which is a matter for the reviewer, not a
/// reason to miss a match. Entities are named by `FIRST_NAME`, `NAME_ORIGINAL_SCRIPT` and their
/// aliases. Dates of birth: `DATE`, else `YEAR`, else every year from `FROM_YEAR` to `TO_YEAR` (at
/// most [`MAX_BIRTH_YEAR_SPAN`] apart), else a month and year or a year read from `NOTE`
/// ("Nov. 1973"); a `NOTE` that is only a month ("Sep.") gives `YEAR` its month; dates given with
/// aliases count too. Nationalities are country names ([`country_from_name`]; "na" is taken
/// for no nationality). The id is `REFERENCE_NUMBER`.
pub fn read_un_xml<R: BufRead>(input: R, progress: &mut dyn FnMut(u64)) -> Result<Imported, ImportError> {
    let mut reader = quick_xml::Reader::from_reader(input);
    reader.config_mut().expand_empty_elements = true;
    let mut c = Collector::new(Format::UnXml, progress);
    let mut buf = Vec::new();
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut text = String::new();
    let mut record: Option<UnRecord> = None;
    let mut seen_root = false;
    let mut ordinals = [0u64; 2];
    loop {
        buf.clear();
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(quick_xml::Error::Io(e)) => return Err(ImportError::Io(io::Error::new(e.kind(), e.to_string()))),
            Err(e) => return Err(ImportError::Xml { at: reader.error_position(), message: e.to_string() }),
        };
        match event {
            Event::Start(e) => {
                let name = e.name().as_ref().to_vec();
                if path.is_empty() {
                    if seen_root || name != b"CONSOLIDATED_LIST" {
                        return Err(ImportError::NotUnList(String::from_utf8_lossy(&name).into_owned()));
                    }
                    seen_root = true;
                }
                if path.len() == 2 {
                    let schema = match name.as_slice() {
                        b"INDIVIDUAL" => Some(Schema::Person),
                        b"ENTITY" => Some(Schema::Entity),
                        _ => None,
                    };
                    record = schema.map(|schema| {
                        let ordinal = &mut ordinals[usize::from(schema == Schema::Entity)];
                        *ordinal += 1;
                        UnRecord::new(schema, *ordinal)
                    });
                }
                path.push(name);
                text.clear();
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                if path.len() == 2 {
                    if let Some(r) = record.take() {
                        un_record(&mut c, r);
                    }
                } else if path.len() > 2
                    && let Some(r) = record.as_mut()
                {
                    let parent = (path.len() > 3).then(|| path[path.len() - 1].as_slice());
                    r.take(parent, &name, &text);
                }
                text.clear();
            }
            Event::Text(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) => {
                if let Ok(Some(ch)) = r.resolve_char_ref() {
                    text.push(ch);
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&String::from_utf8_lossy(&r)) {
                    text.push_str(s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        c.tick(reader.buffer_position());
    }
    let end = reader.buffer_position();
    if !seen_root {
        return Err(ImportError::NotUnList(String::new()));
    }
    if !path.is_empty() {
        return Err(ImportError::TruncatedXml(end));
    }
    Ok(c.finish(end))
}

fn un_record(c: &mut Collector<'_>, r: UnRecord) {
    let start = c.record_start();
    let at = if r.reference.trim().is_empty() {
        let kind = if r.schema == Schema::Person { "individual" } else { "entity" };
        format!("{kind} {}", r.ordinal)
    } else {
        format!("record {}", r.reference.trim())
    };
    let full_name = r.name_parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
    let mut names = vec![full_name];
    names.extend(r.original_script);
    names.extend(r.aliases);

    let mut birth_dates = Vec::new();
    for birth in &r.births {
        un_birth(c, &at, birth, &mut birth_dates);
    }
    for raw in &r.alias_birth_dates {
        c.date(&at, raw, &mut birth_dates);
    }

    let mut nationalities = Vec::new();
    for raw in &r.nationalities {
        if raw.trim().is_empty() || NO_NATIONALITY.iter().any(|n| raw.trim().eq_ignore_ascii_case(n)) {
            continue;
        }
        c.country(&at, country_from_name(raw), raw, &mut nationalities);
    }

    c.accept(start, at, &r.reference, Subject { schema: r.schema, names, birth_dates, nationalities });
}

/// The dates one `INDIVIDUAL_DATE_OF_BIRTH` stands for. `TYPE_OF_DATE` is not needed: `EXACT` and
/// `APPROXIMATELY` give `DATE` or `YEAR`, `BETWEEN` gives `FROM_YEAR` and `TO_YEAR`.
fn un_birth(c: &mut Collector<'_>, at: &str, b: &UnBirth, dates: &mut Vec<PartialDate>) {
    let year = |s: &str| PartialDate::parse(s).filter(|d| d.month.is_none()).map(|d| d.year);
    if !b.date.trim().is_empty() {
        c.date(at, &b.date, dates);
    } else if !b.year.trim().is_empty() {
        match year(&b.year) {
            // A note may name the month of a year ("Sep.").
            Some(y) => dates.push(PartialDate { year: y, month: lone_month(&b.note), day: None }),
            None => c.drop_value(at, Reason::BadDate, b.year.trim()),
        }
    } else if !b.from_year.trim().is_empty() || !b.to_year.trim().is_empty() {
        let (from, to) = match (b.from_year.trim(), b.to_year.trim()) {
            ("", one) | (one, "") => (one, one),
            both => both,
        };
        let range = format!("{from}–{to}");
        match (year(from), year(to)) {
            (Some(from), Some(to)) if from <= to && to - from <= MAX_BIRTH_YEAR_SPAN => {
                dates.extend((from..=to).map(|year| PartialDate { year, month: None, day: None }));
            }
            (Some(from), Some(to)) if from <= to => c.drop_value(at, Reason::DateRangeTooWide, range),
            _ => c.drop_value(at, Reason::BadDate, range),
        }
    } else if !b.note.trim().is_empty() {
        match date_from_note(&b.note) {
            Some(d) => dates.push(d),
            None => c.drop_value(at, Reason::BadDate, b.note.trim()),
        }
    }
}

/// A month and year ("Nov. 1973", "August 1961") or a lone year ("Between Aug. and Sep. 1977")
/// from a note; `None` when the note has no Gregorian year, or several ("24/06/1402 (Hijri
/// Calendar)", "30-35 years old").
fn date_from_note(note: &str) -> Option<PartialDate> {
    let tokens: Vec<&str> = note.split(|ch: char| !ch.is_alphanumeric()).filter(|t| !t.is_empty()).collect();
    let mut years = tokens
        .iter()
        .filter(|t| t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|t| t.parse::<i32>().ok());
    let year = years.next().filter(|y| (1800..=2100).contains(y))?;
    if years.next().is_some() {
        return None;
    }
    let month = match tokens.as_slice() {
        [a, b] => month_number(a).or_else(|| month_number(b)),
        _ => None,
    };
    Some(PartialDate { year, month, day: None })
}

/// The month a note names when it names only a month.
fn lone_month(note: &str) -> Option<u8> {
    let mut words = note.split(|ch: char| !ch.is_alphanumeric()).filter(|t| !t.is_empty());
    match (words.next(), words.next()) {
        (Some(word), None) => month_number(word),
        _ => None,
    }
}

/// An English month name or its three-letter abbreviation (`Sept` too).
fn month_number(word: &str) -> Option<u8> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let word = word.to_lowercase();
    if word.len() < 3 {
        return None;
    }
    let i = MONTHS.iter().position(|m| *m == word || (word.len() <= 4 && m.starts_with(&word)))?;
    u8::try_from(i + 1).ok()
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Reads CSV with a header row naming the columns, in any order and case: `id` and `name`
/// (required), `aliases` (separated by `;`), `birth_date` (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`,
/// several separated by `;`), `nationality` (ISO alpha-2 codes or English country names,
/// separated by `;`) and `schema` (a FollowTheMoney schema name, or `person` / `entity`;
/// `Person` when absent or empty). Other columns are ignored.
pub fn read_csv<R: Read>(input: R, progress: &mut dyn FnMut(u64)) -> Result<Imported, ImportError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(input);
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(csv_fatal(e)),
    };
    let column =
        |name: &str| header.iter().position(|h| h.trim_start_matches('\u{feff}').trim().eq_ignore_ascii_case(name));
    let id_col = column("id").ok_or(ImportError::MissingColumn("id"))?;
    let name_col = column("name").ok_or(ImportError::MissingColumn("name"))?;
    let aliases_col = column("aliases");
    let birth_col = column("birth_date");
    let nationality_col = column("nationality");
    let schema_col = column("schema");

    let mut c = Collector::new(Format::Csv, progress);
    let mut record = csv::StringRecord::new();
    loop {
        let before = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, csv::Position::line);
                let field = |col: Option<usize>| col.and_then(|i| record.get(i)).unwrap_or("");
                csv_row(
                    &mut c,
                    format!("line {line}"),
                    CsvRow {
                        id: field(Some(id_col)),
                        name: field(Some(name_col)),
                        aliases: field(aliases_col),
                        birth_date: field(birth_col),
                        nationality: field(nationality_col),
                        schema: field(schema_col),
                    },
                );
            }
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                if e.is_io_error() {
                    return Err(csv_fatal(e));
                }
                let detail = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("{len} fields where the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "not UTF-8".to_owned(),
                    _ => e.to_string(),
                };
                c.skip(format!("line {line}"), Reason::BadRow, detail);
                if reader.position().byte() == before {
                    break;
                }
            }
        }
        c.tick(reader.position().byte());
    }
    let end = reader.position().byte();
    Ok(c.finish(end))
}

fn csv_fatal(e: csv::Error) -> ImportError {
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(e) => ImportError::Io(e),
        _ => ImportError::CsvHeader(message),
    }
}

#[derive(Clone, Copy)]
struct CsvRow<'a> {
    id: &'a str,
    name: &'a str,
    aliases: &'a str,
    birth_date: &'a str,
    nationality: &'a str,
    schema: &'a str,
}

fn csv_row(c: &mut Collector<'_>, at: String, row: CsvRow<'_>) {
    let schema_name = row.schema.trim();
    let schema = if schema_name.is_empty() || schema_name.eq_ignore_ascii_case("person") {
        Schema::Person
    } else if schema_name.eq_ignore_ascii_case("entity") {
        Schema::Entity
    } else if let Some(schema) = party_schema(schema_name) {
        schema
    } else {
        return c.skip(at, Reason::UnknownSchema, schema_name);
    };
    let start = c.record_start();
    let mut names = vec![row.name.to_owned()];
    names.extend(row.aliases.split(';').map(str::to_owned));
    let mut birth_dates = Vec::new();
    for raw in row.birth_date.split(';') {
        c.date(&at, raw, &mut birth_dates);
    }
    let mut nationalities = Vec::new();
    for raw in row.nationality.split(';').filter(|s| !s.trim().is_empty()) {
        let found = match country_from_code(raw) {
            Country::Code(code) => Country::Code(code),
            by_code => match country_from_name(raw) {
                Country::Unknown => by_code,
                by_name => by_name,
            },
        };
        c.country(&at, found, raw, &mut nationalities);
    }
    c.accept(start, at, row.id, Subject { schema, names, birth_dates, nationalities });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_give_dates_when_they_hold_one_gregorian_year() {
        let d = |s| date_from_note(s).map(|d| d.to_string());
        assert_eq!(d("Nov. 1973 "), Some("1973-11".into()));
        assert_eq!(d("August 1961"), Some("1961-08".into()));
        assert_eq!(d("Between Aug. and Sep. 1977"), Some("1977".into()));
        assert_eq!(d("24/06/1402 (Hijri Calendar)"), None);
        assert_eq!(d("30-35 years old"), None);
        assert_eq!(d("from false passport"), None);
        assert_eq!(d("Sep."), None);
        assert_eq!(d("1970 or 1971"), None);
        assert_eq!(lone_month("Sep. "), Some(9));
        assert_eq!(lone_month("Sep. 1970"), None);
        assert_eq!(lone_month(""), None);
    }

    #[test]
    fn months_by_name_or_abbreviation() {
        assert_eq!(month_number("Sept"), Some(9));
        assert_eq!(month_number("may"), Some(5));
        assert_eq!(month_number("DECEMBER"), Some(12));
        assert_eq!(month_number("ma"), None);
        assert_eq!(month_number("marching"), None);
    }

    #[test]
    fn names_are_cleaned_and_deduplicated_in_order() {
        assert_eq!(clean("  Jean \t Paul\n"), "Jean Paul");
        let mut v = vec!["b", "a", "b", "c", "a"];
        dedup(&mut v);
        assert_eq!(v, ["b", "a", "c"]);
    }
}
