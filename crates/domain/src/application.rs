//! The application form: parsing untrusted JSON into [`ApplicantDetails`], with one
//! message per offending field.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{CountryCode, PassportNumber};
use crate::validation::FieldErrors;

/// Everything an applicant tells us about themselves. Personal data: never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicantDetails {
    /// Given names as in the passport, any script.
    pub given_names: String,
    /// Family name as in the passport, any script.
    pub family_name: String,
    /// The name in its original script, when the passport form is a transliteration.
    pub native_name: Option<String>,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Citizenship.
    pub nationality: CountryCode,
    /// Where the applicant lives; decides the mission.
    pub country_of_residence: CountryCode,
    /// Passport number, normalised.
    pub passport_number: PassportNumber,
    /// Passport expiry date.
    pub passport_expiry: NaiveDate,
    /// Contact e-mail.
    pub email: String,
    /// Contact phone, as typed.
    pub phone: Option<String>,
    /// Prior military or law-enforcement service.
    pub military_experience: Vec<MilitaryService>,
    /// Languages spoken.
    pub languages: Vec<String>,
    /// Travel plans.
    pub travel: Travel,
    /// What the applicant declared.
    pub declarations: Declarations,
}

/// One period of prior service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilitaryService {
    /// Country served.
    pub country: CountryCode,
    /// Branch or service (army, police …).
    pub branch: String,
    /// First month or day of service.
    pub from: NaiveDate,
    /// Last month or day; `None` while still serving.
    pub to: Option<NaiveDate>,
    /// Rank, trade or role.
    pub role: String,
}

/// Travel plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Travel {
    /// Country the applicant leaves from.
    pub departure_country: CountryCode,
    /// City the applicant leaves from.
    pub departure_city: String,
    /// Earliest date the applicant can travel.
    pub earliest_date: NaiveDate,
    /// Whether the applicant wants to travel with a group.
    pub group_travel: bool,
}

/// Declarations made by the applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declarations {
    /// Declares having no criminal record.
    pub no_criminal_record: bool,
    /// Consents to a background check (required to proceed).
    pub consent_background_check: bool,
}

const TOP_FIELDS: &[&str] = &[
    "given_names",
    "family_name",
    "native_name",
    "date_of_birth",
    "nationality",
    "country_of_residence",
    "passport_number",
    "passport_expiry",
    "email",
    "phone",
    "military_experience",
    "languages",
    "travel",
    "declarations",
];
const SERVICE_FIELDS: &[&str] = &["country", "branch", "from", "to", "role"];
const TRAVEL_FIELDS: &[&str] = &["departure_country", "departure_city", "earliest_date", "group_travel"];
const DECLARATION_FIELDS: &[&str] = &["no_criminal_record", "consent_background_check"];

/// Most service periods one application may list.
pub const MAX_SERVICE_ENTRIES: usize = 20;
/// Most languages one application may list.
pub const MAX_LANGUAGES: usize = 20;

/// Reads fields out of one JSON object, recording an error per bad field.
struct Fields<'a, 'e> {
    obj: &'a Map<String, Value>,
    prefix: String,
    errors: &'e mut FieldErrors,
}

