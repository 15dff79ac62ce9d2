//! Names reduced to comparable tokens: every Latin form of a name (one per transliteration
//! scheme), split into tokens, titles dropped, legal forms and number words put in one
//! spelling, each token with a phonetic key that absorbs transliteration drift.

use crate::Schema;
use crate::translit;

/// What part a token plays, which decides how much it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// An ordinary name token.
    Name,
    /// A single letter standing for a name.
    Initial,
    /// A connecting particle (`al`, `bin`, `van`, `de` …): weak evidence.
    Particle,
    /// A legal form (`ltd`, `llc`, `ag` …), in one spelling per kind.
    LegalForm,
    /// A number, spelled as digits.
    Number,
}

/// One token of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The token, lower-case ASCII letters and digits.
    pub text: String,
    /// Its phonetic key: vowels run together, letters that transliterations swap made one.
    pub key: String,
    /// Its role.
    pub role: Role,
    /// Romanised from a script that writes few vowels (Arabic, Hebrew): its vowels are
    /// guesses, so its consonants are what counts.
    pub abjad: bool,
    /// The groups of known spellings the token belongs to (see [`crate::variants`]),
    /// ascending; empty when none was looked up or none knows it.
    pub groups: Vec<u32>,
}

impl Token {
    fn new(text: String, role: Role) -> Self {
        let key = phonetic_key(&text);
        Token { text, key, role, abjad: false, groups: Vec::new() }
    }

    /// How much the token counts in a comparison.
    pub fn weight(&self) -> f32 {
        match self.role {
            Role::Name | Role::Number => 1.0,
            Role::Initial => 0.5,
            Role::Particle | Role::LegalForm => 0.3,
        }
    }
}

/// One Latin form of a name, tokenised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The tokens in the order written.
    pub tokens: Vec<Token>,
}

impl Form {
    /// The form as text (tokens joined by spaces).
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (i, t) in self.tokens.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&t.text);
        }
        s
    }

    /// Whether the form has a token that identifies anything on its own (not only
    /// initials, particles and legal forms).
    pub fn has_substance(&self) -> bool {
        self.tokens.iter().any(|t| matches!(t.role, Role::Name | Role::Number))
    }
}

/// Every Latin form of a name, tokenised for comparison; forms without substance are left
/// out, and duplicates only kept once.
pub fn forms(name: &str, schema: Schema) -> Vec<Form> {
    let mut out: Vec<Form> = Vec::new();
    let abjad = matches!(translit::script_of(name), translit::Script::Arabic | translit::Script::Hebrew);
    for latin in translit::latin_forms(name) {
        let mut form = tokenise(&latin, schema);
        if abjad {
            for t in &mut form.tokens {
                t.abjad = true;
            }
        }
        if form.has_substance() && !out.contains(&form) {
            out.push(form);
        }
    }
    out
}

