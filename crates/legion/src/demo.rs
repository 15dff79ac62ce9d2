//! `legion serve --demo`: missions across countries, staff of every role, and a few
//! hundred applications spread over the lifecycle, with names in several scripts.
//! Everything goes through the same use cases as real traffic, so history and audit
//! trail are real too. Seeds only into an empty database.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Result, anyhow};
use chrono::Duration;
use legion_domain::{ApplicationId, Command, CountryCode, Mission, MissionId, Recommendation, Role, StaffActor};
use legion_store::NewStaff;
use legion_web::auth::CurrentStaff;
use legion_web::{AppState, service};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const MISSIONS: &[(&str, &str, &[&str], bool)] = &[
    ("us-washington", "Embassy of Ukraine in the United States", &["US"], false),
    ("gb-london", "Embassy of Ukraine in the United Kingdom", &["GB", "IE"], false),
    ("de-berlin", "Embassy of Ukraine in Germany", &["DE", "AT", "CH"], false),
    ("ca-ottawa", "Embassy of Ukraine in Canada", &["CA"], false),
    ("pl-warsaw", "Embassy of Ukraine in Poland", &["PL", "LT", "LV", "EE"], true),
    ("ge-tbilisi", "Embassy of Ukraine in Georgia", &["GE", "AM", "AZ"], false),
    ("jp-tokyo", "Embassy of Ukraine in Japan", &["JP", "KR"], false),
];

/// (given, family, native name, nationality) — passport (Latin) form and original script.
pub(crate) const PEOPLE: &[(&str, &str, Option<&str>, &str)] = &[
    ("John", "Miller", None, "US"),
    ("Michael", "Johnson", None, "US"),
    ("Emily", "Davis", None, "US"),
    ("Robert", "Garcia", None, "US"),
    ("Daniel", "Thompson", None, "US"),
    ("James", "Wilson", None, "GB"),
    ("Oliver", "Hughes", None, "GB"),
    ("Siobhan", "O'Connor", None, "IE"),
    ("Thomas", "Evans", None, "GB"),
    ("Lukas", "Müller", None, "DE"),
    ("Jonas", "Schröder", None, "DE"),
    ("Felix", "Huber", None, "AT"),
    ("Liam", "Tremblay", None, "CA"),
    ("Noah", "Gagnon", None, "CA"),
    ("Jan", "Kowalski", Some("Jan Kowalski"), "PL"),
    ("Tomas", "Kazlauskas", Some("Tomas Kazlauskas"), "LT"),
    ("Giorgi", "Beridze", Some("გიორგი ბერიძე"), "GE"),
    ("Levan", "Kapanadze", Some("ლევან კაპანაძე"), "GE"),
    ("Aram", "Petrosyan", Some("Արամ Պետրոսյան"), "AM"),
    ("Takeshi", "Yamamoto", Some("山本 武"), "JP"),
    ("Minjun", "Kim", Some("김민준"), "KR"),
    ("Nikolaos", "Papadopoulos", Some("Νικόλαος Παπαδόπουλος"), "GR"),
    ("David", "Levi", Some("דוד לוי"), "IL"),
    ("Omar", "Haddad", Some("عمر حداد"), "JO"),
    ("Aliaksandr", "Kavaliou", Some("Аляксандр Кавалёў"), "BY"),
    ("Dmitrijs", "Ivanovs", Some("Дмитрий Иванов"), "LV"),
    ("Rajesh", "Sharma", Some("राजेश शर्मा"), "IN"),
    ("Mateo", "Fernández", None, "ES"),
    ("Pierre", "Dubois", None, "FR"),
    ("Lars", "Andersen", None, "DK"),
];

