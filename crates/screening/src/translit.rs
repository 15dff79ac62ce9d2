//! Names in any script reduced to comparable Latin forms.
//!
//! The same person is spelt differently by each mission and each list. [`latin_forms`] gives
//! the Latin spellings a name can take, one per applicable scheme, as lower-case ASCII words
//! (`a`–`z`, `0`–`9`, single spaces), so that two spellings can be compared letter by letter.
//!
//! Cyrillic is romanised by the schemes that actually appear on documents and in lists:
//!
//! - **ICAO Doc 9303** (Machine Readable Travel Documents, Part 3, 8th ed. 2021, section 6,
//!   "Transliteration of Cyrillic characters"): what the machine-readable zone of a Russian
//!   (since 2014) passport prints; one table for all Cyrillic languages.
//! - **Ukrainian national system** (Resolution of the Cabinet of Ministers of Ukraine No. 55
//!   of 27 January 2010): Ukrainian passports; also the BGN/PCGN system for Ukrainian since 2019.
//! - **BGN/PCGN 1947** for Russian (with the 1979 system's г→h, ў→w for Belarusian): the
//!   usual spelling of English-language lists and the press (Yeltsin, Lavrov).
//! - **GOST 7.79-2000 System B** (ISO 9:1995 without diacritics): library catalogues and
//!   Russian street signs; covers Russian, Ukrainian, Belarusian, Bulgarian and Macedonian.
//! - the national systems of **Belarus** (passports: ICAO with г→h, ё→io), **Bulgaria**
//!   (Transliteration Act 2009, the "streamlined system"), **Serbia** (Gaj's Latin alphabet,
//!   diacritics dropped, đ→dj) and **North Macedonia** (the 2008 official system), used
//!   when the letters of the text say which language it is.
//!
//! Greek follows ELOT 743:2001 (= ISO 843, used on Greek passports) with a second, phonetic
//! form (μπ→b, ντ→d, γκ→g) as the press writes; Armenian follows the Armenian national /
//! BGN/PCGN 1981 system; Georgian the national system of 2002 (ejective apostrophes dropped);
//! Hangul the Revised Romanization (with the spellings Koreans use for the commonest family
//! names); Kana modified Hepburn; Han Hanyu Pinyin without tones; Indic scripts an ISO 15919
//! reading with the inherent vowel and Hindi-style final schwa deletion; Arabic and Hebrew,
//! written without short vowels, a reading of the consonants and vowel letters, with a second
//! form that supplies an `a` between consonants. Anything else goes through `any_ascii`.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// The writing system a name is (mostly) written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Script {
    /// Latin letters, with or without diacritics.
    Latin,
    /// Cyrillic: Russian, Ukrainian, Belarusian, Bulgarian, Serbian, Macedonian and others.
    Cyrillic,
    /// Greek, monotonic or polytonic.
    Greek,
    /// Georgian (Mkhedruli, Mtavruli).
    Georgian,
    /// Armenian.
    Armenian,
    /// Arabic, including the Persian and Urdu letters.
    Arabic,
    /// Hebrew, including Yiddish.
    Hebrew,
    /// Devanagari (Hindi, Marathi, Nepali).
    Devanagari,
    /// Korean Hangul.
    Hangul,
    /// Japanese Hiragana and Katakana.
    Kana,
    /// Han characters (Chinese; Japanese kanji; Korean hanja).
    Han,
    /// Any other script, or no letters at all.
    Other,
}

impl Script {
    const ALL: [Script; 12] = [
        Script::Latin,
        Script::Cyrillic,
        Script::Greek,
        Script::Georgian,
        Script::Armenian,
        Script::Arabic,
        Script::Hebrew,
        Script::Devanagari,
        Script::Hangul,
        Script::Kana,
        Script::Han,
        Script::Other,
    ];

    /// The script of one letter; `None` for anything that is not a letter.
    fn of_char(c: char) -> Option<Script> {
        if !c.is_alphabetic() {
            return None;
        }
        Some(match u32::from(c) {
            0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x2AF | 0x1E00..=0x1EFF | 0xFF21..=0xFF5A => Script::Latin,
            0x400..=0x52F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
            0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
            0x10A0..=0x10FF | 0x1C90..=0x1CBF | 0x2D00..=0x2D2F => Script::Georgian,
            0x530..=0x58F | 0xFB13..=0xFB17 => Script::Armenian,
            0x590..=0x5FF | 0xFB1D..=0xFB4F => Script::Hebrew,
            0x600..=0x6FF | 0x750..=0x77F | 0x8A0..=0x8FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arabic,
            0x900..=0x97F | 0xA8E0..=0xA8FF => Script::Devanagari,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xA960..=0xA97F | 0xAC00..=0xD7FF => Script::Hangul,
            0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Kana,
            0x3005..=0x3007 | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF => Script::Han,
            _ => Script::Other,
        })
    }
}

/// The script most of a name's letters are written in ([`Script::Other`] when it has none).
pub fn script_of(name: &str) -> Script {
    let mut counts = [0u32; Script::ALL.len()];
    for c in name.chars() {
        if let Some(script) = Script::of_char(c) {
            counts[script as usize] += 1;
        }
    }
    let mut best = Script::Other;
    let mut most = 0;
    for (script, &count) in Script::ALL.iter().zip(&counts) {
        if count > most {
            most = count;
            best = *script;
        }
    }
    best
}

/// A romanisation of Cyrillic, for [`romanise_cyrillic`]. [`latin_forms`] picks the ones that
/// fit the language the letters point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CyrillicScheme {
    /// ICAO Doc 9303 Part 3: ж zh, х kh, ц ts, щ shch, ю iu, я ia, й i, ъ ie, ё e, є ie, ї i.
    Icao9303,
    /// Ukraine's Resolution No. 55 (2010): г h, и y, зг zgh; є ї й ю я give ye yi y yu ya at
    /// the start of a word and ie i i iu ia elsewhere; ь and the apostrophe vanish.
    Ukrainian2010,
    /// BGN/PCGN 1947 for Russian: е and ё give ye and yo at the start of a word and after a
    /// vowel, й, ъ or ь; й y; the hard and soft signs vanish.
    BgnPcgn,
    /// GOST 7.79-2000 System B: х x, щ shh, й j, ё yo, ц c before i e y j and cz elsewhere;
    /// the accent marks of y' e' and the signs are dropped.
    Gost779B,
    /// Belarusian passports (MVD Resolution No. 200, 2010): ICAO with г h and ё io.
    Belarusian,
    /// Bulgarian Transliteration Act (2009): х h, щ sht, ъ a, ь y, final ия ia.
    Bulgarian,
    /// Serbian Latin alphabet without diacritics: ђ dj, ћ c, ч c, ж z, ш s, џ dz, х h.
    Serbian,
    /// North Macedonian official system (2008): ѓ gj, ќ kj, ѕ dz, џ dzh, х h, ц c.
    Macedonian,
}