/// Splits one Latin spelling into tokens.
pub fn tokenise(latin: &str, schema: Schema) -> Form {
    let raw: Vec<String> = split_words(latin, schema);
    let mut tokens: Vec<Token> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let word = raw[i].as_str();
        // Multi-word legal forms first ("limited liability company", "joint stock company").
        if let Some((len, canonical)) = legal_phrase(&raw[i..]).filter(|_| schema == Schema::Entity) {
            tokens.push(Token::new(canonical.to_owned(), Role::LegalForm));
            i += len;
            continue;
        }
        i += 1;
        if schema == Schema::Person && is_title(word) {
            continue;
        }
        if let Some(n) = number_word(word) {
            // "forty four" and "forty 4" are 44.
            if let Some(prev) = tokens.last_mut()
                && prev.role == Role::Number
                && let Ok(p) = prev.text.parse::<u32>()
                && p % 10 == 0
                && p >= 20
                && n < 10
            {
                *prev = Token::new((p + n).to_string(), Role::Number);
                continue;
            }
            tokens.push(Token::new(n.to_string(), Role::Number));
            continue;
        }
        // A person's name only loses a legal form written exactly ("Nicolás Maduro SA"): a
        // surname a letter away from "limited" is still a surname.
        let form = if schema == Schema::Entity { legal_form(word) } else { exact_legal_form(word) };
        let role = if let Some(form) = form {
            tokens.push(Token::new(form.to_owned(), Role::LegalForm));
            continue;
        } else if word.len() == 1 && word.as_bytes()[0].is_ascii_alphabetic() {
            Role::Initial
        } else if is_particle(word) {
            Role::Particle
        } else {
            Role::Name
        };
        let text = if schema == Schema::Person { unleet(word) } else { word.to_owned() };
        tokens.push(Token::new(text, role));
    }
    if schema == Schema::Person {
        // A person is not a company: "Nicolás Maduro SA" names Nicolás Maduro.
        tokens.retain(|t| t.role != Role::LegalForm);
        // "Sergey Sergey Shoigu": a repeated token says nothing more.
        let mut seen: Vec<String> = Vec::with_capacity(tokens.len());
        tokens.retain(|t| {
            if t.role == Role::Name && seen.contains(&t.text) {
                false
            } else {
                seen.push(t.text.clone());
                true
            }
        });
    }
    Form { tokens }
}

/// Splits at anything that is not an ASCII letter or digit ("%" as in "3%ers" is a word of
/// its own). For a company, a run of single letters ("a b c", from "A.B.C.") is one word, an
/// acronym; for a person they stay initials.
fn split_words(latin: &str, schema: Schema) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for b in latin.bytes().map(|b| b.to_ascii_lowercase()).chain(std::iter::once(b' ')) {
        if b.is_ascii_alphanumeric() {
            current.push(b as char);
            continue;
        }
        if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        if b == b'%' {
            words.push("percent".into());
        }
    }
    if schema == Schema::Entity {
        let mut joined: Vec<String> = Vec::with_capacity(words.len());
        let mut run = String::new();
        for w in words {
            if w.len() == 1 && w.as_bytes()[0].is_ascii_alphabetic() {
                run.push_str(&w);
                continue;
            }
            if !run.is_empty() {
                joined.push(std::mem::take(&mut run));
            }
            joined.push(w);
        }
        if !run.is_empty() {
            joined.push(run);
        }
        return joined;
    }
    words
}

/// Digits standing in for letters in a person's name ("Ig0r Sech1n").
fn unleet(word: &str) -> String {
    let has_digit = word.bytes().any(|b| b.is_ascii_digit());
    let has_alpha = word.bytes().any(|b| b.is_ascii_alphabetic());
    if !(has_digit && has_alpha) {
        return word.to_owned();
    }
    word.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => 'i',
            '3' => 'e',
            '4' => 'a',
            '5' => 's',
            '7' => 't',
            '8' => 'b',
            '9' => 'g',
            c => c,
        })
        .collect()
}

/// Titles and honorifics that are not part of a person's name.
fn is_title(word: &str) -> bool {
    matches!(
        word,
        "mr" | "mrs"
            | "ms"
            | "miss"
            | "dr"
            | "prof"
            | "professor"
            | "sir"
            | "dame"
            | "lord"
            | "president"
            | "prasident"
            | "prezident"
            | "presidente"
            | "general"
            | "gen"
            | "colonel"
            | "col"
            | "captain"
            | "capt"
            | "major"
            | "lieutenant"
            | "lt"
            | "sheikh"
            | "shaikh"
            | "sheik"
            | "herr"
            | "frau"
            | "senor"
            | "madame"
            | "monsieur"
            | "hon"
            | "honorable"
            | "jr"
            | "sr"
    )
}