impl<'a, 'e> Fields<'a, 'e> {
    fn new(obj: &'a Map<String, Value>, prefix: &str, allowed: &[&str], errors: &'e mut FieldErrors) -> Self {
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}.") };
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                errors.add(format!("{prefix}{key}"), "is not a known field");
            }
        }
        Self { obj, prefix, errors }
    }

    fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn fail<T>(&mut self, name: &str, message: &str) -> Option<T> {
        let p = self.path(name);
        self.errors.add(p, message);
        None
    }

    /// A present, non-null value, or an error saying it is required.
    fn required(&mut self, name: &str) -> Option<&'a Value> {
        match self.obj.get(name) {
            None | Some(Value::Null) => self.fail(name, "is required"),
            Some(v) => Some(v),
        }
    }

    fn text(&mut self, name: &str, max: usize) -> Option<String> {
        let v = self.required(name)?;
        let Some(s) = v.as_str() else { return self.fail(name, "must be text") };
        self.check_text(name, s, max)
    }

    /// `Some(None)`: absent or blank (fine); `None`: present and invalid (error recorded).
    #[allow(clippy::option_option)]
    fn optional_text(&mut self, name: &str, max: usize) -> Option<Option<String>> {
        match self.obj.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) if s.trim().is_empty() => Some(None),
            Some(Value::String(s)) => self.check_text(name, s, max).map(Some),
            Some(_) => self.fail(name, "must be text"),
        }
    }

    fn check_text(&mut self, name: &str, s: &str, max: usize) -> Option<String> {
        let t = s.trim();
        if t.is_empty() {
            return self.fail(name, "is required");
        }
        if t.chars().count() > max {
            return self.fail(name, &format!("must be at most {max} characters"));
        }
        if t.chars().any(char::is_control) {
            return self.fail(name, "must not contain control characters");
        }
        Some(t.to_owned())
    }

    fn name(&mut self, name: &str) -> Option<String> {
        let s = self.text(name, 100)?;
        self.check_name(name, s)
    }

    fn check_name(&mut self, name: &str, s: String) -> Option<String> {
        if !s.chars().any(char::is_alphabetic) {
            return self.fail(name, "must contain letters");
        }
        if s.chars().any(|c| c.is_ascii_digit() || "@<>{}[]\\/|_=+#$%^&*~`\"".contains(c)) {
            return self.fail(name, "must contain only letters, spaces, hyphens, apostrophes and dots");
        }
        Some(s)
    }

    fn date(&mut self, name: &str, allow_month: bool) -> Option<NaiveDate> {
        let v = self.required(name)?;
        self.date_value(name, v, allow_month)
    }

    fn date_value(&mut self, name: &str, v: &Value, allow_month: bool) -> Option<NaiveDate> {
        let Some(s) = v.as_str() else { return self.fail(name, "must be a date (YYYY-MM-DD)") };
        parse_date(s.trim(), allow_month).or_else(|| {
            self.fail(
                name,
                if allow_month { "must be a date (YYYY-MM-DD or YYYY-MM)" } else { "must be a date (YYYY-MM-DD)" },
            )
        })
    }

    fn country(&mut self, name: &str) -> Option<CountryCode> {
        let v = self.required(name)?;
        let Some(s) = v.as_str() else { return self.fail(name, "must be a two-letter country code") };
        CountryCode::parse(s).or_else(|| self.fail(name, "must be an ISO 3166-1 alpha-2 country code, such as PL"))
    }

    fn boolean(&mut self, name: &str) -> Option<bool> {
        let v = self.required(name)?;
        v.as_bool().or_else(|| self.fail(name, "must be true or false"))
    }

    fn object(&mut self, name: &str) -> Option<&'a Map<String, Value>> {
        let v = self.required(name)?;
        v.as_object().or_else(|| self.fail(name, "must be an object"))
    }
}

/// Parses `YYYY-MM-DD`, or `YYYY-MM` (read as the first of the month) when `allow_month`.
pub fn parse_date(s: &str, allow_month: bool) -> Option<NaiveDate> {
    if s.len() == 10 {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    }
    if allow_month && s.len() == 7 {
        return NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok();
    }
    None
}

/// Whole years between `born` and `on`.
pub fn age_on(born: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    age
}

impl ApplicantDetails {
    /// Parses and validates a submitted form. `today` is the submission date (for expiry
    /// and plausibility checks). Unknown fields are errors, so typos are not silently dropped.
    pub fn parse(body: &Value, today: NaiveDate) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Some(obj) = body.as_object() else {
            errors.add("body", "must be a JSON object");
            return Err(errors);
        };
        let mut f = Fields::new(obj, "", TOP_FIELDS, &mut errors);