/// The Cyrillic language a text's letters point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Unknown,
    Russian,
    Ukrainian,
    Belarusian,
    Bulgarian,
    Serbian,
    Macedonian,
}

impl Lang {
    /// Looks for the letters only one language uses: і ї є ґ, the apostrophe and -ськ-
    /// (Ukrainian), ў (Belarusian), ы э ё (Russian or Belarusian), ъ before a consonant
    /// (Bulgarian), ђ ћ ј љ њ џ (Serbian), ѓ ќ ѕ (Macedonian).
    fn detect(chars: &[char]) -> Lang {
        let (mut ru, mut ua, mut i_dot, mut by, mut bg, mut sr, mut mk) =
            (false, false, false, false, false, false, false);
        for (i, &c) in chars.iter().enumerate() {
            match c {
                'ѓ' | 'ќ' | 'ѕ' => mk = true,
                'ђ' | 'ћ' | 'ј' | 'љ' | 'њ' | 'џ' => sr = true,
                'ў' => by = true,
                'і' => i_dot = true,
                'ї' | 'є' | 'ґ' => ua = true,
                'ы' | 'э' | 'ё' => ru = true,
                'ъ' => {
                    if matches!(chars.get(i + 1), Some('е' | 'ё' | 'ю' | 'я')) {
                        ru = true;
                    } else {
                        bg = true;
                    }
                }
                'ѝ' => bg = true,
                // -ський, -цький, -зький: Russian writes -ский.
                'ь' if i > 0 && matches!(chars[i - 1], 'с' | 'ц' | 'з') && chars.get(i + 1) == Some(&'к') => {
                    ua = true;
                }
                c if is_apostrophe(c)
                    && i > 0
                    && is_cyrillic(chars[i - 1])
                    && chars.get(i + 1).is_some_and(|&n| is_cyrillic(n)) =>
                {
                    ua = true;
                }
                _ => {}
            }
        }
        if mk {
            Lang::Macedonian
        } else if sr {
            Lang::Serbian
        } else if by || (i_dot && ru) {
            Lang::Belarusian
        } else if ua || i_dot {
            Lang::Ukrainian
        } else if bg {
            Lang::Bulgarian
        } else if ru {
            Lang::Russian
        } else {
            Lang::Unknown
        }
    }

    /// The schemes worth a form for this language, the one its own documents use first.
    fn schemes(self) -> &'static [CyrillicScheme] {
        use CyrillicScheme as S;
        match self {
            Lang::Unknown => &[S::Icao9303, S::Ukrainian2010, S::BgnPcgn, S::Gost779B],
            Lang::Russian => &[S::Icao9303, S::BgnPcgn, S::Gost779B],
            // BGN/PCGN adopted the national system for Ukrainian in 2019.
            Lang::Ukrainian => &[S::Ukrainian2010, S::Icao9303, S::Gost779B],
            Lang::Belarusian => &[S::Belarusian, S::Icao9303, S::BgnPcgn, S::Gost779B],
            Lang::Bulgarian => &[S::Bulgarian, S::Icao9303, S::Gost779B],
            // GOST 7.79 leaves Serbian to its own Latin alphabet.
            Lang::Serbian => &[S::Serbian, S::Icao9303],
            Lang::Macedonian => &[S::Macedonian, S::Icao9303, S::Gost779B],
        }
    }
}

/// NFKC, lower case (`ß` → `ss`), diacritics stripped, whitespace collapsed to single spaces
/// and trimmed; the script is kept. Cyrillic й ї ў ѓ ќ stay (they are letters of their own,
/// not accented ones), and ё becomes е, as Russian is usually written.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    let mut emit = |c: char| {
        if c.is_whitespace() {
            gap = true;
        } else {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        }
    };
    for_each_nfkc(s, |c| {
        for_each_lower(c, |l| match l {
            'ё' => emit('е'),
            'ß' => {
                emit('s');
                emit('s');
            }
            'й' | 'ї' | 'ў' | 'ѓ' | 'ќ' => emit(l),
            _ if is_optional_mark(l) => {}
            '\u{80}'..='\u{52F}' | '\u{1E00}'..='\u{1FFF}' => decompose_canonical(l, |d| {
                if !is_optional_mark(d) {
                    emit(d);
                }
            }),
            _ => emit(l),
        });
    });
    out
}

