//! `legion screen pairs` and `legion screen batch`: the matcher on files, without a server.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use legion_domain::CountryCode;
use legion_screening::index::Index;
use legion_screening::score::{Prepared, THRESHOLD, compare};
use legion_screening::variants::Variants;
use legion_screening::{Entries, PartialDate, Schema, Subject, import};

/// Screening from the command line.
#[derive(Debug, Subcommand)]
pub enum ScreenCmd {
    /// Scores name pairs, one per CSV row: columns `id,name1,name2` and, where present,
    /// `schema,dob1,dob2,nationality1,nationality2` (other columns are ignored; without
    /// `id` the row number is used). Writes `id,score,match,explanation`.
    Pairs {
        /// The pairs (CSV with a header row).
        #[arg(long)]
        input: PathBuf,
        /// Where to write the scores (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Score from which a pair counts as a match.
        #[arg(long, default_value_t = THRESHOLD)]
        threshold: f32,
        /// Known spellings of names across scripts (`form, form, … => id` a line, as the
        /// name-variant corpus); without it, transliteration rules alone.
        #[arg(long)]
        name_variants: Option<PathBuf>,
    },
    /// Screens people against watchlists: one JSON line per query with its hits.
    Batch {
        /// A watchlist: FollowTheMoney JSON lines, the UN consolidated-list XML, or CSV
        /// (`id,name,aliases,birth_date,nationality`). Repeat for several.
        #[arg(long = "watchlist", required = true)]
        watchlists: Vec<PathBuf>,
        /// The people to screen (CSV: `id,name,birth_date,nationality`).
        #[arg(long)]
        queries: PathBuf,
        /// At most this many hits per query, best first.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Lowest score reported as a hit (those below the threshold carry `"match": false`).
        #[arg(long, default_value_t = 0.6)]
        min_score: f32,
        /// Where to write the results (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Known spellings of names across scripts (`form, form, … => id` a line, as the
        /// name-variant corpus); without it, transliteration rules alone.
        #[arg(long)]
        name_variants: Option<PathBuf>,
    },
}

/// Runs a screening command.
pub fn run(command: ScreenCmd) -> Result<()> {
    match command {
        ScreenCmd::Pairs { input, output, threshold, name_variants } => {
            let known = name_variants.as_deref().map(crate::read_name_variants).transpose()?;
            pairs(&input, output.as_deref(), threshold, known.as_deref())
        }
        ScreenCmd::Batch { watchlists, queries, top, min_score, output, name_variants } => {
            let known = name_variants.as_deref().map(crate::read_name_variants).transpose()?;
            batch(&watchlists, &queries, top, min_score, output.as_deref(), known)
        }
    }
}

fn out(path: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

/// Column positions in a CSV header.
struct Columns(csv::StringRecord);

impl Columns {
    fn find(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|h| h.trim().eq_ignore_ascii_case(name))
    }

    fn need(&self, name: &str, file: &Path) -> Result<usize> {
        self.find(name).ok_or_else(|| anyhow!("{}: the header has no `{name}` column", file.display()))
    }
}

fn field(row: &csv::StringRecord, at: Option<usize>) -> &str {
    at.and_then(|i| row.get(i)).map_or("", str::trim)
}

fn date(value: &str, line: u64, column: &str) -> Result<Vec<PartialDate>> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    PartialDate::parse(value)
        .map(|d| vec![d])
        .ok_or_else(|| anyhow!("line {line}: `{column}` is not a date (YYYY, YYYY-MM or YYYY-MM-DD): {value:?}"))
}

fn nationality(value: &str, line: u64, column: &str) -> Result<Vec<String>> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    CountryCode::parse(value)
        .map(|c| vec![c.as_str().to_owned()])
        .ok_or_else(|| anyhow!("line {line}: `{column}` is not an ISO 3166-1 alpha-2 country code: {value:?}"))
}

fn reader(path: &Path) -> Result<(csv::Reader<std::fs::File>, Columns)> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let header = r.headers().with_context(|| format!("{}: cannot read the header", path.display()))?.clone();
    Ok((r, Columns(header)))
}

