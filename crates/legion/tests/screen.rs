//! `legion screen pairs`, `legion screen batch`, and `legion serve` with watchlists, as an
//! operator runs them.

use std::process::Command;

fn legion(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_legion"));
    c.current_dir(dir).env_remove("LEGION_DB").env_remove("LEGION_DATA_DIR").env_remove("LEGION_WATCHLISTS");
    c
}

fn run(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = legion(dir).args(args).output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

const UN_SLICE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../screening/tests/data/un-consolidated-slice.xml");

#[test]
fn pairs_are_scored_with_explanations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pairs.csv"),
        "id,name1,name2,dob1,dob2,nationality1,nationality2,note\n\
         p1,Oleksandr Shevchenko,Александр Шевченко,1985-04-12,1985-04-12,UA,UA,ignored\n\
         p2,Rami Makhlouf,Ihab Makhlouf,,,,,\n\
         p3,Ivan Petrenko,Ivan Petrenko,1990-05-01,1971-11-23,,,\n",
    )
    .unwrap();
    let (ok, out, err) = run(dir.path(), &["screen", "pairs", "--input", "pairs.csv"]);
    assert!(ok, "{err}");
    let mut rows = csv::Reader::from_reader(out.as_bytes());
    assert_eq!(rows.headers().unwrap(), vec!["id", "score", "match", "explanation"]);
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    let get = |id: &str| rows.iter().find(|r| &r[0] == id).unwrap().clone();
    assert_eq!(&get("p1")[2], "true", "{:?}", get("p1"));
    assert!(get("p1")[3].contains("shevchenko = shevchenko") && get("p1")[3].contains("date of birth 1985-04-12"));
    assert_eq!(&get("p2")[2], "false", "a different given name: {:?}", get("p2"));
    assert_eq!(&get("p3")[2], "false", "the same name born years apart: {:?}", get("p3"));
    assert!(get("p3")[3].contains("dates of birth differ"));
    // A laxer threshold, and output to a file: the namesakes born years apart now match.
    let (ok, _, err) =
        run(dir.path(), &["screen", "pairs", "--input", "pairs.csv", "--threshold", "0.7", "--output", "out.csv"]);
    assert!(ok, "{err}");
    let written = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert!(written.lines().any(|l| l.starts_with("p3,0.700,true,")), "{written}");

    // Bad input: a clear message with the line, and nothing written.
    std::fs::write(dir.path().join("bad.csv"), "id,name1,name2,dob1\nx,A B,A B,1990-02-31\n").unwrap();
    let (ok, _, err) = run(dir.path(), &["screen", "pairs", "--input", "bad.csv", "--output", "bad-out.csv"]);
    assert!(!ok && err.contains("line 2") && err.contains("dob1"), "{err}");
    assert!(!dir.path().join("bad-out.csv").exists());
    std::fs::write(dir.path().join("nocol.csv"), "id,first,second\nx,A,B\n").unwrap();
    let (ok, _, err) = run(dir.path(), &["screen", "pairs", "--input", "nocol.csv"]);
    assert!(!ok && err.contains("`name1`"), "{err}");
}

#[test]
fn batch_screens_people_against_several_lists() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("internal.csv"),
        "id,name,aliases,birth_date,nationality\nI-1,Viktor Bout,Виктор Бут,1967-01-13,RU\nI-2,,,,\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("people.csv"),
        "id,name,birth_date,nationality\n\
         q1,Bosco Taganda,,\n\
         q2,Віктор Бут,1967-01-13,\n\
         q3,Emily Hartley,1991-03-03,GB\n",
    )
    .unwrap();
    let (ok, out, err) = run(
        dir.path(),
        &["screen", "batch", "--watchlist", UN_SLICE, "--watchlist", "internal.csv", "--queries", "people.csv"],
    );
    assert!(ok, "{err}");
    // Each list is summarised, with what was skipped and why.
    assert!(err.contains("un-consolidated-slice.xml: 15 entries imported"), "{err}");
    assert!(err.contains("internal.csv: 1 entry imported") && err.contains("no usable name"), "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    let best = |q: usize| lines[q]["hits"][0].clone();
    assert_eq!(lines[0]["id"], "q1");
    assert_eq!((best(0)["list"].as_str(), best(0)["match"].as_bool()), (Some("un-consolidated-slice.xml"), Some(true)));
    assert!(best(0)["explanation"].as_str().unwrap().contains("taganda = taganda"), "{}", best(0));
    assert_eq!((best(1)["entry_id"].as_str(), best(1)["match"].as_bool()), (Some("I-1"), Some(true)), "{}", lines[1]);
    assert!(lines[2]["hits"].as_array().unwrap().iter().all(|h| h["match"] == false), "{}", lines[2]);

    // A query file with a bad row stops before any list is read.
    std::fs::write(dir.path().join("bad.csv"), "id,name,birth_date,nationality\nq1,Someone,,XX\n").unwrap();
    let (ok, _, err) = run(dir.path(), &["screen", "batch", "--watchlist", UN_SLICE, "--queries", "bad.csv"]);
    assert!(!ok && err.contains("line 2") && err.contains("nationality"), "{err}");
    // A list that cannot be read is named.
    std::fs::write(dir.path().join("broken.xml"), "<NOT_THE_UN_LIST/>").unwrap();
    let (ok, _, err) = run(dir.path(), &["screen", "batch", "--watchlist", "broken.xml", "--queries", "people.csv"]);
    assert!(!ok && err.contains("broken.xml"), "{err}");
}

#[test]
fn serve_refuses_to_start_with_a_watchlist_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let lists = dir.path().join("legion-data").join("watchlists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(lists.join("broken.csv"), "identifier,label\nx,y\n").unwrap();
    let out = legion(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("broken.csv") && err.contains("name"), "{err}");
}

#[test]
fn known_spellings_from_a_file_link_what_rules_cannot() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pairs.csv"), "id,name1,name2\np1,Ginger Herzberg,Dzhindzher Khertsberg\n").unwrap();
    std::fs::write(dir.path().join("variants.txt"), "herzberg, херцберг => Q1\nginger, джинджер => Q2\n").unwrap();
    let (ok, out, err) = run(dir.path(), &["screen", "pairs", "--input", "pairs.csv"]);
    assert!(ok, "{err}");
    assert!(out.lines().nth(1).unwrap().contains(",false,"), "{out}");
    let (ok, out, err) =
        run(dir.path(), &["screen", "pairs", "--input", "pairs.csv", "--name-variants", "variants.txt"]);
    assert!(ok, "{err}");
    let row = out.lines().nth(1).unwrap();
    assert!(row.contains(",true,") && row.contains("known spelling"), "{out}");
    let (ok, _, err) = run(dir.path(), &["screen", "pairs", "--input", "pairs.csv", "--name-variants", "missing.txt"]);
    assert!(!ok && err.contains("missing.txt"), "{err}");
}
