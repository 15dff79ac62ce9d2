//! Transliteration: each scheme against official spellings, every script against real names.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use legion_screening::translit::{CyrillicScheme, Script, fold, latin_forms, romanise_cyrillic, script_of};
use proptest::prelude::*;

fn assert_scheme(scheme: CyrillicScheme, cases: &[(&str, &str)]) {
    for &(cyrillic, latin) in cases {
        assert_eq!(romanise_cyrillic(cyrillic, scheme), latin, "{cyrillic} by {scheme:?}");
    }
}

fn assert_has_form(name: &str, form: &str) {
    let forms = latin_forms(name);
    assert!(forms.iter().any(|f| f == form), "{name}: {form} not among {forms:?}");
}

#[test]
fn ukrainian_national_system_as_in_passports() {
    // Examples given in Resolution No. 55 of the Cabinet of Ministers of Ukraine (2010),
    // and the passport spellings of public figures.
    assert_scheme(
        CyrillicScheme::Ukrainian2010,
        &[
            ("Володимир Зеленський", "volodymyr zelenskyi"),
            ("Юлія Тимошенко", "yuliia tymoshenko"),
            ("Петро Порошенко", "petro poroshenko"),
            ("Згурський", "zghurskyi"),
            ("Розгон", "rozghon"),
            ("Їжакевич", "yizhakevych"),
            ("Кадиївка", "kadyivka"),
            ("Олександр", "oleksandr"),
            ("Гадяч", "hadiach"),
            ("Ґалаґан", "galagan"),
            ("Єнакієве", "yenakiieve"),
            ("Гаєвич", "haievych"),
            ("Короп'є", "koropie"),
            ("Мар'їне", "marine"),
            ("Знам'янка", "znamianka"),
            ("Йосипівка", "yosypivka"),
            ("Стрий", "stryi"),
            ("Олексій", "oleksii"),
            ("Юрій", "yurii"),
            ("Корюківка", "koriukivka"),
            ("Яготин", "yahotyn"),
            ("Костянтин", "kostiantyn"),
            ("Феодосія", "feodosiia"),
            ("Рибчинський", "rybchynskyi"),
            ("Щербухи", "shcherbukhy"),
            ("Біла Церква", "bila tserkva"),
            ("Уляна", "uliana"),
            ("Ужгород", "uzhhorod"),
        ],
    );
    // The national form comes first when the letters say the name is Ukrainian.
    assert_eq!(latin_forms("Юлія Тимошенко")[0], "yuliia tymoshenko");
    assert_eq!(latin_forms("Володимир Зеленський")[0], "volodymyr zelenskyi");
    assert_eq!(latin_forms("Знам’янка")[0], "znamianka");
}

#[test]
fn icao_9303_as_in_russian_passports() {
    assert_scheme(
        CyrillicScheme::Icao9303,
        &[
            ("Александр", "aleksandr"),
            ("Щукин", "shchukin"),
            ("Юрий", "iurii"),
            ("Анастасия", "anastasiia"),
            ("Наталья", "natalia"),
            ("Яна", "iana"),
            ("Дмитрий Медведев", "dmitrii medvedev"),
            ("Пётр Чайковский", "petr chaikovskii"),
            ("Подъячев", "podieiachev"),
            ("Цимлянск", "tsimliansk"),
            ("Электрогорск", "elektrogorsk"),
            ("Жуков", "zhukov"),
            ("Хабаров", "khabarov"),
        ],
    );
    assert_eq!(latin_forms("Александр")[0], "aleksandr");
}

#[test]
fn bgn_pcgn_as_in_the_press() {
    assert_scheme(
        CyrillicScheme::BgnPcgn,
        &[
            ("Ельцин", "yeltsin"),
            ("Сергей Лавров", "sergey lavrov"),
            ("Хрущёв", "khrushchev"),
            ("Горбачёв", "gorbachev"),
            ("Фёдор Достоевский", "fedor dostoyevskiy"),
            ("Ёлкин", "yolkin"),
            ("Юрий Гагарин", "yuriy gagarin"),
            ("Майя", "mayya"),
            ("Подъячев", "podyachev"),
            ("Ульяновск", "ulyanovsk"),
        ],
    );
    assert_has_form("Ельцин", "yeltsin");
    assert_has_form("Сергей Лавров", "sergey lavrov");
}