/// The Latin spellings of a name, lower-case ASCII letters and digits in words separated by
/// single spaces, one per applicable scheme, deduplicated, the most standard first; empty
/// when the name has no letters or digits.
///
/// A name already in Latin letters gives itself folded (`Erdoğan` → `erdogan`), then, when it
/// has ä ö ü å ø, its ICAO machine-readable spelling (`Müller` → `muller`, `mueller`).
/// Cyrillic gives up to four forms: the scheme of the language its letters point to
/// (Ukrainian national, Belarusian, Bulgarian, Serbian or Macedonian; ICAO Doc 9303 when it
/// could be Russian), then ICAO, BGN/PCGN and GOST 7.79 System B, as [`CyrillicScheme`]
/// describes. Apostrophes and the Cyrillic hard and soft signs vanish; hyphens and other
/// punctuation separate words.
pub fn latin_forms(name: &str) -> Vec<String> {
    if name.is_ascii() {
        let mut sink = Sink::with_capacity(name.len());
        for b in name.bytes() {
            sink.input_ascii(b);
        }
        let form = sink.finish();
        return if form.is_empty() { Vec::new() } else { vec![form] };
    }
    let chars = prepare(name);
    let mut has_cyrillic = false;
    let mut has_alternative = false;
    for &c in &chars {
        has_cyrillic |= is_cyrillic(c);
        has_alternative |= has_alternative_reading(c);
    }
    let lang = if has_cyrillic { Lang::detect(&chars) } else { Lang::Unknown };
    let schemes = if has_cyrillic { lang.schemes() } else { &[CyrillicScheme::Icao9303] };
    let mut forms: Vec<String> = Vec::with_capacity(schemes.len() + 1);
    let passes = schemes
        .iter()
        .map(|&cyrillic| Pass { cyrillic, lang, alternative: false })
        .chain(has_alternative.then_some(Pass { cyrillic: schemes[0], lang, alternative: true }));
    for pass in passes {
        let mut sink = Sink::with_capacity(name.len() + 8);
        romanise(&chars, pass, &mut sink);
        let form = sink.finish();
        if !form.is_empty() && !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

/// A name romanised by one Cyrillic scheme (other scripts as in the first of
/// [`latin_forms`]), in the same lower-case ASCII words.
pub fn romanise_cyrillic(name: &str, scheme: CyrillicScheme) -> String {
    let chars = prepare(name);
    let lang = Lang::detect(&chars);
    let mut sink = Sink::with_capacity(name.len() + 8);
    romanise(&chars, Pass { cyrillic: scheme, lang, alternative: false }, &mut sink);
    sink.finish()
}

/// One way through a name: the Cyrillic scheme, the language the Cyrillic letters point to,
/// and whether other scripts take their alternative reading.
#[derive(Debug, Clone, Copy)]
struct Pass {
    cyrillic: CyrillicScheme,
    lang: Lang,
    alternative: bool,
}

/// Collects the output, keeping only ASCII letters (lowered) and digits, dropping
/// apostrophes and quotes, and turning anything else into one space between words.
struct Sink {
    out: String,
    gap: bool,
}

impl Sink {
    fn with_capacity(n: usize) -> Self {
        Sink { out: String::with_capacity(n), gap: false }
    }

    fn gap(&mut self) {
        self.gap = true;
    }

    /// One byte of a transliteration.
    fn byte(&mut self, b: u8) {
        let b = b.to_ascii_lowercase();
        if b.is_ascii_alphanumeric() {
            if self.gap && !self.out.is_empty() {
                self.out.push(' ');
            }
            self.gap = false;
            self.out.push(char::from(b));
        } else if !matches!(b, b'\'' | b'`' | b'"') {
            self.gap = true;
        }
    }

    /// One byte of the input itself, where a double quote separates words.
    fn input_ascii(&mut self, b: u8) {
        if b == b'"' { self.gap() } else { self.byte(b) }
    }

    fn push(&mut self, s: &str) {
        for b in s.bytes() {
            self.byte(b);
        }
    }

    /// The last letter written in the current word, if any.
    fn last_in_word(&self) -> Option<u8> {
        if self.gap { None } else { self.out.as_bytes().last().copied() }
    }

    fn finish(self) -> String {
        self.out
    }
}

/// Calls `f` with each character of the NFKC form of `s`, skipping the normalisation when a
/// quick check finds `s` already normal.
fn for_each_nfkc(s: &str, f: impl FnMut(char)) {
    if s.chars().all(is_nfkc_inert) || is_nfkc_quick(s.chars()) == IsNormalized::Yes {
        s.chars().for_each(f);
    } else {
        s.nfkc().for_each(f);
    }
}

/// Letters that NFKC leaves alone and that nothing after them composes with: most of the
/// letters names are written in, checked without the normalisation tables.
fn is_nfkc_inert(c: char) -> bool {
    matches!(u32::from(c),
        0x20..=0x7E | 0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0x131 | 0x134..=0x13E | 0x141..=0x148
        | 0x14A..=0x17E | 0x386 | 0x388..=0x38A | 0x38C | 0x38E..=0x3A1 | 0x3A3..=0x3CE
        | 0x400..=0x481 | 0x48A..=0x52F | 0x531..=0x556 | 0x561..=0x586 | 0x5D0..=0x5EA
        | 0x621..=0x652 | 0x660..=0x669 | 0x671..=0x674 | 0x679..=0x6D3
        | 0x901..=0x939 | 0x93D..=0x94D | 0x950 | 0x966..=0x96F
        | 0x981..=0x9B9 | 0x9BF..=0x9CD | 0x9E6..=0x9EF | 0xE01..=0xE32 | 0xE34..=0xE4E
        | 0x10A0..=0x10C5 | 0x10D0..=0x10FA | 0x3041..=0x3096 | 0x30A1..=0x30FA
        | 0x4E00..=0x9FFF | 0xAC00..=0xD7A3)
}

/// Lower case, skipping the case tables for the scripts that have no case.
fn for_each_lower(c: char, mut f: impl FnMut(char)) {
    match u32::from(c) {
        0..=0x7F => f(c.to_ascii_lowercase()),
        0x590..=0x109F | 0x3000..=0xA63F | 0xAC00..=0xD7A3 => f(c),
        _ => c.to_lowercase().for_each(f),
    }
}

/// The name as lower-case NFKC characters, without Hebrew points and Arabic tatweel (which
/// only decorate), ready for [`romanise`].
fn prepare(name: &str) -> Vec<char> {
    let mut chars = Vec::with_capacity(name.len());
    for_each_nfkc(name, |c| {
        for_each_lower(c, |l| {
            if !matches!(u32::from(l), 0x591..=0x5BD | 0x5BF | 0x5C1 | 0x5C2 | 0x5C4 | 0x5C5 | 0x5C7 | 0x640) {
                chars.push(l);
            }
        });
    });
    chars
}

/// Characters that read differently in the alternative pass.
fn has_alternative_reading(c: char) -> bool {
    matches!(c, 'ä' | 'ö' | 'ü' | 'å' | 'ø')
        || matches!(u32::from(c),
            0x370..=0x3FF | 0x1F00..=0x1FFF | 0x5D0..=0x5EA | 0x620..=0x64A | 0x671..=0x6D3
            | 0xAC00..=0xD7A3)
        || is_han(c)
}

/// Marks that only accent a letter: combining diacritics, Hebrew points, Arabic short vowels
/// and tatweel. Indic vowel signs and Kana voicing marks are not among them.
fn is_optional_mark(c: char) -> bool {
    matches!(u32::from(c),
        0x300..=0x36F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
        | 0x591..=0x5BD | 0x5BF | 0x5C1 | 0x5C2 | 0x5C4 | 0x5C5 | 0x5C7
        | 0x640 | 0x64B..=0x65F | 0x670)
}

/// Apostrophes and the marks used for them (Ukrainian apostrophe, soft and hard sign
/// transliterations, Hebrew geresh): they vanish inside a word.
fn is_apostrophe(c: char) -> bool {
    matches!(
        u32::from(c),
        0x27 | 0x60 | 0xB4 | 0x2B9..=0x2BD | 0x2C8 | 0x2018 | 0x2019 | 0x201B | 0x2032 | 0x2033 | 0x5F3 | 0x5F4
    )
}

/// Whether `c` continues a word (letters, digits, marks, apostrophes).
fn is_word_char(c: char) -> bool {
    match u32::from(c) {
        // ASCII, and the letters of the scripts read with context, without the slow general
        // lookup.
        0x30..=0x39
        | 0x41..=0x5A
        | 0x61..=0x7A
        | 0x370..=0x3FF
        | 0x400..=0x52F
        | 0x531..=0x587
        | 0x5D0..=0x5F2
        | 0x620..=0x64A
        | 0x671..=0x6D3 => true,
        0..=0x7F => c == '\'' || c == '`',
        _ => c.is_alphanumeric() || is_apostrophe(c) || is_combining_mark(c),
    }
}

/// Whether `any_ascii` reads `c` as (part of) a word: the letters, digits and marks of the
/// scripts, but not the punctuation, symbols and emoji that it spells out in words.
fn is_spelt_letter(c: char) -> bool {
    match u32::from(c) {
        0xC0..=0x1FFF
        | 0x2C00..=0x2DFF
        | 0x3040..=0xD7FF
        | 0xF900..=0xFAFF
        | 0xFB00..=0xFDFF
        | 0xFE70..=0xFEFF
        | 0x10000..=0x1EFFF
        | 0x20000..=0x3FFFF => true,
        _ => c.is_alphanumeric(),
    }
}

fn word_initial(chars: &[char], i: usize) -> bool {
    i == 0 || !is_word_char(chars[i - 1])
}

fn word_final(chars: &[char], i: usize) -> bool {
    chars.get(i + 1).is_none_or(|&n| !is_word_char(n))
}

fn is_cyrillic(c: char) -> bool {
    matches!(u32::from(c), 0x400..=0x52F)
}

fn is_han(c: char) -> bool {
    matches!(u32::from(c), 0x3005 | 0x3007 | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF)
}

fn is_hangul_syllable(c: char) -> bool {
    matches!(u32::from(c), 0xAC00..=0xD7A3)
}

/// Writes one romanisation of the prepared characters.
fn romanise(chars: &[char], pass: Pass, sink: &mut Sink) {
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let step = match u32::from(c) {
            0..=0x7F => {
                sink.input_ascii(u8::try_from(c).unwrap_or(b' '));
                1
            }
            0x400..=0x52F => {
                sink.push(cyrillic(chars, i, pass));
                1
            }
            0x370..=0x3FF | 0x1F00..=0x1FFF => greek(chars, i, pass.alternative, sink),
            0x531..=0x587 => armenian(chars, i, sink),
            0x5D0..=0x5F4 => hebrew(chars, i, pass.alternative, sink),
            0x620..=0x652 | 0x670..=0x6D3 => arabic(chars, i, pass.alternative, sink),
            0x900..=0xD7F => indic(chars, i, sink),
            0x3040..=0x30FF => kana(chars, i, sink),
            0xE00..=0xEFF => thai_lao(chars, i, sink),
            0xAC00..=0xD7A3 => syllable_run(chars, i, pass.alternative, sink),
            _ if is_han(c) => syllable_run(chars, i, pass.alternative, sink),
            _ if is_apostrophe(c) || is_optional_mark(c) => 1,
            0x80..=0xBF | 0xD7 | 0xF7 if !c.is_alphanumeric() => {
                sink.gap();
                1
            }
            0x80..=0x24F | 0x1E00..=0x1EFF => {
                latin(c, pass.alternative, sink);
                1
            }
            _ => {
                if is_spelt_letter(c) {
                    sink.push(any_ascii::any_ascii_char(c));
                } else {
                    sink.gap();
                }
                1
            }
        };
        i += step;
    }
}

/// A Latin letter with its diacritics dropped; in the alternative pass, ä ö ü å ø as the
/// ICAO Doc 9303 machine-readable zone spells them (ae oe ue aa oe).
fn latin(c: char, alternative: bool, sink: &mut Sink) {
    if alternative {
        let icao = match c {
            'ä' => "ae",
            'ö' | 'ø' => "oe",
            'ü' => "ue",
            'å' => "aa",
            _ => "",
        };
        if !icao.is_empty() {
            sink.push(icao);
            return;
        }
    }
    decompose_canonical(c, |d| {
        if d.is_ascii() {
            sink.push(d.encode_utf8(&mut [0; 4]));
        } else if !is_combining_mark(d) {
            sink.push(any_ascii::any_ascii_char(d));
        }
    });
}

/// One Cyrillic letter in the pass's scheme.
fn cyrillic(chars: &[char], i: usize, pass: Pass) -> &'static str {
    use CyrillicScheme as S;
    let c = chars[i];
    let prev = i.checked_sub(1).map(|p| chars[p]);
    let next = chars.get(i + 1).copied();
    let initial = word_initial(chars, i);
    match pass.cyrillic {
        S::Icao9303 => icao_cyrillic(c),
        S::Ukrainian2010 => match c {
            'г' => {
                if prev == Some('з') {
                    "gh"
                } else {
                    "h"
                }
            }
            'є' => initial_or(initial, "ye", "ie"),
            'ї' => initial_or(initial, "yi", "i"),
            'й' => initial_or(initial, "y", "i"),
            'ю' => initial_or(initial, "yu", "iu"),
            'я' => initial_or(initial, "ya", "ia"),
            'и' | 'ы' => "y",
            'ё' => "io",
            'ъ' => "",
            _ => icao_cyrillic(c),
        },
        S::BgnPcgn => {
            let after_vowel = initial || prev.is_some_and(|p| is_cyrillic_vowel(p) || matches!(p, 'й' | 'ъ' | 'ь'));
            match c {
                'е' => initial_or(after_vowel, "ye", "e"),
                // ë is written e once the diaeresis goes; yë reads yo.
                'ё' => initial_or(after_vowel, "yo", "e"),
                'г' if pass.lang == Lang::Belarusian => "h",
                'й' | 'ы' => "y",
                'ъ' => "",
                'ю' => "yu",
                'я' => "ya",
                'ў' => "w",
                'є' => "ye",
                'ї' => "yi",
                _ => icao_cyrillic(c),
            }
        }
        S::Gost779B => match c {
            'ё' => "yo",
            'є' => "ye",
            'ї' => "yi",
            'й' => "j",
            'и' if pass.lang == Lang::Ukrainian => "y",
            'х' => "x",
            'ц' => {
                if next.is_some_and(gost_c_before) {
                    "c"
                } else {
                    "cz"
                }
            }
            'щ' if pass.lang == Lang::Bulgarian => "sth",
            'щ' => "shh",
            'ъ' if pass.lang == Lang::Bulgarian => "a",
            'ъ' => "",
            'ю' => "yu",
            'я' => "ya",
            'ѕ' => "z",
            'љ' => "l",
            'њ' => "n",
            'џ' => "dh",
            _ => icao_cyrillic(c),
        },
        S::Belarusian => match c {
            'г' => "h",
            'ё' => "io",
            _ => icao_cyrillic(c),
        },
        S::Bulgarian => match c {
            'х' => "h",
            'щ' => "sht",
            'ъ' => "a",
            'ь' | 'й' => "y",
            'ю' => "yu",
            'я' if prev == Some('и') && word_final(chars, i) => "a",
            'я' => "ya",
            _ => icao_cyrillic(c),
        },
        S::Serbian => match c {
            'ђ' => "dj",
            'ж' => "z",
            'ћ' | 'ц' | 'ч' => "c",
            'х' => "h",
            'ш' => "s",
            _ => icao_cyrillic(c),
        },
        S::Macedonian => match c {
            'ѓ' => "gj",
            'ќ' => "kj",
            'х' => "h",
            'ц' => "c",
            'џ' => "dzh",
            _ => icao_cyrillic(c),
        },
    }
}