/// Connecting particles of names in many languages.
fn is_particle(word: &str) -> bool {
    matches!(
        word,
        "al" | "el"
            | "bin"
            | "ben"
            | "bint"
            | "ibn"
            | "abu"
            | "abou"
            | "van"
            | "von"
            | "der"
            | "den"
            | "de"
            | "da"
            | "di"
            | "du"
            | "la"
            | "le"
            | "del"
            | "della"
            | "dos"
            | "das"
            | "do"
            | "y"
            | "e"
            | "of"
            | "the"
            | "and"
            | "und"
            | "et"
            | "in"
            | "s"
            | "z"
    )
}

/// One spelling per kind of legal form; long words also when misspelt by a letter or two
/// ("aktiengeselschaft", "compan").
fn legal_form(word: &str) -> Option<&'static str> {
    exact_legal_form(word).or_else(|| {
        const LONG: &[(&str, &str)] = &[
            ("aktiengesellschaft", "ag"),
            ("corporation", "co"),
            ("incorporated", "co"),
            ("company", "co"),
            ("limited", "ltd"),
            ("gesellschaft", "gmbh"),
        ];
        (word.len() >= 6)
            .then(|| {
                LONG.iter().find(|(long, _)| crate::score::within(word, long, if long.len() > 10 { 2 } else { 1 }))
            })
            .flatten()
            .map(|(_, form)| *form)
    })
}

fn exact_legal_form(word: &str) -> Option<&'static str> {
    Some(match word {
        "ag" | "akg" | "aktiengesellschaft" => "ag",
        "gmbh" | "mbh" => "gmbh",
        "ltd" | "limited" | "ltda" => "ltd",
        "llc" | "ooo" | "llp" | "tov" => "llc",
        "co" | "company" | "corp" | "corporation" | "inc" | "incorporated" | "cie" | "kompaniya" | "kompania" => "co",
        "jsc" | "ao" | "zao" | "oao" | "pao" | "ojsc" | "cjsc" | "pjsc" | "pat" | "prat" => "jsc",
        "plc" => "plc",
        "sa" | "sas" | "sarl" => "sa",
        "srl" | "sro" => "srl",
        "spa" => "spa",
        "bv" | "nv" => "bv",
        "kg" | "ohg" | "gbr" => "kg",
        "oy" | "oyj" | "ab" | "as" | "asa" | "aps" => "ab",
        "sp" | "zoo" => "zoo",
        "lp" => "lp",
        "fze" | "fzco" | "fzc" | "fzllc" => "fze",
        _ => return None,
    })
}

/// Legal forms written as several words, with the number of words they take.
fn legal_phrase(words: &[String]) -> Option<(usize, &'static str)> {
    const PHRASES: &[(&[&str], &str)] = &[
        (&["limited", "liability", "company"], "llc"),
        (&["limited", "liability", "partnership"], "llc"),
        (&["obshchestvo", "s", "ogranichennoi", "otvetstvennostiu"], "llc"),
        (&["obshchestvo", "s", "ogranichennoy", "otvetstvennostyu"], "llc"),
        (&["obshchestvo", "s", "ogranichennoj", "otvetstvennostyu"], "llc"),
        (&["tovarystvo", "z", "obmezhenoiu", "vidpovidalnistiu"], "llc"),
        (&["open", "joint", "stock", "company"], "jsc"),
        (&["closed", "joint", "stock", "company"], "jsc"),
        (&["public", "joint", "stock", "company"], "jsc"),
        (&["joint", "stock", "company"], "jsc"),
        (&["aktsionernoe", "obshchestvo"], "jsc"),
        (&["aktsionernoye", "obshchestvo"], "jsc"),
        (&["aktcionernoe", "obshchestvo"], "jsc"),
        (&["societatea", "cu", "raspundere", "limitata"], "srl"),
        (&["societa", "a", "responsabilita", "limitata"], "srl"),
        (&["sociedad", "anonima"], "sa"),
        (&["societe", "anonyme"], "sa"),
        (&["public", "limited", "company"], "plc"),
        (&["sp", "z", "o", "o"], "zoo"),
        (&["sp", "z", "oo"], "zoo"),
        (&["gesellschaft", "mit", "beschrankter", "haftung"], "gmbh"),
        (&["joint", "stock"], "jsc"),
        (&["o", "o", "o"], "llc"),
        (&["s", "r", "l"], "srl"),
        (&["s", "a"], "sa"),
    ];
    PHRASES.iter().find_map(|(phrase, canonical)| {
        (words.len() >= phrase.len() && phrase.iter().zip(words).all(|(p, w)| *p == w))
            .then_some((phrase.len(), *canonical))
    })
}