#[test]
fn gost_7_79_system_b() {
    assert_scheme(
        CyrillicScheme::Gost779B,
        &[
            ("Щукин", "shhukin"),
            ("Цветков", "czvetkov"),
            ("Цирк", "cirk"),
            ("Цыганов", "cyganov"),
            ("Хрущёв", "xrushhyov"),
            ("Юрий", "yurij"),
            ("Эльдар", "eldar"),
            ("Съезд", "sezd"),
            ("Ельцин", "elcin"),
        ],
    );
    assert_has_form("Цветков", "czvetkov");
    // GOST writes Ukrainian и as y.
    assert_eq!(romanise_cyrillic("Юлія Тимошенко", CyrillicScheme::Gost779B), "yuliya tymoshenko");
}

#[test]
fn belarusian_bulgarian_serbian_macedonian() {
    // Belarusian passports.
    assert_scheme(
        CyrillicScheme::Belarusian,
        &[
            ("Аляксандр Лукашэнка", "aliaksandr lukashenka"),
            ("Бабрыковіч Аляксандр", "babrykovich aliaksandr"),
            ("Міховіч Марыя", "mikhovich maryia"),
            ("Ігар", "ihar"),
            ("Мікалай", "mikalai"),
            ("Пётр", "piotr"),
        ],
    );
    assert_eq!(latin_forms("Святлана Ціханоўская")[0], "sviatlana tsikhanouskaia");
    assert_has_form("Святлана Ціханоўская", "svyatlana tsikhanowskaya");
    // Bulgarian Transliteration Act, 2009.
    assert_scheme(
        CyrillicScheme::Bulgarian,
        &[
            ("София", "sofia"),
            ("Търговище", "targovishte"),
            ("Горна Оряховица", "gorna oryahovitsa"),
            ("Бойко Борисов", "boyko borisov"),
            ("Христо Стоичков", "hristo stoichkov"),
            ("Жельо", "zhelyo"),
        ],
    );
    assert_eq!(latin_forms("Търговище")[0], "targovishte");
    // Serbian Latin alphabet.
    assert_eq!(latin_forms("Новак Ђоковић")[0], "novak djokovic");
    assert_eq!(latin_forms("Слободан Милошевић")[0], "slobodan milosevic");
    assert_eq!(latin_forms("Љубица Његош")[0], "ljubica njegos");
    assert_eq!(latin_forms("Џајић")[0], "dzajic");
    // North Macedonian official system.
    assert_eq!(latin_forms("Ѓорѓе Ќосе")[0], "gjorgje kjose");
    assert_eq!(latin_forms("Ѕвезда")[0], "dzvezda");
}

#[test]
fn cyrillic_gives_a_few_forms_the_national_one_first() {
    let forms = latin_forms("Володимир Зеленський");
    assert_eq!(forms, ["volodymyr zelenskyi", "volodimir zelenskii", "volodymyr zelenskyj"]);
    let forms = latin_forms("Сергей Лавров");
    assert_eq!(forms, ["sergei lavrov", "serhei lavrov", "sergey lavrov", "sergej lavrov"]);
    for name in ["Хрущёв", "Юлія Тимошенко", "Аляксандр Лукашэнка", "Новак Ђоковић", "Бойко Борисов"]
    {
        assert!((1..=4).contains(&latin_forms(name).len()), "{name}");
    }
}