fn initial_or(initial: bool, at_start: &'static str, elsewhere: &'static str) -> &'static str {
    if initial { at_start } else { elsewhere }
}

fn is_cyrillic_vowel(c: char) -> bool {
    matches!(c, 'а' | 'е' | 'ё' | 'и' | 'о' | 'у' | 'ы' | 'э' | 'ю' | 'я' | 'і' | 'ї' | 'є' | 'ѝ')
}

/// GOST 7.79 writes ц as c before the Latin letters i, e, y and j: before the Cyrillic
/// letters written with them.
fn gost_c_before(next: char) -> bool {
    matches!(next, 'и' | 'е' | 'ы' | 'й' | 'і' | 'ї' | 'є' | 'э' | 'ю' | 'я' | 'ё' | 'ј')
}

/// ICAO Doc 9303 Part 3, the Cyrillic table; letters it does not cover go through
/// `any_ascii`.
fn icao_cyrillic(c: char) -> &'static str {
    match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' | 'ґ' | 'ѓ' => "g",
        'д' | 'ђ' => "d",
        'е' | 'ё' | 'э' => "e",
        'є' | 'ъ' => "ie",
        'ж' => "zh",
        'з' => "z",
        'ѕ' | 'џ' => "dz",
        'и' | 'і' | 'ї' | 'й' | 'ѝ' => "i",
        'ј' => "j",
        'к' | 'ќ' => "k",
        'л' => "l",
        'љ' => "lj",
        'м' => "m",
        'н' => "n",
        'њ' => "nj",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'ћ' => "c",
        'у' | 'ў' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ы' => "y",
        'ь' => "",
        'ю' => "iu",
        'я' => "ia",
        _ => any_ascii::any_ascii_char(c),
    }
}