/// Residence shares of the March 2022 surge: US 31 %, UK 18 %, DE 6.8 %, CA 4.7 %, long tail.
fn residence(rng: &mut StdRng, nationality: &str) -> &'static str {
    let x: f64 = rng.r#gen();
    match x {
        x if x < 0.31 => "US",
        x if x < 0.49 => "GB",
        x if x < 0.558 => "DE",
        x if x < 0.605 => "CA",
        _ => match nationality {
            "GE" => "GE",
            "AM" => "AM",
            "JP" => "JP",
            "KR" => "KR",
            "LT" => "LT",
            "LV" => "LV",
            "PL" => "PL",
            "IE" => "IE",
            "AT" => "AT",
            // Everyone else applies where no mission covers them: the regional mission.
            _ => ["PL", "FR", "ES", "BR", "AU", "NL"][rng.gen_range(0..6)],
        },
    }
}

struct Staff {
    officer: CurrentStaff,
    heads: [CurrentStaff; 2],
}

fn current(n: &NewStaff) -> CurrentStaff {
    CurrentStaff {
        actor: StaffActor { id: n.id, role: n.role, mission: n.mission.clone() },
        username: n.username.clone(),
        display_name: n.display_name.clone(),
        session_hash: String::new(),
    }
}

/// Creates the demo missions.
pub(crate) async fn put_missions(store: &dyn legion_store::Store, clock: &dyn legion_domain::Clock) -> Result<()> {
    for (id, name, covers, regional) in MISSIONS {
        let m = Mission {
            id: MissionId::parse(id).map_err(|e| anyhow!(e))?,
            name: (*name).into(),
            country: CountryCode::parse(&id[..2]).ok_or_else(|| anyhow!("bad country"))?,
            covers: covers.iter().filter_map(|c| CountryCode::parse(c)).collect(),
            regional: *regional,
        };
        store
            .put_mission(&m, &crate::cli_audit(clock, "mission.put", format!("mission:{id}")))
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    Ok(())
}

/// Seeds the demo unless the database already has missions; prints how to sign in.
pub async fn seed(state: &AppState, data_dir: &Path) -> Result<()> {
    let err = |e: legion_web::AppError| anyhow!("{e}");
    if !state.store.missions().await.map_err(|e| anyhow!("{e}"))?.is_empty() {
        println!("Demo data already present; accounts are listed in {}", data_dir.join("demo-accounts.txt").display());
        return Ok(());
    }
    let password = crate::keys::random_password();
    let audit = |action: &str, object: String| crate::cli_audit(state.clock.as_ref(), action, object);
    put_missions(state.store.as_ref(), state.clock.as_ref()).await?;

    let mut accounts: Vec<(String, Role, Option<String>)> = Vec::new();
    for (id, ..) in MISSIONS {
        let short = &id[..2];
        accounts.push((format!("officer.{short}"), Role::MissionOfficer, Some((*id).into())));
        accounts.push((format!("head.{short}"), Role::MissionHead, Some((*id).into())));
        accounts.push((format!("head2.{short}"), Role::MissionHead, Some((*id).into())));
    }
    for (u, r) in [
        ("vetting", Role::VettingOfficer),
        ("border", Role::BorderOfficer),
        ("reception", Role::ReceptionOfficer),
        ("records", Role::RecordsOfficer),
        ("auditor", Role::Auditor),
        ("admin", Role::Admin),
    ] {
        accounts.push((u.into(), r, None));
    }
    let mut staff_by_mission: Vec<(MissionId, Staff)> = Vec::new();
    let mut created: Vec<NewStaff> = Vec::new();
    for (username, role, mission) in &accounts {
        let body = legion_web::admin_api::NewStaffBody {
            username: username.clone(),
            display_name: display_name(username),
            password: password.clone(),
            role: role.as_str().into(),
            mission: mission.clone(),
        };
        let n = legion_web::admin_api::new_staff(state, body).await.map_err(err)?;
        state
            .store
            .create_staff(&n, &audit("staff.create", format!("staff:{}", n.id)))
            .await
            .map_err(|e| anyhow!("{e}"))?;
        created.push(n);
    }
    for (id, ..) in MISSIONS {
        let of = |prefix: &str| {
            created
                .iter()
                .find(|n| n.username.as_str() == format!("{prefix}.{}", &id[..2]))
                .map(current)
                .ok_or_else(|| anyhow!("missing demo account"))
        };
        staff_by_mission.push((
            MissionId::parse(id).map_err(|e| anyhow!(e))?,
            Staff { officer: of("officer")?, heads: [of("head")?, of("head2")?] },
        ));
    }
    let vetting =
        created.iter().find(|n| n.role == Role::VettingOfficer).map(current).ok_or_else(|| anyhow!("no vetting"))?;

    let mut rng = StdRng::seed_from_u64(20_220_301);
    let today = state.clock.now().date_naive();
    let mut submitted = Vec::new();
    for i in 0..240u32 {
        let (given, family, native, nationality) = PEOPLE[rng.gen_range(0..PEOPLE.len())];
        let residence = residence(&mut rng, nationality);
        // A few applicants trip the policy gates, so the vetting queue has work.
        let (age, nationality, clean) = match i % 40 {
            7 => (17, nationality, true),
            19 => (63, nationality, true),
            23 => (30, "RU", true),
            31 => (35, nationality, false),
            37 => (30, "GB", true),
            _ => (rng.gen_range(19..58), nationality, true),
        };
        let born = today - Duration::days(i64::from(age) * 365 + rng.gen_range(30..330));
        let passport = if i % 40 == 37 {
            "X1234567".to_owned()
        } else {
            format!("{}{:07}", &nationality[..1], 1_000_000 + i * 7919 % 8_999_999)
        };
        let service_years: i64 = rng.gen_range(0..9);
        let from = born + Duration::days(365 * 18 + 30);
        let experience = if service_years == 0 || from >= today {
            json!([])
        } else {
            let to = from + Duration::days(365 * service_years);
            let branch = ["Army", "Marines", "National Guard", "Police"][rng.gen_range(0..4)];
            let role = ["Rifleman", "Combat medic", "Engineer", "Signals", "Driver"][rng.gen_range(0..5)];
            json!([{"country": nationality, "branch": branch,
                    "from": from.format("%Y-%m").to_string(), "to": to.min(today).format("%Y-%m").to_string(),
                    "role": role}])
        };
        let city = ["Rzeszów", "Kraków", "Warsaw", "Przemyśl"][rng.gen_range(0..4)];
        let body = json!({
            "given_names": given,
            "family_name": family,
            "native_name": native,
            "date_of_birth": born.to_string(),
            "nationality": nationality,
            "country_of_residence": residence,
            "passport_number": passport,
            "passport_expiry": (today + Duration::days(rng.gen_range(200..3000))).to_string(),
            "email": format!("{}.{}{}@example.org", ascii(given), ascii(family), i),
            "military_experience": experience,
            "languages": ["English"],
            "travel": {"departure_country": if residence == "US" || residence == "CA" { "PL" } else { residence },
                       "departure_city": city,
                       "earliest_date": (today + Duration::days(rng.gen_range(3..40))).to_string(),
                       "group_travel": rng.gen_bool(0.4)},
            "declarations": {"no_criminal_record": clean, "consent_background_check": true}
        });
        let s = service::submit(state, &body, None).await.map_err(err)?;
        submitted.push((s.id, s.mission, s.access_code));
    }
    service::screen_pending(state).await.map_err(err)?;

    for (n, (id, mission, code)) in submitted.iter().enumerate() {
        let staff = &staff_by_mission.iter().find(|(m, _)| m == mission).ok_or_else(|| anyhow!("no staff"))?.1;
        let held =
            state.store.case(*id, &legion_store::Scope::VettingHold).await.map_err(|e| anyhow!("{e}"))?.is_some();
        if held {
            if n % 2 == 0 {
                service::staff_command(
                    state,
                    &vetting,
                    *id,
                    Command::ClearVetting { reason: "Documents checked; the flag does not apply.".into() },
                )
                .await
                .map_err(err)?;
            } else {
                continue;
            }
        }
        let target: u32 = rng.gen_range(0..100);
        advance(state, staff, *id, code, target).await.map_err(err)?;
    }

    let file = data_dir.join("demo-accounts.txt");
    let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&file)?;
    writeln!(f, "Demo accounts (password for all: {password})")?;
    for (u, r, m) in &accounts {
        writeln!(f, "  {u:<14} {r:<18} {}", m.as_deref().unwrap_or(""))?;
    }
    println!(
        "Demo seeded: {} missions, {} staff accounts, {} applications.",
        MISSIONS.len(),
        accounts.len(),
        submitted.len()
    );
    println!("Sign in at /staff/sign-in, e.g. as officer.gb, head.gb (or head2.gb), vetting, auditor or admin.");
    println!("Password for every demo account: {password}");
    println!("(The list is also in {}.)", file.display());
    Ok(())
}