#[test]
fn other_scripts_with_real_names() {
    let cases: &[(&str, &str)] = &[
        ("Γιώργος Παπαδόπουλος", "giorgos papadopoulos"),
        ("Ευάγγελος Βενιζέλος", "evangelos venizelos"),
        ("Αλέξης Τσίπρας", "alexis tsipras"),
        ("Κυριάκος Μητσοτάκης", "kyriakos mitsotakis"),
        ("Μπαράκ Ομπάμα", "barak obama"),
        ("Ναύπλιο", "nafplio"),
        ("ბარაკ ობამა", "barak obama"),
        ("მიხეილ სააკაშვილი", "mikheil saakashvili"),
        ("ედუარდ შევარდნაძე", "eduard shevardnadze"),
        ("Բարակ Օբամա", "barak obama"),
        ("Նիկոլ Փաշինյան", "nikol pashinyan"),
        ("Երևան", "yerevan"),
        ("Արթուր", "artur"),
        ("ماري تيريز", "mari tiriz"),
        ("علي", "ali"),
        ("عبد الله", "abd allah"),
        ("صدام حسين التكريتي", "sadam hasin al takariti"),
        ("גולדסמית'", "goldsmith"),
        ("אברהם", "avaraham"),
        ("नरेन्द्र मोदी", "narendra modi"),
        ("राम", "ram"),
        ("김정은", "kim jeongeun"),
        ("박근혜", "park geunhye"),
        ("バラク・オバマ", "baraku obama"),
        ("がっこう", "gakkou"),
        ("きょうと", "kyouto"),
        ("ナターシャ", "natasha"),
        ("ティファニー", "tifani"),
        ("毛泽东", "mao zedong"),
        ("习近平", "xi jinping"),
        ("ហ៊ុន សែន", "hon saen"),
        ("ทักษิณ ชินวัตร", "thaksin chinwatr"),
    ];
    for &(name, form) in cases {
        assert_has_form(name, form);
    }
}

#[test]
fn latin_names_are_folded() {
    assert_eq!(latin_forms("Erdoğan"), ["erdogan"]);
    assert_eq!(latin_forms("Simonyán"), ["simonyan"]);
    assert_eq!(latin_forms("Straße"), ["strasse"]);
    assert_eq!(latin_forms("ＡＢＣ Ｄｅｆ"), ["abc def"]);
    assert_eq!(latin_forms("Müller"), ["muller", "mueller"]);
    assert_eq!(latin_forms("Jean-Luc  O'Brien "), ["jean luc obrien"]);
    assert_eq!(latin_forms("Łukasz Żółć"), ["lukasz zolc"]);
    assert_eq!(latin_forms("Nguyễn Tấn Dũng"), ["nguyen tan dung"]);
    assert_eq!(latin_forms("Jose\u{301} Garci\u{301}a"), ["jose garcia"]);
    assert_eq!(latin_forms("Louis XIV"), ["louis xiv"]);
    assert_eq!(latin_forms(" -- "), Vec::<String>::new());
    assert_eq!(latin_forms(""), Vec::<String>::new());
}

#[test]
fn fold_keeps_the_script() {
    assert_eq!(fold("  Erdoğan\tSimonyán "), "erdogan simonyan");
    assert_eq!(fold("STRASSE Straße"), "strasse strasse");
    assert_eq!(fold("ＡＢＣ"), "abc");
    assert_eq!(fold("Хрущёв Йосип Їжак"), "хрущев йосип їжак");
    assert_eq!(fold("Γιώργος"), "γιωργος");
    assert_eq!(fold("מִרְיָם"), "מרים");
    assert_eq!(fold("がっこう"), "がっこう");
    assert_eq!(fold("नरेन्द्र"), "नरेन्द्र");
}

#[test]
fn script_of_names() {
    assert_eq!(script_of("Erdoğan"), Script::Latin);
    assert_eq!(script_of("Володимир Зеленський"), Script::Cyrillic);
    assert_eq!(script_of("Γιώργος"), Script::Greek);
    assert_eq!(script_of("ბარაკ"), Script::Georgian);
    assert_eq!(script_of("Բարակ"), Script::Armenian);
    assert_eq!(script_of("ماري"), Script::Arabic);
    assert_eq!(script_of("מרים"), Script::Hebrew);
    assert_eq!(script_of("मोदी"), Script::Devanagari);
    assert_eq!(script_of("김정은"), Script::Hangul);
    assert_eq!(script_of("バラク"), Script::Kana);
    assert_eq!(script_of("毛泽东"), Script::Han);
    assert_eq!(script_of("ทักษิณ"), Script::Other);
    assert_eq!(script_of("123"), Script::Other);
    assert_eq!(script_of("Ivan Петров"), Script::Cyrillic);
}