/// Number words and ordinals as numbers.
fn number_word(word: &str) -> Option<u32> {
    if word.bytes().all(|b| b.is_ascii_digit()) && word.len() <= 9 {
        return word.parse().ok();
    }
    // Ordinals written with digits: 1st, 2nd, 3rd, 4th.
    for suffix in ["st", "nd", "rd", "th"] {
        if let Some(digits) = word.strip_suffix(suffix)
            && !digits.is_empty()
            && digits.len() <= 9
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            return digits.parse().ok();
        }
    }
    Some(match word {
        "zero" => 0,
        "one" | "first" => 1,
        "two" | "second" => 2,
        "three" | "third" => 3,
        "four" | "fourth" => 4,
        "five" | "fifth" => 5,
        "six" | "sixth" => 6,
        "seven" | "seventh" => 7,
        "eight" | "eighth" => 8,
        "nine" | "ninth" => 9,
        "ten" | "tenth" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "twenty" => 20,
        "thirty" => 30,
        "forty" | "fourty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        "hundred" => 100,
        _ => return None,
    })
}

/// A phonetic key: letters that transliterations of one sound swap are made one
/// (`kh`/`h`/`g`, `ph`/`f`, `w`/`v`, `ks`/`x`, `ts`/`c`, `j`/`y`/`i`, `z`/`s`…), doubled
/// letters single, and every run of vowels one `a`. "sergei", "sergey" and "serhii" share a
/// key; so do "osama" and "usama".
pub fn phonetic_key(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    let mut last: u8 = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied().unwrap_or(0);
        let after = b.get(i + 2).copied().unwrap_or(0);
        let (mapped, used): (u8, usize) = match (c, next) {
            // German "tsch" and "sch", Polish "sz": one sound, written "ch" or "sh" elsewhere.
            (b't', b's') if b.get(i + 2..i + 4) == Some(b"ch") => (b'S', 4),
            (b's', b'c') if after == b'h' => (b'S', 3),
            // "Christopher", "Chloe": a k before r and l.
            (b'c', b'h') if matches!(after, b'r' | b'l') => (b'k', 2),
            (b's' | b'c', b'h') | (b's', b'z') => (b'S', 2),
            // A hard c, as in "Hendricus" for "Хендрикус"; before e, i, y it stays a c.
            (b'c', b'a' | b'o' | b'u' | b'r' | b'l' | b't') | (b'q', _) => (b'k', 1),
            (b'k', b'h') => (b'g', 2),
            (b'z', b'h') | (b'd', b'j') => (b'j', 2),
            (b'p', b'h') => (b'f', 2),
            (b't', b's' | b'z') => (b'c', 2),
            (b'c', b'k') => (b'k', 2),
            (b'g' | b't', b'h') => (c, 2),
            (b'k', b's') => (b'x', 2),
            (b'w', _) => (b'v', 1),
            (b'z', _) => (b's', 1),
            (b'h', _) => (b'g', 1),
            (b'a' | b'e' | b'i' | b'o' | b'u' | b'y' | b'j', _) => (b'a', 1),
            (c, _) => (c, 1),
        };
        i += used;
        if mapped != last {
            out.push(mapped as char);
        }
        last = mapped;
    }
    out
}