        let given_names = f.name("given_names");
        let family_name = f.name("family_name");
        let native_name = f.optional_text("native_name", 200).and_then(|n| match n {
            Some(n) => f.check_name("native_name", n).map(Some),
            None => Some(None),
        });
        let date_of_birth = f.date("date_of_birth", false).and_then(|d| {
            if d >= today {
                f.fail("date_of_birth", "must be in the past")
            } else if age_on(d, today) > 120 {
                f.fail("date_of_birth", "is not plausible")
            } else {
                Some(d)
            }
        });
        let nationality = f.country("nationality");
        let country_of_residence = f.country("country_of_residence");
        let passport_number = f.required("passport_number").and_then(|v| match v.as_str() {
            None => f.fail("passport_number", "must be text"),
            Some(s) => PassportNumber::parse(s).map_err(|m| f.fail::<()>("passport_number", m)).ok(),
        });
        let passport_expiry = f
            .date("passport_expiry", false)
            .and_then(|d| if d <= today { f.fail("passport_expiry", "the passport has expired") } else { Some(d) });
        let email = f.text("email", 254).and_then(|e| {
            if email_address::EmailAddress::is_valid(&e) && e.contains('.') {
                Some(e)
            } else {
                f.fail("email", "must be an e-mail address, such as name@example.org")
            }
        });
        let phone = f.optional_text("phone", 30).and_then(|p| match p {
            None => Some(None),
            Some(p) => {
                let digits = p.chars().filter(char::is_ascii_digit).count();
                let shape_ok = p.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c))
                    && p.chars().skip(1).all(|c| c != '+');
                if shape_ok && (7..=15).contains(&digits) {
                    Some(Some(p))
                } else {
                    f.fail("phone", "must be a phone number with 7–15 digits, such as +48 22 123 4567")
                }
            }
        });
        let languages = f.required("languages").and_then(|v| {
            let Some(arr) = v.as_array() else { return f.fail("languages", "must be a list") };
            if arr.is_empty() {
                return f.fail("languages", "name at least one language");
            }
            if arr.len() > MAX_LANGUAGES {
                return f.fail("languages", &format!("at most {MAX_LANGUAGES} languages"));
            }
            let mut out = Vec::with_capacity(arr.len());
            for item in arr {
                let Some(s) = item.as_str().map(str::trim) else {
                    return f.fail("languages", "each language must be text");
                };
                if !(2..=50).contains(&s.chars().count()) || !s.chars().all(|c| c.is_alphabetic() || " -".contains(c)) {
                    return f.fail("languages", "each language must be 2–50 letters");
                }
                out.push(s.to_owned());
            }
            Some(out)
        });
        let service_list = match obj.get("military_experience") {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(Value::Array(a)) if a.len() > MAX_SERVICE_ENTRIES => {
                f.fail("military_experience", &format!("at most {MAX_SERVICE_ENTRIES} entries"))
            }
            Some(Value::Array(a)) => Some(a.iter().collect::<Vec<_>>()),
            Some(_) => f.fail("military_experience", "must be a list"),
        };
        let travel_obj = f.object("travel");
        let decl_obj = f.object("declarations");
        drop(f);

        let military_experience = service_list.and_then(|items| {
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for (i, item) in items.into_iter().enumerate() {
                let prefix = format!("military_experience[{i}]");
                match parse_service(item, &prefix, today, date_of_birth, &mut errors) {
                    Some(s) => out.push(s),
                    None => ok = false,
                }
            }
            ok.then_some(out)
        });
        let travel = travel_obj.and_then(|t| {
            let mut f = Fields::new(t, "travel", TRAVEL_FIELDS, &mut errors);
            let departure_country = f.country("departure_country");
            let departure_city = f.text("departure_city", 100);
            let earliest_date = f
                .date("earliest_date", false)
                .and_then(|d| if d < today { f.fail("earliest_date", "must not be in the past") } else { Some(d) });
            let group_travel = f.boolean("group_travel");
            Some(Travel {
                departure_country: departure_country?,
                departure_city: departure_city?,
                earliest_date: earliest_date?,
                group_travel: group_travel?,
            })
        });
        let declarations = decl_obj.and_then(|d| {
            let mut f = Fields::new(d, "declarations", DECLARATION_FIELDS, &mut errors);
            let no_criminal_record = f.boolean("no_criminal_record");
            let consent = f.boolean("consent_background_check").and_then(|c| {
                if c {
                    Some(c)
                } else {
                    f.fail("consent_background_check", "consent is needed to process the application")
                }
            });
            Some(Declarations { no_criminal_record: no_criminal_record?, consent_background_check: consent? })
        });

        let built = (|| {
            Some(ApplicantDetails {
                given_names: given_names?,
                family_name: family_name?,
                native_name: native_name?,
                date_of_birth: date_of_birth?,
                nationality: nationality?,
                country_of_residence: country_of_residence?,
                passport_number: passport_number?,
                passport_expiry: passport_expiry?,
                email: email?,
                phone: phone?,
                military_experience: military_experience?,
                languages: languages?,
                travel: travel?,
                declarations: declarations?,
            })
        })();
        match built {
            Some(details) if errors.is_empty() => Ok(details),
            _ => {
                if errors.is_empty() {
                    errors.add("body", "is not a valid application");
                }
                Err(errors)
            }
        }
    }

    /// The full name as printed, given names first.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_names, self.family_name)
    }

    /// Total months of prior service (overlaps counted once per entry; a rough seriousness signal).
    pub fn service_months(&self, today: NaiveDate) -> i64 {
        self.military_experience
            .iter()
            .map(|s| {
                let to = s.to.unwrap_or(today);
                ((to - s.from).num_days() / 30).max(0)
            })
            .sum()
    }
}