/// A Greek letter without its accents, and whether it carries a diaeresis (which keeps it
/// out of a digraph).
fn greek_letter(c: char) -> (char, bool) {
    let mut base = c;
    let mut first = true;
    let mut diaeresis = false;
    decompose_canonical(c, |d| {
        if first {
            base = d;
            first = false;
        } else if d == '\u{308}' {
            diaeresis = true;
        }
    });
    (base, diaeresis)
}

/// Greek by ELOT 743:2001 (ISO 843): αυ ευ ηυ as av ev iv before vowels and voiced
/// consonants, af ef if otherwise; ου ou; γγ ng, γξ nx, γχ nch; μπ ντ γκ letter by letter,
/// or, in the alternative pass, as b d g, as they are said and as the press writes them.
fn greek(chars: &[char], i: usize, alternative: bool, sink: &mut Sink) -> usize {
    let letter = |j: usize| {
        chars.get(j).filter(|&&c| matches!(u32::from(c), 0x370..=0x3FF | 0x1F00..=0x1FFF)).map(|&c| greek_letter(c))
    };
    let (c, _) = greek_letter(chars[i]);
    // A following letter that can join this one in a digraph (no diaeresis).
    let next = letter(i + 1).filter(|&(_, diaeresis)| !diaeresis).map(|(n, _)| n);
    let voiced_after = |j: usize| {
        letter(j).is_some_and(|(n, _)| {
            matches!(n, 'α' | 'ε' | 'η' | 'ι' | 'ο' | 'υ' | 'ω' | 'β' | 'γ' | 'δ' | 'ζ' | 'λ' | 'μ' | 'ν' | 'ρ')
        })
    };
    let (out, step): (&str, usize) = match (c, next) {
        ('α', Some('υ')) => (if voiced_after(i + 2) { "av" } else { "af" }, 2),
        ('ε', Some('υ')) => (if voiced_after(i + 2) { "ev" } else { "ef" }, 2),
        ('η', Some('υ')) => (if voiced_after(i + 2) { "iv" } else { "if" }, 2),
        ('ο', Some('υ')) => ("ou", 2),
        ('γ', Some('γ')) => ("ng", 2),
        ('γ', Some('ξ')) => ("nx", 2),
        ('γ', Some('χ')) => ("nch", 2),
        ('γ', Some('κ')) if alternative => ("g", 2),
        ('μ', Some('π')) if alternative => ("b", 2),
        ('ν', Some('τ')) if alternative => ("d", 2),
        _ => (
            match c {
                'α' => "a",
                'β' | 'ϐ' => "v",
                'γ' => "g",
                'δ' => "d",
                'ε' => "e",
                'ζ' => "z",
                'η' | 'ι' => "i",
                'θ' | 'ϑ' => "th",
                'κ' | 'ϰ' => "k",
                'λ' => "l",
                'μ' => "m",
                'ν' => "n",
                'ξ' => "x",
                'ο' | 'ω' => "o",
                'π' => "p",
                'ρ' | 'ϱ' => "r",
                'σ' | 'ς' | 'ϲ' => "s",
                'τ' => "t",
                'υ' => "y",
                'φ' | 'ϕ' => "f",
                'χ' => "ch",
                'ψ' => "ps",
                _ if c.is_alphabetic() => any_ascii::any_ascii_char(c),
                _ => " ",
            },
            1,
        ),
    };
    sink.push(out);
    step
}

/// Armenian by the national / BGN/PCGN 1981 system: ու u, ե ye and ո vo at the start of a
/// word, և (եւ) ev; the aspirates lose their apostrophes.
fn armenian(chars: &[char], i: usize, sink: &mut Sink) -> usize {
    let c = chars[i];
    let next = chars.get(i + 1).copied();
    let initial = word_initial(chars, i);
    let (out, step) = match (c, next) {
        ('ո', Some('ւ')) => ("u", 2),
        ('ե', Some('ւ')) => (initial_or(initial, "yev", "ev"), 2),
        _ => (
            match c {
                'ա' => "a",
                'բ' => "b",
                'գ' => "g",
                'դ' => "d",
                'ե' => initial_or(initial, "ye", "e"),
                'զ' => "z",
                'է' | 'ը' => "e",
                'թ' | 'տ' => "t",
                'ժ' => "zh",
                'ի' => "i",
                'լ' => "l",
                'խ' => "kh",
                'ծ' | 'ց' => "ts",
                'կ' | 'ք' => "k",
                'հ' => "h",
                'ձ' => "dz",
                'ղ' => "gh",
                'ճ' | 'չ' => "ch",
                'մ' => "m",
                'յ' => "y",
                'ն' => "n",
                'շ' => "sh",
                'ո' => initial_or(initial, "vo", "o"),
                'պ' | 'փ' => "p",
                'ջ' => "j",
                'ռ' | 'ր' => "r",
                'ս' => "s",
                'վ' | 'ւ' => "v",
                'օ' => "o",
                'ֆ' => "f",
                _ if c.is_alphabetic() => any_ascii::any_ascii_char(c),
                _ => " ",
            },
            1,
        ),
    };
    sink.push(out);
    step
}