fn display_name(username: &str) -> String {
    let (role, mission) = username.split_once('.').unwrap_or((username, ""));
    let role = match role {
        "officer" => "Mission officer",
        "head" => "Mission head",
        "head2" => "Deputy head",
        "vetting" => "Vetting officer",
        "border" => "Border officer",
        "reception" => "Reception officer",
        "records" => "Records officer",
        "auditor" => "Auditor",
        _ => "Administrator",
    };
    if mission.is_empty() { role.to_owned() } else { format!("{role} ({})", mission.to_uppercase()) }
}

fn ascii(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphabetic).collect::<String>().to_lowercase()
}

/// Moves a screened case part of the way along the lifecycle, by `target` percentile.
async fn advance(
    state: &AppState,
    staff: &Staff,
    id: ApplicationId,
    code: &str,
    target: u32,
) -> Result<(), legion_web::AppError> {
    let now = state.clock.now();
    let o = &staff.officer;
    let [h1, h2] = &staff.heads;
    let steps: Vec<(&CurrentStaff, Command)> = vec![
        (o, Command::ScheduleInterview { at: now + Duration::days(3), place: "Consular section, room 2".into() }),
        (
            o,
            Command::RecordInterview { attended: true, notes: "Motivated; service record consistent with age.".into() },
        ),
        (
            o,
            Command::Recommend {
                recommendation: Recommendation::Approve,
                reason: "Experienced; documents in order.".into(),
            },
        ),
        (h1, Command::Approve { note: "Agreed.".into() }),
        (
            o,
            Command::Authorise {
                valid_from: now.date_naive() + Duration::days(5),
                valid_until: now.date_naive() + Duration::days(35),
            },
        ),
        (h2, Command::Revoke { reason: "Travel plans cancelled by the mission.".into() }),
    ];
    // Percentile bands: how far along each case gets.
    let (n_steps, side) = match target {
        0..=29 => (0, None),
        30..=37 => (0, Some("info")),
        38..=45 => (0, Some("reject")),
        46..=50 => (0, Some("withdraw")),
        51..=60 => (1, None),
        61..=67 => (2, None),
        68..=77 => (3, None),
        78..=83 => (4, None),
        84..=96 => (5, None),
        _ => (6, None),
    };
    for (who, cmd) in steps.into_iter().take(n_steps) {
        service::staff_command(state, who, id, cmd).await?;
    }
    match side {
        Some("info") => {
            service::staff_command(
                state,
                o,
                id,
                Command::RequestInfo { message: "Please send a scan of your discharge papers.".into() },
            )
            .await?;
        }
        Some("reject") => {
            service::staff_command(
                state,
                o,
                id,
                Command::Recommend { recommendation: Recommendation::Reject, reason: "No relevant experience.".into() },
            )
            .await?;
            if target.is_multiple_of(2) {
                service::staff_command(
                    state,
                    h1,
                    id,
                    Command::Reject { reason: "Agree: no relevant experience.".into() },
                )
                .await?;
            }
        }
        Some(_) => {
            service::applicant_command(state, id, code, Command::Withdraw { reason: Some("Changed my plans.".into()) })
                .await?;
        }
        None => {}
    }
    Ok(())
}