/// Short forms of given names, with the names they stand for: English hypocoristics and the
/// Ukrainian and Russian diminutives volunteers and lists use ("Sasha" for Oleksandr).
const NICKNAMES: &[(&str, &[&str])] = &[
    ("sasha", &["aleksandr", "oleksandr", "alexander", "aleksandra", "oleksandra", "alexandra"]),
    ("sacha", &["alexander", "aleksandr", "alexandra"]),
    ("alex", &["alexander", "aleksandr", "oleksandr", "alexandra", "alexei", "oleksii", "aleksei"]),
    ("volodya", &["volodymyr", "vladimir"]),
    ("vova", &["volodymyr", "vladimir"]),
    ("kolya", &["mykola", "nikolai", "nikolay"]),
    ("dima", &["dmytro", "dmitri", "dmitry"]),
    ("misha", &["mykhailo", "mikhail"]),
    ("seryozha", &["serhii", "sergei", "sergey"]),
    ("vanya", &["ivan"]),
    ("petya", &["petro", "pyotr"]),
    ("zhenya", &["yevhen", "yevgeny", "evgeny", "yevheniia", "evgenia"]),
    ("yura", &["yurii", "yuri", "yury"]),
    ("lyosha", &["oleksii", "aleksei", "alexei"]),
    ("alyosha", &["oleksii", "aleksei", "alexei"]),
    ("kostya", &["kostiantyn", "konstantin"]),
    ("tolya", &["anatolii", "anatoly"]),
    ("slava", &["viacheslav", "vyacheslav", "yaroslav", "stanislav", "sviatoslav"]),
    ("natasha", &["natalia", "nataliia", "natalya"]),
    ("katya", &["kateryna", "ekaterina", "yekaterina"]),
    ("masha", &["maria", "mariia", "mariya"]),
    ("tanya", &["tetiana", "tatiana", "tatyana"]),
    ("olya", &["olha", "olga"]),
    ("lena", &["olena", "elena", "yelena"]),
    ("bill", &["william"]),
    ("will", &["william"]),
    ("billy", &["william"]),
    ("bob", &["robert"]),
    ("rob", &["robert"]),
    ("bobby", &["robert"]),
    ("jim", &["james"]),
    ("jimmy", &["james"]),
    ("mike", &["michael"]),
    ("mick", &["michael"]),
    ("dick", &["richard"]),
    ("rick", &["richard"]),
    ("tom", &["thomas"]),
    ("ted", &["edward", "theodore"]),
    ("ed", &["edward"]),
    ("eddie", &["edward"]),
    ("ben", &["benjamin"]),
    ("bibi", &["benjamin"]),
    ("tony", &["anthony", "antonio"]),
    ("joe", &["joseph"]),
    ("jack", &["john"]),
    ("johnny", &["john"]),
    ("chris", &["christopher", "christian"]),
    ("dan", &["daniel"]),
    ("danny", &["daniel"]),
    ("dave", &["david"]),
    ("steve", &["stephen", "steven"]),
    ("sam", &["samuel"]),
    ("andy", &["andrew"]),
    ("nick", &["nicholas"]),
    ("pat", &["patrick"]),
    ("matt", &["matthew"]),
    ("greg", &["gregory"]),
    ("fred", &["frederick"]),
    ("charlie", &["charles"]),
    ("harry", &["henry", "harold"]),
    ("liz", &["elizabeth"]),
    ("beth", &["elizabeth"]),
    ("kate", &["katherine", "catherine", "kateryna"]),
    ("jenny", &["jennifer"]),
    ("sue", &["susan"]),
    ("peggy", &["margaret"]),
];

/// Whether one token is a short form of the other ("ted" and "theodore", "sasha" and
/// "oleksandr"), spellings of the full name compared by sound.
pub fn nickname_of(a: &Token, b: &Token) -> bool {
    let check = |short: &Token, full: &Token| {
        NICKNAMES
            .iter()
            .find(|(nick, _)| *nick == short.text)
            .is_some_and(|(_, names)| names.iter().any(|n| *n == full.text || phonetic_key(n) == full.key))
    };
    check(a, b) || check(b, a)
}