/// Hits and totals per script label.
type Tally = BTreeMap<String, (usize, usize)>;

/// The script of a form, naming the scripts that [`Script`] lumps into `Other`.
fn label(form: &str) -> String {
    let script = script_of(form);
    if script != Script::Other {
        return format!("{script:?}");
    }
    let Some(c) = form.chars().find(|c| c.is_alphabetic() && !c.is_ascii()) else {
        return "Other".to_owned();
    };
    let name = match u32::from(c) {
        0x980..=0x9FF => "Bengali",
        0xA00..=0xA7F => "Gurmukhi",
        0xA80..=0xAFF => "Gujarati",
        0xB00..=0xB7F => "Oriya",
        0xB80..=0xBFF => "Tamil",
        0xC00..=0xC7F => "Telugu",
        0xC80..=0xCFF => "Kannada",
        0xD00..=0xD7F => "Malayalam",
        0xD80..=0xDFF => "Sinhala",
        0xE00..=0xE7F => "Thai",
        0xE80..=0xEFF => "Lao",
        0xF00..=0xFFF => "Tibetan",
        0x1000..=0x109F => "Myanmar",
        0x1200..=0x139F => "Ethiopic",
        0x1780..=0x17FF => "Khmer",
        0x3100..=0x312F | 0x31A0..=0x31BF => "Bopomofo",
        _ => "Other",
    };
    name.to_owned()
}

/// Over lines of `form, form, … => QID`: for each form not in Latin letters, whether one of
/// its Latin forms is within normalised Levenshtein similarity `threshold` of the first Latin
/// form of a Latin-letter form in its group (spaces ignored on both sides, as `al hady` and
/// `alhady` are the same spelling).
fn evaluate(text: &str, threshold: f64) -> Tally {
    let mut tally = Tally::new();
    for line in text.lines() {
        let Some((forms, _qid)) = line.rsplit_once("=>") else { continue };
        let forms: Vec<&str> = forms.split(',').map(str::trim).filter(|f| !f.is_empty()).collect();
        let latin: Vec<String> = forms
            .iter()
            .filter(|f| script_of(f) == Script::Latin)
            .filter_map(|f| latin_forms(f).into_iter().next())
            .map(|f| f.replace(' ', ""))
            .collect();
        if latin.is_empty() {
            continue;
        }
        for form in forms.iter().filter(|f| script_of(f) != Script::Latin && f.chars().any(char::is_alphabetic)) {
            let hit = latin_forms(form)
                .iter()
                .map(|ours| ours.replace(' ', ""))
                .any(|ours| latin.iter().any(|theirs| strsim::normalized_levenshtein(&ours, theirs) >= threshold));
            let entry = tally.entry(label(form)).or_default();
            entry.0 += usize::from(hit);
            entry.1 += 1;
        }
    }
    tally
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn share((hits, total): (usize, usize)) -> f64 {
    hits as f64 / total as f64
}

/// Prints the share per script and overall; returns the overall share.
fn report(tally: &Tally) -> f64 {
    let mut all = (0, 0);
    for (script, &counts) in tally {
        println!("{script:>12}: {:.3} of {}", share(counts), counts.1);
        all.0 += counts.0;
        all.1 += counts.1;
    }
    println!("{:>12}: {:.3} of {}", "all", share(all), all.1);
    share(all)
}

const SLICE: &str = include_str!("data/name-variants-slice.txt");

#[test]
fn every_script_in_the_slice_gives_latin_letters() {
    for line in SLICE.lines() {
        let (forms, _) = line.rsplit_once("=>").expect("form, form => QID");
        for form in forms.split(',').map(str::trim).filter(|f| f.chars().any(char::is_alphabetic)) {
            let forms = latin_forms(form);
            assert!(forms.first().is_some_and(|f| f.bytes().any(|b| b.is_ascii_lowercase())), "{form}: {forms:?}");
        }
    }
}

#[test]
fn slice_forms_come_close_to_their_latin_spellings() {
    let tally = evaluate(SLICE, 0.75);
    let overall = report(&tally);
    assert!(overall >= 0.55, "{overall}");
    for (script, floor) in [("Cyrillic", 0.75), ("Greek", 0.7), ("Georgian", 0.8), ("Armenian", 0.8)] {
        let counts = tally[script];
        assert!(share(counts) >= floor, "{script}: {}", share(counts));
    }
}

fn shared_data() -> PathBuf {
    std::env::var_os("LEGION_SHARED_DATA")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"), PathBuf::from)
}

/// The whole name-variant corpus, when the shared data is present.
#[test]
fn full_corpus_forms_come_close_to_their_latin_spellings() {
    let path = shared_data().join("names/name-variants.txt");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("{} not found; skipped", path.display());
        return;
    };
    let tally = evaluate(&text, 0.75);
    let overall = report(&tally);
    assert!(overall >= 0.43, "{overall}");
    for (script, floor) in [
        ("Cyrillic", 0.75),
        ("Greek", 0.72),
        ("Georgian", 0.85),
        ("Armenian", 0.83),
        ("Devanagari", 0.72),
        ("Arabic", 0.42),
        ("Hebrew", 0.42),
        ("Hangul", 0.57),
        ("Kana", 0.55),
    ] {
        let counts = tally[script];
        assert!(share(counts) >= floor, "{script}: {}", share(counts));
    }
}