fn is_hebrew_letter(c: char) -> bool {
    matches!(u32::from(c), 0x5D0..=0x5EA | 0x5F0..=0x5F2)
}

/// Hebrew as usually written, without points: ב כ פ are b k p at the start of a word and v
/// kh f inside it; ו and י are consonants (v, y) at the start of a word or doubled and vowels
/// (o, i) inside it; ה at the end of a word is a; a geresh turns ג ז צ ת into j zh ch th.
/// The alternative pass supplies an `a` between two consonants.
fn hebrew(chars: &[char], i: usize, alternative: bool, sink: &mut Sink) -> usize {
    let c = chars[i];
    if !is_hebrew_letter(c) {
        // Geresh and gershayim mark abbreviations and foreign sounds; maqaf is a hyphen.
        if !is_apostrophe(c) {
            sink.gap();
        }
        return 1;
    }
    let next = chars.get(i + 1).copied();
    let geresh = next.is_some_and(is_apostrophe);
    let initial = i == 0 || !is_hebrew_letter(chars[i - 1]);
    let last = next.is_none_or(|n| !is_hebrew_letter(n));
    let after_initial_alef = i > 0 && chars[i - 1] == 'א' && (i == 1 || !is_hebrew_letter(chars[i - 2]));
    let (out, step, vowel) = match c {
        // An alef before ו or י only carries the vowel they write (אולג Oleg, אינגבר Ingber).
        'א' if initial && matches!(next, Some('ו' | 'י')) => ("", 1, true),
        'א' => ("a", 1, true),
        'ב' => (initial_or(initial, "b", "v"), 1, false),
        'ג' => (if geresh { "j" } else { "g" }, 1, false),
        'ד' => ("d", 1, false),
        'ה' if last && !initial => ("a", 1, true),
        'ה' => ("h", 1, false),
        'ו' if next == Some('ו') => ("v", 2, false),
        'ו' if initial && !after_initial_alef => ("v", 1, false),
        'ו' => ("o", 1, true),
        'ז' => (if geresh { "zh" } else { "z" }, 1, false),
        'ח' | 'ך' => ("kh", 1, false),
        'ט' => ("t", 1, false),
        'י' if next == Some('י') => (initial_or(initial, "y", "ei"), 2, !initial),
        'י' if (initial && !after_initial_alef) || next.is_some_and(|n| matches!(n, 'א' | 'ו' | 'ה')) => {
            ("y", 1, false)
        }
        'י' => ("i", 1, true),
        'כ' => (initial_or(initial, "k", "kh"), 1, false),
        'ל' => ("l", 1, false),
        'מ' | 'ם' => ("m", 1, false),
        'נ' | 'ן' => ("n", 1, false),
        'ס' => ("s", 1, false),
        'פ' => (initial_or(initial, "p", "f"), 1, false),
        'ף' => ("f", 1, false),
        'צ' | 'ץ' => (if geresh { "ch" } else { "ts" }, 1, false),
        'ק' => ("k", 1, false),
        'ר' => ("r", 1, false),
        'ש' => ("sh", 1, false),
        'ת' => (if geresh { "th" } else { "t" }, 1, false),
        'װ' => ("v", 1, false),
        'ױ' => ("oy", 1, true),
        'ײ' => ("ey", 1, true),
        // ע, and anything else, has no sound of its own in Latin.
        _ => ("", 1, true),
    };
    if alternative && !vowel && !initial && sink.last_in_word().is_some_and(is_consonant_byte) {
        sink.push("a");
    }
    sink.push(out);
    step
}

fn is_consonant_byte(b: u8) -> bool {
    b.is_ascii_alphabetic() && !matches!(b, b'a' | b'e' | b'i' | b'o' | b'u')
}

fn is_arabic_letter(c: char) -> bool {
    matches!(u32::from(c), 0x620..=0x64A | 0x671..=0x6D3)
}

/// Arabic (and Persian, Urdu) without short vowels: the consonants, alif a, و and ي as w and
/// y at the start of a word or before a vowel letter and as u and i otherwise, ة and ى a,
/// ع a; the short-vowel marks, when written, as a i u, shadda doubling. The alternative pass
/// supplies an `a` between two consonants, as most names have one there.
fn arabic(chars: &[char], i: usize, alternative: bool, sink: &mut Sink) -> usize {
    let c = chars[i];
    let next = chars.get(i + 1).copied();
    let initial = i == 0 || !is_arabic_letter(chars[i - 1]);
    if initial && c == 'ا' && next == Some('ل') {
        // The article al- is written as its own word in Latin (al-Tikriti); الله is Allah.
        let rest = chars[i + 2..].iter().take_while(|&&n| is_arabic_letter(n)).count();
        if chars[i + 2..].starts_with(&['ل', 'ه']) && rest == 2 {
            sink.push("allah");
            return 4;
        }
        if rest >= 2 {
            sink.push("al");
            sink.gap();
            return 2;
        }
    }
    let after_initial_alif = i > 0 && matches!(chars[i - 1], 'ا' | 'أ' | 'إ') && word_initial(chars, i - 1);
    let before_vowel =
        next.is_some_and(|n| matches!(n, 'ا' | 'آ' | 'أ' | 'ى' | 'ة' | 'و' | 'ي' | 'ی' | '\u{64E}' | '\u{650}'));
    let (out, vowel): (&str, bool) = match c {
        // An alif before و or ي only carries the vowel they write (أوزان Ozan, إيران Iran).
        'ا' | 'أ' | 'إ' if initial && matches!(next, Some('و' | 'ي' | 'ی')) => ("", true),
        'و' | 'ۆ' if (initial || before_vowel) && !after_initial_alif => ("w", false),
        'ي' | 'ی' | 'ې' if (initial || before_vowel) && !after_initial_alif => ("y", false),
        // Vowel letters and, when written, the short vowels fatha, kasra, damma.
        'ا' | 'آ' | 'أ' | 'ٱ' | 'ى' | 'ة' | 'ۃ' | 'ع' | '\u{64E}' | '\u{670}' => ("a", true),
        'إ' | 'ئ' | 'ي' | 'ی' | 'ې' | '\u{650}' => ("i", true),
        'ؤ' | 'و' | '\u{64F}' => ("u", true),
        'ۆ' => ("o", true),
        'ء' => ("", true),
        'ے' | 'ێ' | 'ە' | 'ۀ' => ("e", true),
        'ب' => ("b", false),
        'پ' => ("p", false),
        'ت' | 'ط' | 'ٹ' => ("t", false),
        'ث' => ("th", false),
        'ج' => ("j", false),
        'چ' => ("ch", false),
        'ح' | 'ه' | 'ہ' | 'ھ' => ("h", false),
        'خ' => ("kh", false),
        'د' | 'ض' | 'ڈ' => ("d", false),
        'ذ' => ("dh", false),
        'ر' | 'ڑ' | 'ڕ' => ("r", false),
        'ز' | 'ظ' => ("z", false),
        'ژ' => ("zh", false),
        'س' | 'ص' => ("s", false),
        'ش' => ("sh", false),
        'غ' => ("gh", false),
        'ف' => ("f", false),
        'ڤ' => ("v", false),
        'ق' => ("q", false),
        'ك' | 'ک' => ("k", false),
        'گ' | 'ڨ' => ("g", false),
        'ل' | 'ڵ' => ("l", false),
        'م' => ("m", false),
        'ن' | 'ں' => ("n", false),
        '\u{651}' => {
            // Shadda doubles the consonant before it.
            if let Some(last) = sink.last_in_word() {
                sink.byte(last);
            }
            return 1;
        }
        _ if is_combining_mark(c) => ("", true),
        _ if c.is_alphanumeric() => (any_ascii::any_ascii_char(c), false),
        _ => (" ", true),
    };
    if alternative && !vowel && !initial && sink.last_in_word().is_some_and(is_consonant_byte) {
        sink.push("a");
    }
    sink.push(out);
    1
}

