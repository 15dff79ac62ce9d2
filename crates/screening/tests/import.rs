//! Watchlist import: every format, every reason to skip or drop, the real lists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use legion_screening::import::{
    Country, Format, ImportError, Imported, MAX_BIRTH_YEAR_SPAN, Reason, Skipped, country_from_code, country_from_name,
    read, read_csv, read_ftm, read_path, read_un_xml,
};
use legion_screening::{Entry, PartialDate, Schema};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Helpers

fn no_progress() -> impl FnMut(u64) {
    |_| {}
}

fn ftm(text: &str) -> Imported {
    read_ftm(text.as_bytes(), &mut no_progress()).expect("JSON lines never fail as a whole")
}

fn un(text: &str) -> Result<Imported, ImportError> {
    read_un_xml(text.as_bytes(), &mut no_progress())
}

fn un_doc(individuals: &str, entities: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CONSOLIDATED_LIST>\n<INDIVIDUALS>{individuals}</INDIVIDUALS>\n\
         <ENTITIES>{entities}</ENTITIES>\n</CONSOLIDATED_LIST>\n"
    )
}

fn csv(text: &str) -> Result<Imported, ImportError> {
    read_csv(text.as_bytes(), &mut no_progress())
}

fn test_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// A file of the shared reference data, when this checkout has it.
fn shared_data(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("LEGION_SHARED_DATA")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"), PathBuf::from);
    let path = dir.join(name);
    if path.is_file() {
        Some(path)
    } else {
        println!("skipped: {} is not present", path.display());
        None
    }
}

fn entry(imported: &Imported, id: &str) -> Entry {
    imported.entries.iter().find(|e| e.id == id).unwrap_or_else(|| panic!("no entry {id}"))
}

fn date(s: &str) -> PartialDate {
    PartialDate::parse(s).unwrap()
}

fn dates(list: &[&str]) -> Vec<PartialDate> {
    list.iter().map(|s| date(s)).collect()
}

fn problems(list: &[Skipped]) -> Vec<(&str, Reason, &str)> {
    list.iter().map(|s| (s.at.as_str(), s.reason, s.detail.as_str())).collect()
}

fn reasons(list: &[Skipped]) -> Vec<Reason> {
    list.iter().map(|s| s.reason).collect()
}

fn count(list: &[Skipped], reason: Reason) -> usize {
    list.iter().filter(|s| s.reason == reason).count()
}

fn schemas(imported: &Imported) -> (usize, usize) {
    let persons = imported.entries.iter().filter(|e| e.subject.schema == Schema::Person).count();
    (persons, imported.entries.len() - persons)
}