/// The consonants of a token, as an abjad writes them: vowels and the letters that stand
/// for long vowels (w, y) left out, `p` as `b` and `z` as `s` (sounds Arabic spells with
/// one letter), `h` after a consonant dropped, doubled letters single.
pub fn consonants(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0u8;
    for (i, &c) in text.as_bytes().iter().enumerate() {
        let c = match c {
            b'a' | b'e' | b'i' | b'o' | b'u' | b'w' | b'y' => continue,
            b'h' if i > 0 => continue,
            b'p' => b'b',
            b'z' => b's',
            b'v' => b'f',
            c => c,
        };
        if c != last {
            out.push(c as char);
        }
        last = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(name: &str, schema: Schema) -> Vec<String> {
        forms(name, schema).into_iter().map(|f| f.text()).collect()
    }

    #[test]
    fn tokens_titles_and_legal_forms() {
        assert_eq!(tokenise("mr recep tayyip erdogan", Schema::Person).text(), "recep tayyip erdogan");
        assert_eq!(tokenise("nicolas maduro sa", Schema::Person).text(), "nicolas maduro");
        assert_eq!(tokenise("sergey sergey shoigu", Schema::Person).text(), "sergey shoigu");
        assert_eq!(tokenise("siemens aktiengesellschaft", Schema::Entity).text(), "siemens ag");
        assert_eq!(
            tokenise("limited liability company iskusstvo krasoty", Schema::Entity).text(),
            "llc iskusstvo krasoty"
        );
        assert_eq!(tokenise("oboronnye initsiativy o o o", Schema::Entity).text(), "oboronnye initsiativy llc");
        assert_eq!(tokenise("a b c company", Schema::Entity).text(), "abc co");
        assert_eq!(tokenise("brigade forty four", Schema::Entity).text(), "brigade 44");
        assert_eq!(tokenise("brigade forty 4", Schema::Entity).text(), "brigade 44");
        assert_eq!(tokenise("1st international bank", Schema::Entity).text(), "1 international bank");
        assert_eq!(tokenise("ig0r sech1n", Schema::Person).text(), "igor sechin");
        assert_eq!(tokenise("j c juncker", Schema::Person).tokens[0].role, Role::Initial);
    }

    #[test]
    fn phonetic_keys_absorb_transliteration() {
        for (a, b) in [
            ("sergei", "sergey"),
            ("sergej", "sergei"),
            ("osama", "usama"),
            ("mariya", "mariia"),
            ("khrushchev", "hrushchev"),
            ("tsvetkov", "cvetkov"),
            ("serhii", "sergei"),
            ("alexander", "aleksander"),
            ("bin", "ben"),
            ("christofer", "kristofer"),
            ("hendricus", "khendrykus"),
            ("victor", "viktor"),
            ("szuwar", "shuvar"),
            ("schmidt", "shmidt"),
            ("dsemidowitsch", "dziemidovich"),
        ] {
            assert_eq!(phonetic_key(a), phonetic_key(b), "{a} / {b}");
        }
        for (a, b) in [("olga", "oleg"), ("ivan", "ivanov"), ("rami", "ihab")] {
            assert_ne!(phonetic_key(a), phonetic_key(b), "{a} / {b}");
        }
    }

    #[test]
    fn initials_alone_have_no_substance() {
        assert!(texts("N.N.", Schema::Person).is_empty());
        assert!(texts("N. N.", Schema::Person).is_empty());
        assert_eq!(texts("A.B.C. Company", Schema::Entity), ["abc co"]);
        assert_eq!(texts("J.-C. Juncker", Schema::Person), ["j c juncker"]);
    }
}