/// Indic scripts laid out as ISCII (Devanagari to Malayalam share offsets within their
/// blocks): a consonant carries an inherent `a` unless a vowel sign or virama follows; in
/// Hindi, Bengali, Punjabi and Gujarati a word-final single consonant loses it (राम ram).
fn indic(chars: &[char], i: usize, sink: &mut Sink) -> usize {
    let c = chars[i];
    let cp = u32::from(c);
    let block = cp & !0x7F;
    let offset = cp & 0x7F;
    let at = |j: usize| chars.get(j).map(|&n| u32::from(n)).filter(|n| n & !0x7F == block).map(|n| n & 0x7F);
    let is_consonant = |o: u32| matches!(o, 0x15..=0x39 | 0x58..=0x5F);
    if is_consonant(offset) {
        let mut j = i + 1;
        let nukta = at(j) == Some(0x3C);
        if nukta {
            j += 1;
        }
        let out = match (offset, nukta) {
            (0x15, true) | (0x58, _) => "q",
            (0x16, true) | (0x59, _) => "kh",
            (0x17, true) | (0x5A, _) => "gh",
            (0x1C, true) | (0x5B, _) => "z",
            (0x21, true) | (0x5C, _) => "r",
            (0x22, true) | (0x5D, _) => "rh",
            (0x2B, true) | (0x5E, _) => "f",
            (0x2F, true) | (0x5F, _) => "y",
            (0x34, _) if block == 0xB80 => "zh",
            // Tamil ச is s in most names (Saroj, Sundaram).
            (0x1A, _) if block == 0xB80 => "s",
            _ => indic_consonant(offset),
        };
        if out.is_empty() {
            sink.push(any_ascii::any_ascii_char(c));
        } else {
            sink.push(out);
        }
        let following = at(j);
        let explicit = following.is_some_and(|o| matches!(o, 0x3E..=0x4D | 0x55..=0x57 | 0x62 | 0x63));
        if !explicit {
            let word_end = following.is_none_or(|o| !matches!(o, 0x01..=0x39 | 0x58..=0x61));
            let conjunct = i > 0 && at(i - 1) == Some(0x4D);
            let drops_final = matches!(block, 0x900 | 0x980 | 0xA00 | 0xA80);
            if !drops_final || !word_end || conjunct || word_initial(chars, i) {
                sink.push("a");
            }
        }
        return j - i;
    }
    let out = match offset {
        0x01 | 0x02 => {
            // Anusvara and candrabindu: m before a labial, n elsewhere.
            if at(i + 1).is_some_and(|o| matches!(o, 0x2A..=0x2E)) { "m" } else { "n" }
        }
        0x03 => "h",
        0x05 | 0x06 | 0x3E => "a",
        0x07 | 0x08 | 0x3F | 0x40 => "i",
        0x09 | 0x0A | 0x41 | 0x42 => "u",
        0x0B | 0x43 | 0x44 => "ri",
        0x0C | 0x62 | 0x63 => "li",
        0x0D..=0x0F | 0x45..=0x47 => "e",
        0x10 | 0x48 => "ai",
        0x11..=0x13 | 0x49..=0x4B => "o",
        0x14 | 0x4C => "au",
        0x3C | 0x3D | 0x4D | 0x55..=0x57 => "",
        0x4E if block == 0x980 => "t",
        0x64 | 0x65 => " ",
        0x70 if block == 0xA00 => "n",
        0x71 if block == 0xA00 => {
            // Addak doubles the consonant after it.
            if let Some(&b) = at(i + 1).and_then(|o| indic_consonant(o).as_bytes().first()) {
                sink.byte(b);
            }
            ""
        }
        0x7A | 0x7B if block == 0xD00 => "n",
        0x7C if block == 0xD00 => "r",
        0x7D | 0x7E if block == 0xD00 => "l",
        0x7F if block == 0xD00 => "k",
        _ => any_ascii::any_ascii_char(c),
    };
    sink.push(out);
    1
}

/// The consonants at ISCII offsets 0x15–0x39, as names are usually spelt.
fn indic_consonant(offset: u32) -> &'static str {
    const TABLE: [&str; 0x25] = [
        "k", "kh", "g", "gh", "n", "ch", "chh", "j", "jh", "n", // 15–1E
        "t", "th", "d", "dh", "n", "t", "th", "d", "dh", "n", "n", // 1F–29
        "p", "ph", "b", "bh", "m", "y", "r", "r", "l", "l", "l", "v", // 2A–35
        "sh", "sh", "s", "h", // 36–39
    ];
    offset.checked_sub(0x15).and_then(|k| TABLE.get(k as usize)).copied().unwrap_or("")
}