/// What every reader promises of what it returns.
fn check_invariants(imported: &Imported) {
    let mut ids = std::collections::HashSet::new();
    for e in imported.entries.iter() {
        assert!(!e.id.is_empty() && e.id.trim() == e.id, "id {:?}", e.id);
        assert!(ids.insert(e.id.clone()), "duplicate id {:?}", e.id);
        assert!(!e.subject.names.is_empty());
        for (i, n) in e.subject.names.iter().enumerate() {
            assert!(!n.is_empty() && n.split_whitespace().collect::<Vec<_>>().join(" ") == *n, "name {n:?}");
            assert!(!e.subject.names[..i].contains(n), "duplicate name {n:?}");
        }
        for c in &e.subject.nationalities {
            assert!(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()), "nationality {c:?}");
            assert!(matches!(country_from_code(c), Country::Code(_)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// FollowTheMoney

#[test]
fn ftm_slice_of_the_real_fixture() {
    let imported = read_path(&test_data("ftm-slice.jsonl"), &mut no_progress()).unwrap();
    check_invariants(&imported);
    assert_eq!(imported.format, Format::FollowTheMoney);
    assert_eq!(imported.entries.len(), 4);
    assert_eq!(schemas(&imported), (2, 2));
    assert!(imported.skipped.is_empty(), "{:?}", imported.skipped);
    assert!(imported.dropped.is_empty(), "{:?}", imported.dropped);
    let others: BTreeMap<String, u64> =
        [("Address", 1), ("Family", 1), ("Ownership", 1), ("Sanction", 1)].map(|(k, n)| (k.to_owned(), n)).into();
    assert_eq!(imported.other_records, others);

    let osetrova = entry(&imported, "NK-2Tbri3s6GgNtAwsSXh4qpL");
    let names = &osetrova.subject.names;
    assert_eq!(names[0], "Maria Aleksandrovna Osetrova", "the caption comes first");
    assert_eq!(names[1], "OSETROVA, Maria Aleksandrovna");
    assert_eq!(names.iter().filter(|n| *n == "Maria Aleksandrovna Osetrova").count(), 1);
    for name in ["Мария Александровна Осетрова", "Zakharova Mariia Oleksandrivna", "Мария Александровна Захарова"]
    {
        assert!(names.contains(&name.to_owned()), "{name}");
    }
    let alias = names.iter().position(|n| n == "Zakharova Mariia Oleksandrivna").unwrap();
    let previous = names.iter().position(|n| n == "Мария Александровна Захарова").unwrap();
    assert!(alias < previous, "aliases before previous names");
    assert_eq!(osetrova.subject.birth_dates, dates(&["1988-01-07"]));
    assert_eq!(osetrova.subject.nationalities, ["RU"]);

    let abashkin = entry(&imported, "NK-mCEmxFfuhfdjpC8gsxH74o");
    assert_eq!(abashkin.subject.schema, Schema::Person);
    assert_eq!(abashkin.subject.names[0], "Абашкін Костянтин Ігорьович");
    assert_eq!(abashkin.subject.nationalities, ["RU"], "citizenship when there is no nationality");

    let zala = entry(&imported, "NK-cPks3aTbes8k4aCerfBAzN");
    assert_eq!(zala.subject.schema, Schema::Entity);
    assert_eq!(zala.subject.names[0], "Акціонерне товариство \"Зала Аеро\"");
    assert!(zala.subject.names.contains(&"ZALA AERO JSC".to_owned()));
    assert_eq!(zala.subject.birth_dates, dates(&["2024-03-22"]), "incorporation date");
    assert_eq!(zala.subject.nationalities, ["RU"]);
}

#[test]
fn ftm_whole_real_fixture_when_present() {
    let Some(path) = shared_data("ftm-sample-entities.json") else { return };
    let imported = read_path(&path, &mut no_progress()).unwrap();
    check_invariants(&imported);
    println!("{}", imported.summary());
    assert_eq!(schemas(&imported), (6, 11));
    assert_eq!(imported.other_records.values().sum::<u64>(), 74);
    assert_eq!(imported.other_records["Sanction"], 41);
    assert!(imported.skipped.is_empty(), "{:?}", imported.skipped);
    assert!(imported.dropped.is_empty(), "{:?}", imported.dropped);
}

#[test]
fn ftm_names_caption_first_then_name_alias_weak_alias_previous_name() {
    let imported = ftm(
        r#"{"id":"e1","caption":"B","schema":"Company","properties":{"name":["A","B"],"alias":[" A ","C  c"],"weakAlias":["D"],"previousName":["E","C c"]}}"#,
    );
    assert_eq!(imported.entries.get(0).subject.names, ["B", "A", "C c", "D", "E"]);
}

#[test]
fn ftm_person_without_name_gets_one_from_its_parts() {
    let imported = ftm(concat!(
        r#"{"id":"p1","caption":"Person","schema":"Person","properties":{"firstName":["Maria Aleksandrovna","Maria"],"#,
        r#""middleName":["Aleksandrovna"],"fatherName":["АЛЕКСАНДРОВНА"],"lastName":["Osetrova"],"alias":["Masha"]}}"#,
        "\n",
        r#"{"id":"p2","schema":"Person","properties":{"firstName":["Ivan"],"secondName":["I."],"fatherName":["Petrovich"],"lastName":["Sidorov"]}}"#,
        "\n",
        r#"{"id":"p3","schema":"Person","properties":{"name":["Given Name"],"firstName":["Other"],"lastName":["Parts"]}}"#,
    ));
    assert!(imported.skipped.is_empty(), "{:?}", imported.skipped);
    assert_eq!(entry(&imported, "p1").subject.names, ["Maria Aleksandrovna Osetrova", "Masha"]);
    assert_eq!(entry(&imported, "p2").subject.names, ["Ivan I. Petrovich Sidorov"]);
    assert_eq!(entry(&imported, "p3").subject.names, ["Given Name"], "parts only when there is no name");
}

#[test]
fn ftm_dates_that_do_not_parse_are_dropped_and_counted() {
    let imported = ftm(
        r#"{"id":"p","schema":"Person","caption":"P","properties":{"birthDate":["1970","1970-05","1970-05-06","circa 1970","1970-02-30","1970-05"],"incorporationDate":["2001"]}}"#,
    );
    let subject = imported.entries.get(0).subject;
    assert_eq!(subject.birth_dates, dates(&["1970", "1970-05", "1970-05-06"]));
    assert_eq!(
        problems(&imported.dropped),
        [("line 1", Reason::BadDate, "circa 1970"), ("line 1", Reason::BadDate, "1970-02-30")]
    );
    let company = ftm(
        r#"{"id":"c","schema":"LegalEntity","caption":"C","properties":{"incorporationDate":["2001-02"],"birthDate":["1990"]}}"#,
    );
    assert_eq!(company.entries.get(0).subject.schema, Schema::Entity);
    assert_eq!(company.entries.get(0).subject.birth_dates, dates(&["2001-02"]));
}

#[test]
fn ftm_countries_become_assigned_upper_case_codes() {
    let imported = ftm(concat!(
        r#"{"id":"a","schema":"Person","caption":"A","properties":{"nationality":["ru","suhh","xk"],"citizenship":["RU","ua"],"country":["gb"]}}"#,
        "\n",
        r#"{"id":"b","schema":"Person","caption":"B","properties":{"country":["gb","Russia!"]}}"#,
        "\n",
        r#"{"id":"c","schema":"Company","caption":"C","properties":{"jurisdiction":["cy"],"country":["ru","cy"]}}"#,
        "\n",
        r#"{"id":"d","schema":"Vessel","caption":"D","properties":{"flag":["pa"]}}"#,
    ));
    assert_eq!(entry(&imported, "a").subject.nationalities, ["RU", "UA"], "country only without nationality");
    assert_eq!(entry(&imported, "b").subject.nationalities, ["GB"]);
    assert_eq!(entry(&imported, "c").subject.nationalities, ["CY", "RU"]);
    assert_eq!(entry(&imported, "d").subject.nationalities, ["PA"]);
    assert_eq!(
        problems(&imported.dropped),
        [
            ("line 1", Reason::CountryWithoutCode, "suhh"),
            ("line 1", Reason::CountryWithoutCode, "xk"),
            ("line 2", Reason::UnknownCountry, "Russia!"),
        ]
    );
}

#[test]
fn ftm_every_reason_to_skip_a_line() {
    let text = [
        "this is not json",
        "[1, 2, 3]",
        r#"{"id":"x","caption":"X","properties":{}}"#,
        r#"{"schema":"Person","caption":"No Id"}"#,
        "",
        r#"{"id":"n","schema":"Person","caption":"  ","properties":{"birthDate":["1970","x"],"alias":[""]}}"#,
        r#"{"id":"ok","schema":"Person","caption":"Fine"}"#,
        r#"{"id":"ok","schema":"Organization","caption":"Again","properties":{"country":["zz"]}}"#,
        r#"{"id":7,"schema":"Person","caption":"Numeric id"}"#,
        r#"{"id":"s","schema":"Sanction","caption":"Sanction"}"#,
        r#"{"id":"t","schema":"Pers"#,
    ]
    .join("\n");
    let imported = ftm(&text);
    check_invariants(&imported);
    assert_eq!(imported.entries.len(), 1);
    assert_eq!(
        reasons(&imported.skipped),
        [
            Reason::NotJson,
            Reason::NotAnEntity,
            Reason::NotAnEntity,
            Reason::NoId,
            Reason::NoName,
            Reason::DuplicateId,
            Reason::NoId,
            Reason::NotJson,
        ]
    );
    let lines: Vec<&str> = imported.skipped.iter().map(|s| s.at.as_str()).collect();
    assert_eq!(lines, ["line 1", "line 2", "line 3", "line 4", "line 6", "line 8", "line 9", "line 11"]);
    assert_eq!(imported.skipped[2].detail, "no schema");
    assert!(imported.dropped.is_empty(), "nothing is dropped from what is skipped: {:?}", imported.dropped);
    assert_eq!(imported.other_records["Sanction"], 1);
}

#[test]
fn ftm_byte_order_mark_crlf_lone_strings_and_other_json_types() {
    let imported = ftm(concat!(
        "\u{feff}",
        r#"{"id":"a","schema":"Person","properties":{"name":["A",5,null],"alias":"B","birthDate":"1970"}}"#,
        "\r\n\r\n",
        r#"{"id":"b","schema":"Airplane","caption":"B","properties":null}"#,
        "\r\n",
    ));
    assert!(imported.skipped.is_empty(), "{:?}", imported.skipped);
    assert_eq!(entry(&imported, "a").subject.names, ["A", "B"]);
    assert_eq!(entry(&imported, "a").subject.birth_dates, dates(&["1970"]));
    assert_eq!(entry(&imported, "b").subject.schema, Schema::Entity);
}

#[test]
fn ftm_line_that_is_not_utf8_is_skipped() {
    let mut bytes = br#"{"id":"a","schema":"Person","caption":"A"}"#.to_vec();
    bytes.extend_from_slice(b"\n{\"id\":\"b\",\"caption\":\"\xff\xfe\"}\n");
    let imported = read_ftm(bytes.as_slice(), &mut no_progress()).unwrap();
    assert_eq!(imported.entries.len(), 1);
    assert_eq!(imported.skipped[0].at, "line 2");
    assert_eq!(imported.skipped[0].reason, Reason::NotJson);
}

// ---------------------------------------------------------------------------------------------
// UN consolidated list

#[test]
fn un_slice_of_the_real_list() {
    let imported = read_path(&test_data("un-consolidated-slice.xml"), &mut no_progress()).unwrap();
    check_invariants(&imported);
    assert_eq!(imported.format, Format::UnXml);
    assert_eq!(schemas(&imported), (12, 3));
    assert!(imported.skipped.is_empty(), "{:?}", imported.skipped);
    assert!(imported.other_records.is_empty());

    let badege = entry(&imported, "CDi.001");
    assert_eq!(badege.subject.names, ["ERIC BADEGE"], "the empty alias is no name");
    assert_eq!(badege.subject.birth_dates, dates(&["1971"]));
    assert_eq!(badege.subject.nationalities, ["CD"]);

    let iyamuremye = entry(&imported, "CDi.003");
    assert_eq!(
        iyamuremye.subject.names,
        ["GASTON IYAMUREMYE", "Rumuli", "Byiringiro Victor Rumuli", "Victor Rumuri", "Michel Byiringiro"],
        "low-quality aliases are kept"
    );
    assert_eq!(iyamuremye.subject.nationalities, ["RW"]);

    assert_eq!(entry(&imported, "CDi.004").subject.birth_dates, dates(&["1973-11"]), "from the note \"Nov. 1973\"");
    assert_eq!(entry(&imported, "CDi.030").subject.birth_dates, dates(&["1973", "1974"]));
    assert_eq!(
        entry(&imported, "TAi.002").subject.birth_dates,
        dates(&["1955", "1956", "1957", "1958", "1945", "1946", "1947", "1948", "1949", "1950"])
    );
    assert_eq!(entry(&imported, "TAi.002").subject.names[1], "محمد حسن آخوند");

    let jang = entry(&imported, "KPi.016");
    assert_eq!(jang.subject.nationalities, ["KP"]);
    assert_eq!(jang.subject.birth_dates, dates(&["1957-04-15", "1958-02-22"]), "with the alias's date of birth");
    assert!(jang.subject.names.contains(&"Jang Hyon U".to_owned()));

    assert_eq!(entry(&imported, "IRi.009").subject.nationalities, ["IR"]);
    assert_eq!(entry(&imported, "IRi.009").subject.birth_dates, dates(&["1952-12-31"]));

    let mostafa = entry(&imported, "QDi.067");
    assert_eq!(mostafa.subject.names[..2], ["MOSTAFA KAMEL MOSTAFA IBRAHIM", "مصطفى كمال مصطفى ابراهيم"]);
    assert_eq!(mostafa.subject.nationalities, ["GB"]);

    let umarov = entry(&imported, "QDi.290");
    assert_eq!(umarov.subject.names[..2], ["DOKU KHAMATOVICH UMAROV", "Умаров Доку Хаматович"]);
    assert_eq!(umarov.subject.nationalities, ["RU"]);
    assert_eq!(umarov.subject.birth_dates[..4], dates(&["1964-04-13", "1965-04-13", "1964-05-12", "1955"]));

    assert_eq!(entry(&imported, "QDi.291").subject.birth_dates, dates(&["1982-04-19", "1982-04-18"]));
    let al_hasri = entry(&imported, "QDi.399");
    assert_eq!(al_hasri.subject.nationalities, ["SY", "PS"]);
    assert_eq!(al_hasri.subject.birth_dates, dates(&["1969-01-01", "1971"]));
    assert_eq!(al_hasri.subject.names[1], "بسام أحمد الحصري");
    assert!(entry(&imported, "SDi.001").subject.nationalities.is_empty(), "\"na\" is no nationality");

    let al_qaida = entry(&imported, "QDe.004");
    assert_eq!(al_qaida.subject.schema, Schema::Entity);
    assert_eq!(al_qaida.subject.names[..2], ["AL-QAIDA", "القاعدة"]);
    assert!(al_qaida.subject.names.len() > 5);
    assert!(al_qaida.subject.birth_dates.is_empty() && al_qaida.subject.nationalities.is_empty());
    assert_eq!(entry(&imported, "CDe.001").subject.names[0], "ADF");

    assert_eq!(
        problems(&imported.dropped),
        [
            ("record QDi.290", Reason::CountryWithoutCode, "former Soviet Union"),
            ("record QDi.291", Reason::BadDate, "24/06/1402 (Hijri Calendar)"),
        ]
    );
}

#[test]
fn un_whole_real_list_when_present() {
    let Some(path) = shared_data("un-consolidated-list.xml") else { return };
    let imported = read_path(&path, &mut no_progress()).unwrap();
    check_invariants(&imported);
    println!("{}", imported.summary());
    assert_eq!(schemas(&imported), (730, 273));
    assert!(imported.skipped.is_empty(), "{:?}", imported.skipped);
    assert_eq!(count(&imported.dropped, Reason::UnknownCountry), 0, "{:?}", imported.dropped);
    assert_eq!(count(&imported.dropped, Reason::CountryWithoutCode), 1, "former Soviet Union");
    assert_eq!(count(&imported.dropped, Reason::DateRangeTooWide), 0);
    assert_eq!(count(&imported.dropped, Reason::BadDate), 2, "\"30-35 years old\" and a Hijri date");
    let sep = imported.entries.iter().find(|e| e.subject.birth_dates.contains(&date("1958-09")));
    assert!(sep.is_some(), "YEAR 1958 with the NOTE \"Sep.\"");
    let with_nationality = imported.entries.iter().filter(|e| !e.subject.nationalities.is_empty()).count();
    assert!(with_nationality > 600, "{with_nationality}");
}

fn individual(reference: &str, inner: &str) -> String {
    format!("<INDIVIDUAL><REFERENCE_NUMBER>{reference}</REFERENCE_NUMBER>{inner}</INDIVIDUAL>")
}

fn born(inner: &str) -> String {
    format!("<INDIVIDUAL_DATE_OF_BIRTH>{inner}</INDIVIDUAL_DATE_OF_BIRTH>")
}

#[test]
fn un_between_years_become_every_year_up_to_the_cap() {
    let name = "<FIRST_NAME>A</FIRST_NAME>";
    let between = |from: &str, to: &str| {
        born(&format!("<TYPE_OF_DATE>BETWEEN</TYPE_OF_DATE><FROM_YEAR>{from}</FROM_YEAR><TO_YEAR>{to}</TO_YEAR>"))
    };
    let doc = un_doc(
        &[
            individual("X.1", &format!("{name}{}", between("1950", "1960"))),
            individual("X.2", &format!("{name}{}", between("1940", "1961"))),
            individual("X.3", &format!("{name}{}", between("1960", "1950"))),
            individual(
                "X.4",
                &format!("{name}{}", born("<TYPE_OF_DATE>BETWEEN</TYPE_OF_DATE><FROM_YEAR>1970</FROM_YEAR>")),
            ),
            individual("X.5", &format!("{name}{}", between("19x0", "1975"))),
            individual(
                "X.6",
                &format!(
                    "{name}{}{}",
                    born("<TYPE_OF_DATE>APPROXIMATELY</TYPE_OF_DATE><YEAR>1966</YEAR><NOTE>Approximately</NOTE>"),
                    born("<TYPE_OF_DATE/>")
                ),
            ),
        ]
        .concat(),
        "",
    );
    let imported = un(&doc).unwrap();
    assert_eq!(imported.entries.len(), 6, "dates are dropped, not entries");
    let years = |id| entry(&imported, id).subject.birth_dates.iter().map(|d| d.year).collect::<Vec<_>>();
    assert_eq!(years("X.1"), (1950..=1950 + MAX_BIRTH_YEAR_SPAN).collect::<Vec<_>>());
    assert!(years("X.2").is_empty() && years("X.3").is_empty() && years("X.5").is_empty());
    assert_eq!(years("X.4"), [1970]);
    assert_eq!(years("X.6"), [1966]);
    assert_eq!(
        problems(&imported.dropped),
        [
            ("record X.2", Reason::DateRangeTooWide, "1940–1961"),
            ("record X.3", Reason::BadDate, "1960–1950"),
            ("record X.5", Reason::BadDate, "19x0–1975"),
        ]
    );
}

#[test]
fn un_every_reason_to_skip_a_record_or_drop_a_value() {
    let doc = un_doc(
        &[
            "<INDIVIDUAL><FIRST_NAME>NO</FIRST_NAME><SECOND_NAME>REFERENCE</SECOND_NAME></INDIVIDUAL>".to_owned(),
            individual("X.1", "<INDIVIDUAL_ALIAS><QUALITY/><ALIAS_NAME> </ALIAS_NAME></INDIVIDUAL_ALIAS>"),
            individual(
                "X.2",
                "<FIRST_NAME>SOME</FIRST_NAME><NATIONALITY><VALUE>Atlantis</VALUE><VALUE>Kosovo</VALUE>\
                 <VALUE>Türkiye</VALUE></NATIONALITY>",
            ),
            individual("X.2", "<FIRST_NAME>AGAIN</FIRST_NAME>"),
            individual(
                "X.3",
                &format!(
                    "<FIRST_NAME>DATES</FIRST_NAME>{}{}{}",
                    born("<TYPE_OF_DATE>EXACT</TYPE_OF_DATE><DATE>1970-13-01</DATE>"),
                    born("<TYPE_OF_DATE>EXACT</TYPE_OF_DATE><YEAR>70</YEAR>"),
                    born("<TYPE_OF_DATE>APPROXIMATELY</TYPE_OF_DATE><NOTE>30-35 years old</NOTE>")
                ),
            ),
        ]
        .concat(),
        "<ENTITY><FIRST_NAME>NAMELESS REFERENCE</FIRST_NAME></ENTITY><ENTITY><REFERENCE_NUMBER>E.1</REFERENCE_NUMBER>\
         <ENTITY_ALIAS><QUALITY>f.k.a.</QUALITY><ALIAS_NAME>OLD NAME</ALIAS_NAME></ENTITY_ALIAS></ENTITY>",
    );
    let imported = un(&doc).unwrap();
    check_invariants(&imported);
    assert_eq!(
        problems(&imported.skipped),
        [
            ("individual 1", Reason::NoId, ""),
            ("record X.1", Reason::NoName, "X.1"),
            ("record X.2", Reason::DuplicateId, "X.2"),
            ("entity 1", Reason::NoId, ""),
        ]
    );
    assert_eq!(entry(&imported, "X.2").subject.nationalities, ["TR"]);
    assert_eq!(entry(&imported, "E.1").subject.names, ["OLD NAME"], "an entity named only by its alias");
    assert_eq!(
        problems(&imported.dropped),
        [
            ("record X.2", Reason::UnknownCountry, "Atlantis"),
            ("record X.2", Reason::CountryWithoutCode, "Kosovo"),
            ("record X.3", Reason::BadDate, "1970-13-01"),
            ("record X.3", Reason::BadDate, "70"),
            ("record X.3", Reason::BadDate, "30-35 years old"),
        ]
    );
}

#[test]
fn un_text_with_references_cdata_and_odd_spacing() {
    let doc = un_doc(
        &individual(
            "X.1",
            "<FIRST_NAME> AT&amp;T </FIRST_NAME><SECOND_NAME>&#x41;&#66;</SECOND_NAME>\
             <THIRD_NAME><![CDATA[<C>]]></THIRD_NAME><FOURTH_NAME>\n  D\n  E </FOURTH_NAME><!-- a comment -->",
        ),
        "",
    );
    let imported = un(&doc).unwrap();
    assert_eq!(imported.entries.get(0).subject.names, ["AT&T AB <C> D E"]);
}

#[test]
fn un_documents_that_are_not_the_list_are_errors() {
    let wrong_root = un("<?xml version=\"1.0\"?><sdnList><sdnEntry/></sdnList>").unwrap_err();
    assert!(matches!(&wrong_root, ImportError::NotUnList(root) if root == "sdnList"), "{wrong_root:?}");
    assert!(wrong_root.to_string().contains("sdnList"));
    assert!(matches!(un("").unwrap_err(), ImportError::NotUnList(root) if root.is_empty()));
    assert!(matches!(un("  just text  ").unwrap_err(), ImportError::NotUnList(_)));

    let full = un_doc(&individual("X.1", "<FIRST_NAME>A</FIRST_NAME>"), "");
    let truncated = full.replace("</CONSOLIDATED_LIST>", "");
    assert!(matches!(un(&truncated).unwrap_err(), ImportError::TruncatedXml(_)));
    let cut_in_a_tag = &full[..full.len() - 10];
    assert!(matches!(un(cut_in_a_tag).unwrap_err(), ImportError::Xml { .. } | ImportError::TruncatedXml(_)));

    let mismatched = un_doc("<INDIVIDUAL><FIRST_NAME>A</SECOND_NAME></INDIVIDUAL>", "");
    let err = un(&mismatched).unwrap_err();
    assert!(matches!(err, ImportError::Xml { .. }), "{err:?}");
    assert!(err.to_string().starts_with("malformed XML near byte"));

    let two_roots = format!("{full}<CONSOLIDATED_LIST></CONSOLIDATED_LIST>");
    assert!(matches!(un(&two_roots).unwrap_err(), ImportError::NotUnList(_)));
}

// ---------------------------------------------------------------------------------------------
// CSV

#[test]
fn csv_rows_with_every_column() {
    let imported = csv("id,name,aliases,birth_date,nationality,schema,notes\n\
         a1,Ivan Petrov,Ivan  Petrov;Иван Петров; ;I. Petrov,1970-05-06,RU,Person,whatever\n\
         a2,Acme Trading,\"Acme, Ltd\",2001,gb;cy,Company,\n\
         a3,Just A Name,,,,,\n\
         a4,Some Body,,1970;1971-02,Russian Federation,entity,\n")
    .unwrap();
    check_invariants(&imported);
    assert_eq!(imported.format, Format::Csv);
    assert!(imported.skipped.is_empty() && imported.dropped.is_empty());
    let ivan = entry(&imported, "a1");
    assert_eq!(ivan.subject.names, ["Ivan Petrov", "Иван Петров", "I. Petrov"]);
    assert_eq!(ivan.subject.birth_dates, dates(&["1970-05-06"]));
    assert_eq!(ivan.subject.nationalities, ["RU"]);
    assert_eq!(ivan.subject.schema, Schema::Person);
    let acme = entry(&imported, "a2");
    assert_eq!(
        (acme.subject.schema, acme.subject.names.clone()),
        (Schema::Entity, vec!["Acme Trading".into(), "Acme, Ltd".into()])
    );
    assert_eq!(acme.subject.nationalities, ["GB", "CY"]);
    let plain = entry(&imported, "a3");
    assert_eq!(plain.subject.schema, Schema::Person);
    assert!(plain.subject.birth_dates.is_empty() && plain.subject.nationalities.is_empty());
    let body = entry(&imported, "a4");
    assert_eq!(body.subject.schema, Schema::Entity);
    assert_eq!(body.subject.birth_dates, dates(&["1970", "1971-02"]));
    assert_eq!(body.subject.nationalities, ["RU"]);
}

#[test]
fn csv_columns_in_any_order_and_case_only_id_and_name_required() {
    let imported = csv("\u{feff} Name ,Extra,ID\nJane Doe,x,j1\n").unwrap();
    assert_eq!(imported.entries.len(), 1);
    assert_eq!(imported.entries.get(0).id, "j1");
    assert_eq!(imported.entries.get(0).subject.names, ["Jane Doe"]);

    let err = csv("id,full_name,aliases\n1,A,\n").unwrap_err();
    assert!(matches!(err, ImportError::MissingColumn("name")), "{err:?}");
    assert_eq!(err.to_string(), "the CSV header has no \"name\" column (required columns: id, name)");
    assert!(matches!(csv("name\nA\n").unwrap_err(), ImportError::MissingColumn("id")));
    assert!(matches!(csv("").unwrap_err(), ImportError::MissingColumn("id")));
    let not_utf8 = read_csv(&b"id,n\xffme\n1,A\n"[..], &mut no_progress()).unwrap_err();
    assert!(matches!(not_utf8, ImportError::CsvHeader(_)), "{not_utf8:?}");
}

#[test]
fn csv_every_reason_to_skip_a_row_or_drop_a_value() {
    let mut bytes = b"id,name,aliases,birth_date,nationality,schema\n\
        ok,Fine Name,,1970-13,XK;Narnia;ua,\n\
        short,Too Few\n\
        ,No Id,,,,\n\
        noname, ,;  ,,,\n\
        sanction,A Sanction,,,,Sanction\n\
        ok,Same Id,,,,\n\
        \"multi\",\"Two\nLines\",,,,\n"
        .to_vec();
    bytes.extend_from_slice(b"bad,\xff\xfe,,,,\nlast,Last One,,,,\n");
    let imported = read_csv(bytes.as_slice(), &mut no_progress()).unwrap();
    check_invariants(&imported);
    let ids: Vec<String> = imported.entries.iter().map(|e| e.id).collect();
    assert_eq!(ids, ["ok", "multi", "last"]);
    assert_eq!(entry(&imported, "multi").subject.names, ["Two Lines"]);
    assert_eq!(entry(&imported, "ok").subject.nationalities, ["UA"]);
    assert_eq!(
        problems(&imported.skipped),
        [
            ("line 3", Reason::BadRow, "2 fields where the header has 6"),
            ("line 4", Reason::NoId, ""),
            ("line 5", Reason::NoName, "noname"),
            ("line 6", Reason::UnknownSchema, "Sanction"),
            ("line 7", Reason::DuplicateId, "ok"),
            ("line 10", Reason::BadRow, "not UTF-8"),
        ]
    );
    assert_eq!(
        problems(&imported.dropped),
        [
            ("line 2", Reason::BadDate, "1970-13"),
            ("line 2", Reason::CountryWithoutCode, "XK"),
            ("line 2", Reason::UnknownCountry, "Narnia"),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Countries

#[test]
fn country_names_from_the_un_and_iso_map_to_codes() {
    let cases = [
        ("Democratic Republic of the Congo", "CD"),
        ("Congo", "CG"),
        ("Russian Federation", "RU"),
        ("Iran (Islamic Republic of)", "IR"),
        ("Syrian Arab Republic", "SY"),
        ("United Kingdom of Great Britain and Northern Ireland", "GB"),
        ("Korea, Democratic People's Republic of", "KP"),
        ("Democratic People's Republic of Korea", "KP"),
        ("Republic of Korea", "KR"),
        ("United States of America", "US"),
        ("United Republic of Tanzania", "TZ"),
        ("State of Palestine", "PS"),
        ("Lao People's Democratic Republic", "LA"),
        ("Viet Nam", "VN"),
        ("Bolivia (Plurinational State of)", "BO"),
        ("Venezuela (Bolivarian Republic of)", "VE"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Côte d’Ivoire", "CI"),
        ("Congo, The Democratic Republic of the", "CD"),
        ("  afghanistan ", "AF"),
        ("GUINEA-BISSAU", "GW"),
        ("Åland Islands", "AX"),
    ];
    for (name, code) in cases {
        assert_eq!(country_from_name(name), Country::Code(code), "{name}");
    }
    for name in ["former Soviet Union", "USSR", "Yugoslavia", "Kosovo"] {
        assert_eq!(country_from_name(name), Country::WithoutCode, "{name}");
    }
    for name in ["Atlantis", "", "na", "RU"] {
        assert_eq!(country_from_name(name), Country::Unknown, "{name}");
    }
}

#[test]
fn country_codes_in_either_case() {
    assert_eq!(country_from_code("ru"), Country::Code("RU"));
    assert_eq!(country_from_code(" Gb "), Country::Code("GB"));
    for code in ["suhh", "xk", "XK", "eu", "zz", "x-so"] {
        assert_eq!(country_from_code(code), Country::WithoutCode, "{code}");
    }
    for code in ["", "r", "r1", "Russian Federation", "ру"] {
        assert_eq!(country_from_code(code), Country::Unknown, "{code}");
    }
}

// ---------------------------------------------------------------------------------------------
// Formats, files, progress, summary

#[test]
fn formats_by_extension_else_by_first_bytes() {
    let ext = |p: &str| Format::from_extension(Path::new(p));
    assert_eq!(ext("list.json"), Some(Format::FollowTheMoney));
    assert_eq!(ext("a/b/entities.FTM.JSON"), Some(Format::FollowTheMoney));
    assert_eq!(ext("x.jsonl"), Some(Format::FollowTheMoney));
    assert_eq!(ext("x.ftm"), Some(Format::FollowTheMoney));
    assert_eq!(ext("consolidated.XML"), Some(Format::UnXml));
    assert_eq!(ext("list.csv"), Some(Format::Csv));
    assert_eq!(ext("list.txt"), None);
    assert_eq!(ext("list"), None);

    assert_eq!(Format::sniff(b"\xEF\xBB\xBF \n\t{\"id\""), Format::FollowTheMoney);
    assert_eq!(Format::sniff(b"\n<?xml"), Format::UnXml);
    assert_eq!(Format::sniff(b"id,name\n"), Format::Csv);
    assert_eq!(Format::sniff(b""), Format::Csv);
    assert_eq!(Format::detect(Path::new("a.csv"), b"{"), Format::Csv, "the extension wins");
    assert_eq!(Format::detect(Path::new("download"), b"<"), Format::UnXml);
}

#[test]
fn read_path_sniffs_files_without_a_known_extension() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("import-sniff");
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("ftm.dat", "\n\n{\"id\":\"a\",\"schema\":\"Person\",\"caption\":\"A\"}\n".to_owned(), Format::FollowTheMoney),
        ("un.dat", un_doc(&individual("X.1", "<FIRST_NAME>A</FIRST_NAME>"), ""), Format::UnXml),
        ("list.dat", "id,name\nx,A\n".to_owned(), Format::Csv),
    ];
    for (file, content, format) in cases {
        let path = dir.join(file);
        std::fs::write(&path, &content).unwrap();
        let imported = read_path(&path, &mut no_progress()).unwrap();
        assert_eq!(imported.format, format, "{file}");
        assert_eq!(imported.entries.len(), 1, "{file}");
        assert_eq!(imported.entries.get(0).subject.names, ["A"], "{file}");
    }
    let missing = dir.join("no-such-file.csv");
    let err = read_path(&missing, &mut no_progress()).unwrap_err();
    assert!(matches!(err, ImportError::Open { .. }));
    assert!(err.to_string().contains("no-such-file.csv"), "{err}");
}

#[test]
fn read_picks_the_reader_for_the_format() {
    let text = "id,name\nx,A\n";
    assert_eq!(read(Format::Csv, text.as_bytes(), &mut no_progress()).unwrap().entries.len(), 1);
    let as_json = read(Format::FollowTheMoney, text.as_bytes(), &mut no_progress()).unwrap();
    assert_eq!(reasons(&as_json.skipped), [Reason::NotJson, Reason::NotJson]);
    assert!(matches!(read(Format::UnXml, text.as_bytes(), &mut no_progress()), Err(ImportError::NotUnList(_))));
}

/// Progress calls for one import: increasing, about a megabyte apart, the last at the end.
fn progress_of(format: Format, bytes: &[u8]) -> Vec<u64> {
    let mut calls = Vec::new();
    read(format, bytes, &mut |n| calls.push(n)).unwrap();
    calls
}

fn assert_progress(calls: &[u64], total: usize) {
    assert_eq!(calls.last().copied(), Some(total as u64), "{calls:?}");
    assert!(calls.windows(2).all(|w| w[0] < w[1]), "{calls:?}");
    assert!(calls[..calls.len() - 1].windows(2).all(|w| w[1] - w[0] >= 1 << 20), "{calls:?}");
    let megabytes = total >> 20;
    assert!((megabytes..=megabytes + 1).contains(&calls.len()), "{} calls for {total} bytes", calls.len());
}

#[test]
fn progress_is_reported_about_once_a_megabyte_and_at_the_end() {
    let line = "{\"id\":\"ID\",\"schema\":\"Person\",\"caption\":\"Some Person Name\",\"properties\":{}}\n";
    let ftm_text: String = (0..40_000).map(|i| line.replace("ID", &i.to_string())).collect();
    assert_progress(&progress_of(Format::FollowTheMoney, ftm_text.as_bytes()), ftm_text.len());

    let csv_text: String = std::iter::once("id,name\n".to_owned())
        .chain((0..150_000).map(|i| format!("{i},Some Person Name Here\n")))
        .collect();
    assert_progress(&progress_of(Format::Csv, csv_text.as_bytes()), csv_text.len());

    let people: String =
        (0..12_000).map(|i| individual(&format!("X.{i}"), "<FIRST_NAME>SOME PERSON NAME</FIRST_NAME>")).collect();
    let xml = un_doc(&people, "");
    assert_progress(&progress_of(Format::UnXml, xml.as_bytes()), xml.len());

    let mut calls = Vec::new();
    let path = test_data("un-consolidated-slice.xml");
    read_path(&path, &mut |n| calls.push(n)).unwrap();
    assert_eq!(calls, [std::fs::metadata(&path).unwrap().len()]);
}

#[test]
fn summary_counts_by_kind_and_reason() {
    let imported = ftm(
        "{\"id\":\"a\",\"schema\":\"Person\",\"caption\":\"A\",\"properties\":{\"birthDate\":[\"x\",\"y\"],\"nationality\":[\"suhh\"]}}\n\
         {\"id\":\"s1\",\"schema\":\"Sanction\"}\n{\"id\":\"s2\",\"schema\":\"Sanction\"}\n{\"id\":\"ad\",\"schema\":\"Address\"}\n\
         nonsense\n{\"schema\":\"Company\",\"caption\":\"C\"}\n{\"id\":\"a\",\"schema\":\"Person\",\"caption\":\"A\"}\n",
    );
    let summary = imported.summary();
    assert_eq!(summary.entries, 1);
    assert_eq!(summary.skipped, [(Reason::NotJson, 1), (Reason::NoId, 1), (Reason::DuplicateId, 1)]);
    assert_eq!(summary.dropped, [(Reason::BadDate, 2), (Reason::CountryWithoutCode, 1)]);
    assert_eq!(
        summary.to_string(),
        "1 entry imported\n\
         3 other records (not parties): 1 Address, 2 Sanction\n\
         3 records skipped: 1 not valid JSON, 1 no id, 1 id already seen\n\
         3 values dropped: 2 date that does not parse, 1 country without an ISO 3166-1 code"
    );
    assert_eq!(ftm("").summary().to_string(), "0 entries imported");
    assert_eq!(
        ftm("{\"id\":\"s\",\"schema\":\"Sanction\"}").summary().to_string(),
        "0 entries imported\n1 other record (not parties): 1 Sanction"
    );
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #[test]
    fn no_reader_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for format in [Format::FollowTheMoney, Format::UnXml, Format::Csv] {
            if let Ok(imported) = read(format, bytes.as_slice(), &mut no_progress()) {
                check_invariants(&imported);
            }
        }
    }

    #[test]
    fn no_reader_panics_on_text_near_each_format(
        text in "[\\{\\}\\[\\]<>/\",;:&#a-zA-Z0-9_ \n\r\t\\-\u{feff}é]{0,400}",
        prefix in prop_oneof![
            Just(""),
            Just("{\"id\":\"x\",\"schema\":\"Person\",\"properties\":{\"name\":["),
            Just("<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL>"),
            Just("id,name,aliases,birth_date,nationality,schema\n"),
        ],
    ) {
        let input = format!("{prefix}{text}");
        for format in [Format::FollowTheMoney, Format::UnXml, Format::Csv] {
            if let Ok(imported) = read(format, input.as_bytes(), &mut no_progress()) {
                check_invariants(&imported);
            }
        }
    }

    #[test]
    fn every_csv_row_is_an_entry_or_a_skip(
        rows in proptest::collection::vec(
            (any::<String>(), any::<String>(), any::<String>(), "[0-9-]{0,12}", "[a-zA-Z; ]{0,8}"),
            0..20,
        ),
    ) {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(["id", "name", "aliases", "birth_date", "nationality"]).unwrap();
        for (id, name, aliases, birth, nationality) in &rows {
            writer.write_record([id, name, aliases, birth, nationality]).unwrap();
        }
        let bytes = writer.into_inner().unwrap();
        let imported = read_csv(bytes.as_slice(), &mut no_progress()).unwrap();
        check_invariants(&imported);
        prop_assert_eq!(imported.entries.len() + imported.skipped.len(), rows.len());
        for e in imported.entries.iter() {
            let (_, name, ..) = rows.iter().find(|r| r.0.trim() == e.id).unwrap();
            let cleaned = name.split_whitespace().collect::<Vec<_>>().join(" ");
            if !cleaned.is_empty() {
                prop_assert_eq!(&e.subject.names[0], &cleaned);
            }
        }
    }

    #[test]
    fn every_ftm_line_is_an_entry_a_skip_or_another_record(
        lines in proptest::collection::vec(
            (any::<String>(), prop_oneof![Just("Person"), Just("Company"), Just("Sanction"), Just("")],
             any::<String>(), any::<String>(), any::<String>()),
            0..20,
        ),
    ) {
        let text: String = lines
            .iter()
            .map(|(id, schema, name, birth, country)| {
                serde_json::json!({
                    "id": id, "schema": schema, "caption": name,
                    "properties": {"alias": [name], "birthDate": [birth], "nationality": [country], "country": [country]}
                })
                .to_string()
                    + "\n"
            })
            .collect();
        let imported = ftm(&text);
        check_invariants(&imported);
        let others: u64 = imported.other_records.values().sum();
        prop_assert_eq!(imported.entries.len() + imported.skipped.len() + usize::try_from(others).unwrap(), lines.len());
    }

    #[test]
    fn un_names_survive_escaping(first in any::<String>(), alias in any::<String>()) {
        let clean = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        // XML 1.0 cannot carry most control characters, escaped or not.
        prop_assume!(!first.chars().chain(alias.chars()).any(|c| c.is_control() && !c.is_whitespace()));
        let doc = un_doc(
            &individual(
                "X.1",
                &format!(
                    "<FIRST_NAME>{}</FIRST_NAME><INDIVIDUAL_ALIAS><ALIAS_NAME>{}</ALIAS_NAME></INDIVIDUAL_ALIAS>",
                    quick_xml::escape::escape(first.as_str()),
                    quick_xml::escape::escape(alias.as_str()),
                ),
            ),
            "",
        );
        let imported = un(&doc).unwrap();
        let mut expected: Vec<String> = [clean(&first), clean(&alias)].into_iter().filter(|n| !n.is_empty()).collect();
        expected.dedup();
        if expected.is_empty() {
            prop_assert_eq!(reasons(&imported.skipped), [Reason::NoName]);
        } else {
            prop_assert_eq!(&imported.entries.get(0).subject.names, &expected);
        }
    }
}