/// Time per name over the corpus. Run with
/// `cargo test --release -p legion-screening --test translit -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn time_per_name() {
    let path = shared_data().join("names/name-variants.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| SLICE.to_owned());
    let mut by_script: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for line in text.lines() {
        let Some((forms, _)) = line.rsplit_once("=>") else { continue };
        for form in forms.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            by_script.entry(label(form)).or_default().push(form);
        }
    }
    let full_names = [
        "Volodymyr Oleksandrovych Zelenskyi",
        "José María García-Márquez",
        "Володимир Олександрович Зеленський",
        "Сергей Викторович Лавров",
        "Γιώργος Παπαδόπουλος",
        "صدام حسين التكريتي",
    ];
    by_script.insert("full names".to_owned(), full_names.to_vec());
    for (script, names) in &by_script {
        if names.len() < 5 {
            continue;
        }
        let rounds = (200_000 / names.len()).max(1);
        let start = Instant::now();
        let mut forms = 0usize;
        for _ in 0..rounds {
            for name in names {
                forms += latin_forms(std::hint::black_box(name)).len();
            }
        }
        let elapsed = start.elapsed();
        #[allow(clippy::cast_precision_loss)]
        let per_name = elapsed.as_nanos() as f64 / (rounds * names.len()) as f64;
        #[allow(clippy::cast_precision_loss)]
        let forms_per_name = forms as f64 / (rounds * names.len()) as f64;
        println!("{script:>12}: {per_name:>7.0} ns per name, {forms_per_name:.2} forms, {} names", names.len());
    }
}

fn is_clean_form(form: &str) -> bool {
    !form.is_empty()
        && !form.starts_with(' ')
        && !form.ends_with(' ')
        && !form.contains("  ")
        && form.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' ')
}

proptest! {
    #[test]
    fn forms_are_clean_distinct_and_stable(
        name in prop_oneof![
            any::<String>(),
            "[a-zA-Z' .-]{0,30}",
            "[А-ЯЁа-яёІіЇїЄєҐґЎўЂђЈјЉљЊњЋћЏџЃѓЌќЅѕ'ʼ’ -]{0,30}",
            "[\u{370}-\u{3FF}\u{530}-\u{58F}\u{590}-\u{5FF}\u{600}-\u{6FF} ]{0,20}",
            "[\u{900}-\u{D7F}\u{E00}-\u{EFF}\u{10A0}-\u{10FF} ]{0,20}",
            "[\u{3040}-\u{30FF}\u{AC00}-\u{D7A3}\u{4E00}-\u{9FFF} ]{0,20}",
            "\\PC{0,40}",
        ]
    ) {
        let forms = latin_forms(&name);
        for (k, form) in forms.iter().enumerate() {
            prop_assert!(is_clean_form(form), "{name:?} gave {form:?}");
            prop_assert!(!forms[..k].contains(form), "{name:?} gave {form:?} twice");
            prop_assert_eq!(latin_forms(form), vec![form.clone()]);
        }
    }
}