/// Kana by modified Hepburn: a small ya yu yo or small vowel joins the kana before it (キャ
/// kya, シャ sha, ティ ti, ファ fa), a small tsu doubles the next consonant (がっこう
/// gakkou), the long-vowel mark is dropped and the middle dot separates words.
fn kana(chars: &[char], i: usize, sink: &mut Sink) -> usize {
    let is_small_tsu = |c: char| matches!(c, 'っ' | 'ッ');
    let small_y = |c: char| match c {
        'ゃ' | 'ャ' => Some("a"),
        'ゅ' | 'ュ' => Some("u"),
        'ょ' | 'ョ' => Some("o"),
        _ => None,
    };
    let small_vowel = |c: char| match c {
        'ぁ' | 'ァ' => Some("a"),
        'ぃ' | 'ィ' => Some("i"),
        'ぅ' | 'ゥ' => Some("u"),
        'ぇ' | 'ェ' => Some("e"),
        'ぉ' | 'ォ' => Some("o"),
        _ => None,
    };
    match chars[i] {
        'ー' | 'ゝ' | 'ゞ' | 'ヽ' | 'ヾ' => return 1,
        '・' | '゠' | '゛' | '゜' => {
            sink.gap();
            return 1;
        }
        _ => {}
    }
    let mut j = i;
    let mut geminate = false;
    while j < chars.len() && is_small_tsu(chars[j]) {
        geminate = true;
        j += 1;
    }
    let Some(&c) = chars.get(j).filter(|&&c| matches!(u32::from(c), 0x3041..=0x3096 | 0x30A1..=0x30FA)) else {
        if j == i {
            // A kana sign this reading does not know (ゟ, ヿ, a lone voicing mark).
            sink.push(any_ascii::any_ascii_char(chars[i]));
            return 1;
        }
        return j - i;
    };
    j += 1;
    let base = any_ascii::any_ascii_char(c);
    let (mut stem, mut glide, mut vowel) = (base, "", "");
    if let Some(v) = chars.get(j).copied().and_then(small_y) {
        j += 1;
        if base.len() > 1 {
            stem = &base[..base.len() - 1];
        }
        if !(stem.ends_with("sh") || stem.ends_with("ch") || stem.ends_with('j')) {
            glide = "y";
        }
        vowel = v;
    } else if let Some(v) = chars.get(j).copied().and_then(small_vowel) {
        j += 1;
        stem = match base {
            "u" => "w",
            "i" => "y",
            "shi" | "chi" | "ji" => &base[..base.len() - 1],
            _ if base.len() > 1 => &base[..base.len() - 1],
            _ => base,
        };
        vowel = v;
    }
    if geminate {
        match stem.as_bytes().first() {
            Some(b'c') if stem.starts_with("ch") => sink.push("t"),
            Some(&b) if is_consonant_byte(b) && b != b'n' => sink.byte(b),
            _ => {}
        }
    }
    sink.push(stem);
    sink.push(glide);
    sink.push(vowel);
    j - i
}

/// A Hangul syllable by the Revised Romanization (2000), syllable by syllable as names are
/// written: initial, vowel, and the final as it sounds at the end of a syllable.
fn hangul_syllable(c: char, sink: &mut Sink) {
    const INITIAL: [&str; 19] =
        ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"];
    const VOWEL: [&str; 21] = [
        "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi", "yu",
        "eu", "ui", "i",
    ];
    const FINAL: [&str; 28] = [
        "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t", "ng",
        "t", "t", "k", "t", "p", "t",
    ];
    let s = (u32::from(c) - 0xAC00) as usize;
    sink.push(INITIAL[s / 588]);
    sink.push(VOWEL[s % 588 / 28]);
    sink.push(FINAL[s % 28]);
}

/// Thai and Lao through `any_ascii`, with the vowels written before their consonant
/// (เ แ โ ใ ไ) read after it, and the silent consonant อ (ອ) that only carries a vowel sign
/// dropped.
fn thai_lao(chars: &[char], i: usize, sink: &mut Sink) -> usize {
    let c = chars[i];
    let offset = u32::from(c) & 0x7F;
    let next = chars.get(i + 1).copied().filter(|&n| u32::from(n) & !0x7F == u32::from(c) & !0x7F);
    let consonant = |n: char| matches!(u32::from(n) & 0x7F, 0x01..=0x2E);
    match (offset, next) {
        (0x40..=0x44, Some(n)) if consonant(n) => {
            if u32::from(n) & 0x7F != 0x2D {
                sink.push(any_ascii::any_ascii_char(n));
            }
            sink.push(any_ascii::any_ascii_char(c));
            2
        }
        (0x2D, Some(n)) if matches!(u32::from(n) & 0x7F, 0x31 | 0x34..=0x3A | 0x47..=0x4E) => 1,
        _ => {
            if is_spelt_letter(c) {
                sink.push(any_ascii::any_ascii_char(c));
            } else {
                sink.gap();
            }
            1
        }
    }
}

/// Family names as Koreans spell them in passports, for the commonest ones, where the
/// Revised Romanization would write Gim, I, Bak.
fn korean_family_name(c: char) -> Option<&'static str> {
    Some(match c {
        '김' => "kim",
        '이' => "lee",
        '박' => "park",
        '최' => "choi",
        '정' => "jung",
        '강' => "kang",
        '조' => "cho",
        '윤' => "yoon",
        '임' => "lim",
        '오' => "oh",
        '신' => "shin",
        '권' => "kwon",
        '안' => "ahn",
        '유' | '류' => "yoo",
        '고' => "ko",
        '문' => "moon",
        '노' => "roh",
        '우' => "woo",
        '구' => "koo",
        '주' => "joo",
        _ => return None,
    })
}

/// A run of Han characters (pinyin) or Hangul syllables (Revised Romanization). When the
/// whole name is one run of two to four syllables it is a full name written the East Asian
/// way, and the first pass separates the family name (one syllable, two of four), using the
/// usual spelling of common Korean family names; the alternative pass keeps the run whole.
fn syllable_run(chars: &[char], i: usize, alternative: bool, sink: &mut Sink) -> usize {
    let hangul = is_hangul_syllable(chars[i]);
    let same = |c: char| if hangul { is_hangul_syllable(c) } else { is_han(c) };
    let end = chars[i..].iter().position(|&c| !same(c)).map_or(chars.len(), |k| i + k);
    let n = end - i;
    let whole = chars[..i].iter().all(|c| c.is_whitespace()) && chars[end..].iter().all(|c| c.is_whitespace());
    let split = if !alternative && whole && (2..=4).contains(&n) { if n == 4 { 2 } else { 1 } } else { 0 };
    for (k, &c) in chars[i..end].iter().enumerate() {
        if split > 0 && k == split {
            sink.gap();
        }
        match korean_family_name(c) {
            Some(family) if split == 1 && k == 0 => sink.push(family),
            _ if hangul => hangul_syllable(c, sink),
            _ => sink.push(any_ascii::any_ascii_char(c)),
        }
    }
    n
}