fn pairs(input: &Path, output: Option<&Path>, threshold: f32, known: Option<&Variants>) -> Result<()> {
    let (mut r, cols) = reader(input)?;
    let (name1, name2) = (cols.need("name1", input)?, cols.need("name2", input)?);
    let id = cols.find("id");
    let schema = cols.find("schema");
    let (dob1, dob2) = (cols.find("dob1"), cols.find("dob2"));
    let (nat1, nat2) = (cols.find("nationality1"), cols.find("nationality2"));
    // Read and check every row before writing anything.
    let mut rows = Vec::new();
    for (n, row) in r.records().enumerate() {
        let line = n as u64 + 2;
        let row = row.with_context(|| format!("{}: line {line} cannot be read", input.display()))?;
        let schema = Schema::from_ftm(match field(&row, schema) {
            "" => "Person",
            s => s,
        });
        let subject = |name: usize, dob, dob_col: &str, nat, nat_col: &str| -> Result<Subject> {
            let name = field(&row, Some(name));
            if name.is_empty() {
                bail!("line {line}: a name is empty");
            }
            Ok(Subject {
                schema,
                names: vec![name.to_owned()],
                birth_dates: date(field(&row, dob), line, dob_col)?,
                nationalities: nationality(field(&row, nat), line, nat_col)?,
            })
        };
        let a = subject(name1, dob1, "dob1", nat1, "nationality1")?;
        let b = subject(name2, dob2, "dob2", nat2, "nationality2")?;
        let id = match field(&row, id) {
            "" => (n + 1).to_string(),
            id => id.to_owned(),
        };
        rows.push((id, a, b));
    }
    let mut w = csv::Writer::from_writer(out(output)?);
    w.write_record(["id", "score", "match", "explanation"])?;
    for (id, a, b) in rows {
        let c = compare(&Prepared::with_variants(&a, known), &Prepared::with_variants(&b, known));
        w.write_record([id, format!("{:.3}", c.score), (c.score >= threshold).to_string(), c.explanation])?;
    }
    w.flush()?;
    Ok(())
}

fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:30} [{bar:30}] {percent:>3}% {elapsed}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Reads the watchlists, reporting each file's counts and what was skipped: every entry, and
/// each file's name with the number of entries read up to its end.
fn load_watchlists(files: &[PathBuf]) -> Result<(Entries, Vec<(String, usize)>)> {
    let mut entries = Entries::new();
    let mut ends = Vec::new();
    for path in files {
        let size = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let bar = progress_bar(size, &name);
        let imported = import::read_path(path, &mut |bytes| bar.set_position(bytes))
            .with_context(|| format!("{} cannot be read as a watchlist", path.display()))?;
        bar.finish_and_clear();
        eprintln!("{name}: {}", imported.summary());
        entries.extend(imported.entries.iter());
        ends.push((name, entries.len()));
    }
    Ok((entries, ends))
}

fn batch(
    watchlists: &[PathBuf],
    queries: &Path,
    top: usize,
    min_score: f32,
    output: Option<&Path>,
    known: Option<std::sync::Arc<Variants>>,
) -> Result<()> {
    // The queries first: a mistake in them should not wait for a large list to load.
    let (mut r, cols) = reader(queries)?;
    let (id_col, name_col) = (cols.need("id", queries)?, cols.need("name", queries)?);
    let (dob_col, nat_col) = (cols.find("birth_date"), cols.find("nationality"));
    let mut people = Vec::new();
    for (n, row) in r.records().enumerate() {
        let line = n as u64 + 2;
        let row = row.with_context(|| format!("{}: line {line} cannot be read", queries.display()))?;
        let (id, name) = (field(&row, Some(id_col)), field(&row, Some(name_col)));
        if id.is_empty() || name.is_empty() {
            bail!("{}: line {line} needs an id and a name", queries.display());
        }
        people.push((
            id.to_owned(),
            Subject {
                schema: Schema::Person,
                names: vec![name.to_owned()],
                birth_dates: date(field(&row, dob_col), line, "birth_date")?,
                nationalities: nationality(field(&row, nat_col), line, "nationality")?,
            },
        ));
    }
    let (listed, lists) = load_watchlists(watchlists)?;
    let list_of = |position: usize| lists.iter().find(|(_, end)| position < *end).map_or("", |(name, _)| name.as_str());
    let n = listed.len() as u64;
    let bar = progress_bar(n, "indexing");
    let index = Index::build_with_variants(listed, known, |done| {
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    eprintln!("{} entries indexed; screening {} people", index.len(), people.len());
    let mut w = out(output)?;
    for (id, subject) in &people {
        let hits: Vec<serde_json::Value> = index
            .search(subject, top, min_score)
            .into_iter()
            .map(|h| {
                serde_json::json!({
                    "list": list_of(h.position),
                    "entry_id": h.entry_id,
                    "score": (f64::from(h.comparison.score) * 1000.0).round() / 1000.0,
                    "match": h.comparison.matched,
                    "explanation": h.comparison.explanation,
                })
            })
            .collect();
        serde_json::to_writer(&mut w, &serde_json::json!({ "id": id, "hits": hits }))?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}