fn parse_service(
    item: &Value,
    prefix: &str,
    today: NaiveDate,
    born: Option<NaiveDate>,
    errors: &mut FieldErrors,
) -> Option<MilitaryService> {
    let Some(obj) = item.as_object() else {
        errors.add(prefix, "must be an object with country, branch, from, to, role");
        return None;
    };
    let mut f = Fields::new(obj, prefix, SERVICE_FIELDS, errors);
    let country = f.country("country");
    let branch = f.text("branch", 100);
    let role = f.text("role", 100);
    let from = f.date("from", true).and_then(|d| {
        if d > today {
            f.fail("from", "must not be in the future")
        } else if born.is_some_and(|b| d < b) {
            f.fail("from", "must be after the date of birth")
        } else {
            Some(d)
        }
    });
    let to = match obj.get("to") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.trim().is_empty() => Some(None),
        Some(v) => f.date_value("to", v, true).and_then(|d| match from {
            Some(fr) if d < fr => f.fail("to", "must not be before 'from'"),
            _ => Some(Some(d)),
        }),
    };
    Some(MilitaryService { country: country?, branch: branch?, from: from?, to: to?, role: role? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2022, 3, 5).unwrap()
    }

    fn valid() -> Value {
        json!({
            "given_names": "Олександр",
            "family_name": "Smith-O'Neil",
            "date_of_birth": "1990-04-01",
            "nationality": "GB",
            "country_of_residence": "gb",
            "passport_number": "123 456 789",
            "passport_expiry": "2027-01-01",
            "email": "a.smith@example.org",
            "military_experience": [{"country": "GB", "branch": "Army", "from": "2010-01", "to": "2016-06-30", "role": "Infantry"}],
            "languages": ["English", "Ukrainian"],
            "travel": {"departure_country": "PL", "departure_city": "Rzeszów", "earliest_date": "2022-03-10", "group_travel": true},
            "declarations": {"no_criminal_record": true, "consent_background_check": true}
        })
    }

    #[test]
    fn accepts_a_valid_application() {
        let d = ApplicantDetails::parse(&valid(), today()).unwrap();
        assert_eq!(d.country_of_residence.as_str(), "GB");
        assert_eq!(d.passport_number.as_str(), "123456789");
        assert_eq!(d.military_experience[0].from, NaiveDate::from_ymd_opt(2010, 1, 1).unwrap());
        assert_eq!(d.native_name, None);
    }

    #[test]
    fn reports_one_message_per_bad_field() {
        let mut v = valid();
        v["date_of_birth"] = json!("1990-13-01");
        v["nationality"] = json!("XX");
        v["email"] = json!("not-an-email");
        v["travel"]["departure_city"] = json!("");
        v["military_experience"][0]["to"] = json!("2009-01");
        v["declarations"]["consent_background_check"] = json!(false);
        v["extra"] = json!(1);
        let e = ApplicantDetails::parse(&v, today()).unwrap_err();
        let fields: Vec<_> = e.iter().map(|(k, _)| k).collect();
        assert_eq!(
            fields,
            vec![
                "date_of_birth",
                "declarations.consent_background_check",
                "email",
                "extra",
                "military_experience[0].to",
                "nationality",
                "travel.departure_city"
            ]
        );
    }

    #[test]
    fn missing_fields_are_each_reported() {
        let e = ApplicantDetails::parse(&json!({}), today()).unwrap_err();
        for f in [
            "given_names",
            "family_name",
            "date_of_birth",
            "passport_number",
            "email",
            "travel",
            "declarations",
            "languages",
        ] {
            assert_eq!(e.get(f), Some("is required"), "{f}");
        }
        assert!(e.get("native_name").is_none());
        assert!(e.get("phone").is_none());
    }

    #[test]
    fn expired_passport_and_future_birth_are_refused() {
        let mut v = valid();
        v["passport_expiry"] = json!("2022-03-05");
        v["date_of_birth"] = json!("2030-01-01");
        let e = ApplicantDetails::parse(&v, today()).unwrap_err();
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn ages() {
        let b = NaiveDate::from_ymd_opt(2004, 3, 6).unwrap();
        assert_eq!(age_on(b, today()), 17);
        assert_eq!(age_on(b, NaiveDate::from_ymd_opt(2022, 3, 6).unwrap()), 18);
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_json(s in "\\PC{0,200}") {
            if let Ok(v) = serde_json::from_str::<Value>(&s) {
                let _ = ApplicantDetails::parse(&v, today());
            }
        }

        #[test]
        fn mutating_one_field_to_garbage_reports_that_field(idx in 0usize..TOP_FIELDS.len(), garbage in prop_oneof![Just(json!(42)), Just(json!([])), Just(json!({"x": 1})), Just(json!("\u{0}"))]) {
            let field = TOP_FIELDS[idx];
            prop_assume!(!(field == "military_experience" && garbage == json!([])));
            let mut v = valid();
            v[field] = garbage;
            let e = ApplicantDetails::parse(&v, today()).unwrap_err();
            prop_assert!(e.iter().all(|(k, _)| k.starts_with(field)), "{e}");
        }

        #[test]
        fn parsed_details_round_trip_through_serde(year in 1962i32..2003, month in 1u32..=12, day in 1u32..=28) {
            let mut v = valid();
            v["date_of_birth"] = json!(format!("{year:04}-{month:02}-{day:02}"));
            let d = ApplicantDetails::parse(&v, today()).unwrap();
            let back: ApplicantDetails = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
            prop_assert_eq!(back, d);
        }
    }
}
