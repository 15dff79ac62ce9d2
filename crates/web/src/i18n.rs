//! Interface text in English and Ukrainian: one catalogue of keys, the translation of
//! the domain's validation messages, and Ukrainian country names.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;
use legion_domain::countries::COUNTRIES;

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Ukrainian.
    Uk,
}

impl Lang {
    /// The BCP 47 code, as used in `<html lang>` and the `lang` cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Uk => "uk",
        }
    }

    /// Parses `en` or `uk`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim() {
            "en" => Some(Lang::En),
            "uk" => Some(Lang::Uk),
            _ => None,
        }
    }

    /// The other language (for the language switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Uk,
            Lang::Uk => Lang::En,
        }
    }

    /// The language's name in itself.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Uk => "Українська",
        }
    }

    /// The best of our languages for an `Accept-Language` header (English when none fits).
    pub fn from_accept_language(headers: &HeaderMap) -> Lang {
        let Some(value) = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Lang::En;
        };
        let mut best: Option<(f32, Lang)> = None;
        for item in value.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let lang = match primary {
                "uk" => Lang::Uk,
                "en" => Lang::En,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    /// The text for `key`. An unknown key shows itself (and fails the catalogue test).
    pub fn t(self, key: &str) -> &'static str {
        static INDEX: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
        let index = INDEX.get_or_init(|| CATALOGUE.iter().map(|(k, en, uk)| (*k, (*en, *uk))).collect());
        if let Some((en, uk)) = index.get(key) {
            match self {
                Lang::En => en,
                Lang::Uk => uk,
            }
        } else {
            tracing::warn!(key, "missing interface text");
            "?"
        }
    }

    /// The text for `key`, if the catalogue has it.
    pub fn lookup(self, key: &str) -> Option<&'static str> {
        CATALOGUE.iter().find(|(k, _, _)| *k == key).map(|(_, en, uk)| match self {
            Lang::En => *en,
            Lang::Uk => *uk,
        })
    }

    /// The text for `key` with `{}` placeholders filled in order.
    pub fn tf(self, key: &str, args: &[&str]) -> String {
        let mut out = String::new();
        let mut rest = self.t(key);
        let mut args = args.iter();
        while let Some(i) = rest.find("{}") {
            out.push_str(&rest[..i]);
            out.push_str(args.next().copied().unwrap_or(""));
            rest = &rest[i + 2..];
        }
        out.push_str(rest);
        out
    }

    /// A country's short name in this language (the code itself when unknown).
    pub fn country(self, code: &str) -> &'static str {
        let table: &[(&str, &str)] = match self {
            Lang::En => COUNTRIES,
            Lang::Uk => COUNTRIES_UK,
        };
        table.binary_search_by(|(c, _)| (*c).cmp(code)).map_or("", |i| table[i].1)
    }

    /// Every country as (code, name), sorted by name in this language's alphabet.
    pub fn countries(self) -> &'static [(&'static str, &'static str)] {
        static EN: OnceLock<Vec<(&str, &str)>> = OnceLock::new();
        static UK: OnceLock<Vec<(&str, &str)>> = OnceLock::new();
        match self {
            Lang::En => EN.get_or_init(|| {
                let mut v = COUNTRIES.to_vec();
                v.sort_by_key(|(_, n)| latin_key(n));
                v
            }),
            Lang::Uk => UK.get_or_init(|| {
                let mut v = COUNTRIES_UK.to_vec();
                v.sort_by_key(|(_, n)| ukrainian_key(n));
                v
            }),
        }
    }

    /// A domain validation message (English fragments such as "is required") as a
    /// sentence in this language. Unknown messages are shown as they are.
    pub fn field_message(self, message: &str) -> String {
        for (pattern, en, uk) in FIELD_MESSAGES {
            if let Some(n) = match_pattern(pattern, message) {
                let text = match self {
                    Lang::En => en,
                    Lang::Uk => uk,
                };
                return text.replace("{n}", n);
            }
        }
        let mut c = message.chars();
        match c.next() {
            Some(first) => first.to_uppercase().chain(c).collect(),
            None => String::new(),
        }
    }
}

/// Matches `message` against a pattern with at most one `{n}` (a number); returns the
/// number (or "" when the pattern has none).
fn match_pattern<'m>(pattern: &str, message: &'m str) -> Option<&'m str> {
    match pattern.split_once("{n}") {
        None => (pattern == message).then_some(""),
        Some((pre, post)) => {
            let mid = message.strip_prefix(pre)?.strip_suffix(post)?;
            (!mid.is_empty() && mid.bytes().all(|b| b.is_ascii_digit())).then_some(mid)
        }
    }
}

/// Sort key for Latin names: accents folded onto their base letter.
fn latin_key(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'Å' | 'Á' | 'À' => 'A',
            'É' | 'È' => 'E',
            'Ô' | 'Ö' => 'O',
            'é' | 'è' => 'e',
            'ç' => 'c',
            'ü' => 'u',
            c => c,
        })
        .collect()
}

/// Sort key in the order of the Ukrainian alphabet (Unicode order misplaces Ґ, Є, І, Ї).
fn ukrainian_key(name: &str) -> Vec<u32> {
    const ALPHABET: &str = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя";
    name.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match ALPHABET.chars().position(|a| a == c) {
            Some(i) => 0x1000 + u32::try_from(i).unwrap_or(0),
            None if c.is_alphanumeric() => 0x2000 + u32::from(c),
            None => u32::from(c),
        })
        .collect()
}

/// Domain validation messages: (message as the domain words it, English, Ukrainian).
/// `{n}` stands for a number inside the message.
const FIELD_MESSAGES: &[(&str, &str, &str)] = &[
    ("is required", "This field is required.", "Це поле обов’язкове."),
    ("must be text", "Enter text.", "Введіть текст."),
    ("must be at most {n} characters", "Use at most {n} characters.", "Не більше ніж {n} символів."),
    ("must not contain control characters", "Remove the control characters.", "Приберіть службові символи."),
    ("must contain letters", "Use letters.", "Має містити літери."),
    (
        "must contain only letters, spaces, hyphens, apostrophes and dots",
        "Use only letters, spaces, hyphens, apostrophes and dots.",
        "Використовуйте лише літери, пробіли, дефіси, апострофи та крапки.",
    ),
    ("must be a date (YYYY-MM-DD)", "Enter a real date.", "Введіть правильну дату."),
    ("must be a date (YYYY-MM-DD or YYYY-MM)", "Enter a month and year.", "Вкажіть місяць і рік."),
    ("must be a date and time", "Enter a date and time.", "Вкажіть дату й час."),
    ("must be in the past", "The date must be in the past.", "Дата має бути в минулому."),
    ("is not plausible", "Check this date; it does not look right.", "Перевірте дату: вона виглядає неправдоподібно."),
    ("must be a two-letter country code", "Choose a country.", "Оберіть країну."),
    (
        "must be an ISO 3166-1 alpha-2 country code, such as PL",
        "Choose a country from the list.",
        "Оберіть країну зі списку.",
    ),
    (
        "may contain only letters A–Z and digits",
        "Use only the letters A–Z and digits, as printed in the passport.",
        "Лише латинські літери A–Z і цифри, як надруковано в паспорті.",
    ),
    ("must be 5–20 letters or digits", "Enter 5 to 20 letters or digits.", "Введіть від 5 до 20 літер або цифр."),
    (
        "must contain at least one digit",
        "A passport number has at least one digit.",
        "Номер паспорта містить принаймні одну цифру.",
    ),
    (
        "the passport has expired",
        "This passport has expired; give the details of a valid passport.",
        "Термін дії цього паспорта минув; вкажіть дані чинного паспорта.",
    ),
    (
        "must be an e-mail address, such as name@example.org",
        "Enter an e-mail address, such as name@example.org.",
        "Введіть адресу електронної пошти, наприклад name@example.org.",
    ),
    (
        "must be a phone number with 7–15 digits, such as +48 22 123 4567",
        "Enter a phone number with 7 to 15 digits, such as +48 22 123 4567.",
        "Введіть номер телефону з 7–15 цифр, наприклад +48 22 123 4567.",
    ),
    ("must be a list", "Enter a list.", "Введіть перелік."),
    (
        "name at least one language",
        "Name at least one language you speak.",
        "Вкажіть принаймні одну мову, якою ви володієте.",
    ),
    ("at most {n} languages", "Name at most {n} languages.", "Вкажіть не більше ніж {n} мов."),
    ("each language must be text", "Write the languages as text.", "Напишіть назви мов текстом."),
    (
        "each language must be 2–50 letters",
        "Write each language in 2 to 50 letters, separated by commas.",
        "Кожна мова — від 2 до 50 літер, через кому.",
    ),
    ("at most {n} entries", "List at most {n} periods.", "Вкажіть не більше ніж {n} періодів."),
    ("must not be in the past", "The date must not be in the past.", "Дата не може бути в минулому."),
    ("must be true or false", "Choose yes or no.", "Оберіть «так» або «ні»."),
    ("must be an object", "Fill in this section.", "Заповніть цей розділ."),
    (
        "consent is needed to process the application",
        "We cannot process the application without your consent to a background check.",
        "Без вашої згоди на перевірку ми не можемо розглянути заяву.",
    ),
    ("must not be in the future", "The date must not be in the future.", "Дата не може бути в майбутньому."),
    ("must be after the date of birth", "Must be after your date of birth.", "Має бути після дати народження."),
    (
        "must not be before 'from'",
        "Must not be before the start of the period.",
        "Не може бути раніше за початок періоду.",
    ),
    ("is not a known field", "This field is not part of the form.", "Цього поля немає у формі."),
    (
        "no mission takes applications from this country yet",
        "No mission takes applications from this country yet.",
        "Жодне представництво поки не приймає заяв із цієї країни.",
    ),
    (
        "must be an object with country, branch, from, to, role",
        "Fill in the country, branch, dates and role.",
        "Заповніть країну, рід військ, дати й посаду.",
    ),
    ("is not a valid application", "The application is not complete.", "Заява заповнена не повністю."),
    ("must be in the future", "The time must be in the future.", "Час має бути в майбутньому."),
    ("must not be before valid_from", "Must not be before the first day.", "Не може бути раніше за перший день."),
    (
        "the entry window may be at most a year",
        "The entry window may be at most a year.",
        "Вікно в’їзду — не довше за рік.",
    ),
    ("is not a known state", "Choose a state from the list.", "Оберіть стан зі списку."),
    (
        "is not a reference like LG-7K4M-2QXP",
        "Enter a reference like LG-7K4M-2QXP.",
        "Введіть номер на зразок LG-7K4M-2QXP.",
    ),
    (
        "must be submitted_asc, submitted_desc or updated_desc",
        "Choose an order from the list.",
        "Оберіть порядок зі списку.",
    ),
    ("must be a page number", "Enter a page number.", "Вкажіть номер сторінки."),
    ("choose an outcome", "Choose an outcome from the list.", "Оберіть результат зі списку."),
    ("choose yes or no", "Choose yes or no.", "Оберіть «так» або «ні»."),
    ("choose a recommendation", "Choose approve or reject.", "Оберіть «схвалити» або «відхилити»."),
    ("confirm to withdraw", "Tick the box to confirm.", "Позначте, щоб підтвердити."),
    ("must be a PDF, JPEG or PNG file", "Choose a PDF, JPEG or PNG file.", "Оберіть файл PDF, JPEG або PNG."),
    ("must be at most {n} MB", "The file must be at most {n} MB.", "Файл має бути не більшим за {n} МБ."),
    ("must not be empty", "The file is empty; choose another.", "Файл порожній; оберіть інший."),
    (
        "must be passport_scan, service_record or criminal_record_certificate",
        "Choose what the document is.",
        "Оберіть, що це за документ.",
    ),
];

/// Every interface text: (key, English, Ukrainian).
const CATALOGUE: &[(&str, &str, &str)] = &[
    // Layout.
    ("app.name", "Legion", "Легіон"),
    (
        "app.tagline",
        "Applications to the International Legion of Ukraine",
        "Заяви до Інтернаціонального легіону України",
    ),
    ("nav.skip", "Skip to main content", "Перейти до основного вмісту"),
    ("nav.label", "Main", "Основна навігація"),
    ("nav.apply", "Apply", "Подати заяву"),
    ("nav.status", "Check your application", "Стан заяви"),
    ("nav.staff", "Staff sign-in", "Вхід для персоналу"),
    ("nav.queue", "Applications", "Заяви"),
    ("nav.vetting", "Vetting", "Перевірка безпеки"),
    ("nav.audit", "Audit log", "Журнал аудиту"),
    ("nav.home", "Workspace", "Робочий простір"),
    ("nav.sign_out", "Sign out", "Вийти"),
    ("nav.signed_in_as", "Signed in as", "Ви увійшли як"),
    ("nav.language", "Language", "Мова"),
    (
        "footer.text",
        "Legion is run by Ukraine’s diplomatic missions. Your data is used only to process your application.",
        "Легіон працює в дипломатичних представництвах України. Ваші дані використовуються лише для розгляду заяви.",
    ),
    // Shared form text.
    ("form.required_note", "Fields marked * are required.", "Поля, позначені *, обов’язкові."),
    ("form.required", "required", "обов’язкове"),
    ("form.optional", "optional", "необов’язково"),
    ("form.error_summary", "There is a problem", "Виникла проблема"),
    ("form.error_prefix", "Error:", "Помилка:"),
    ("form.choose", "Choose…", "Оберіть…"),
    ("form.yes", "Yes", "Так"),
    ("form.no", "No", "Ні"),
    // Applicant form.
    ("apply.title", "Apply to join the International Legion", "Заява на вступ до Інтернаціонального легіону"),
    (
        "apply.intro",
        "Your application goes to the Ukrainian embassy or consulate that serves the country where you live. Staff there will review it, may ask you questions or invite you to an interview, and will let you know the outcome on your status page.",
        "Вашу заяву отримає посольство або консульство України, яке обслуговує країну, де ви проживаєте. Працівники розглянуть її, можуть поставити вам запитання чи запросити на співбесіду, а про рішення ви дізнаєтеся на сторінці стану заяви.",
    ),
    (
        "apply.experience_note",
        "Military experience is an advantage, not a requirement. Applicants must be 18 to 60 years old.",
        "Військовий досвід — перевага, але не обов’язкова умова. Вік заявника — від 18 до 60 років.",
    ),
    ("apply.submit", "Submit application", "Подати заяву"),
    ("apply.section.about", "About you", "Про вас"),
    ("apply.section.passport", "Passport", "Паспорт"),
    ("apply.section.contact", "Contact details", "Контактні дані"),
    ("apply.section.service", "Military or law-enforcement service", "Військова або правоохоронна служба"),
    (
        "apply.section.service_hint",
        "Optional. List up to three periods of service; leave the rest empty.",
        "Необов’язково. Вкажіть до трьох періодів служби, решту залиште порожніми.",
    ),
    ("apply.section.service_row", "Period of service {}", "Період служби {}"),
    ("apply.section.languages", "Languages", "Мови"),
    ("apply.section.travel", "Travel", "Поїздка"),
    ("apply.section.declarations", "Declarations", "Заяви та згоди"),
    ("field.given_names", "Given names", "Імена"),
    ("field.given_names.hint", "As in your passport.", "Як у паспорті."),
    ("field.family_name", "Family name", "Прізвище"),
    ("field.family_name.hint", "As in your passport.", "Як у паспорті."),
    ("field.native_name", "Name in your own script", "Ім’я мовою оригіналу"),
    (
        "field.native_name.hint",
        "If your passport spells your name in Latin letters, you may also write it as you normally do, for example Олександр Петренко.",
        "Якщо в паспорті ваше ім’я записане латиницею, можете також написати його так, як пишете зазвичай, наприклад Олександр Петренко.",
    ),
    ("field.date_of_birth", "Date of birth", "Дата народження"),
    ("field.nationality", "Nationality", "Громадянство"),
    ("field.country_of_residence", "Country where you live", "Країна проживання"),
    (
        "field.country_of_residence.hint",
        "This decides which Ukrainian mission handles your application.",
        "Від цього залежить, яке представництво України розглядатиме вашу заяву.",
    ),
    ("field.passport_number", "Passport number", "Номер паспорта"),
    (
        "field.passport_number.hint",
        "As printed in the passport; spaces and hyphens do not matter.",
        "Як надруковано в паспорті; пробіли й дефіси не мають значення.",
    ),
    ("field.passport_expiry", "Passport expiry date", "Дата закінчення дії паспорта"),
    ("field.email", "E-mail address", "Електронна пошта"),
    ("field.phone", "Phone number", "Номер телефону"),
    (
        "field.phone.hint",
        "With the country code, for example +44 20 7946 0958.",
        "З кодом країни, наприклад +44 20 7946 0958.",
    ),
    ("field.service.country", "Country", "Країна"),
    ("field.service.branch", "Branch or service", "Рід військ або служба"),
    ("field.service.branch.hint", "For example Army, Navy, Police.", "Наприклад: сухопутні війська, флот, поліція."),
    ("field.service.from", "From (month and year)", "З (місяць і рік)"),
    ("field.service.to", "To (month and year)", "По (місяць і рік)"),
    ("field.service.to.hint", "Leave empty if you still serve.", "Залиште порожнім, якщо служите досі."),
    ("field.service.role", "Role, rank or trade", "Посада, звання чи спеціальність"),
    ("field.languages", "Languages you speak", "Мови, якими ви володієте"),
    (
        "field.languages.hint",
        "Separate them with commas, for example English, Polish.",
        "Через кому, наприклад: англійська, польська.",
    ),
    ("field.travel.departure_country", "Country you will travel from", "Країна, з якої ви вирушите"),
    ("field.travel.departure_city", "City you will travel from", "Місто, з якого ви вирушите"),
    ("field.travel.earliest_date", "Earliest date you can travel", "Найраніша дата, коли ви можете вирушити"),
    (
        "field.travel.group_travel",
        "I would like to travel together with a group of other volunteers.",
        "Я хочу їхати разом із групою інших добровольців.",
    ),
    ("field.declarations.no_criminal_record", "I have no criminal record.", "Я не маю судимості."),
    (
        "field.declarations.consent_background_check",
        "I consent to a background check. Without it we cannot process the application.",
        "Я погоджуюся на перевірку своїх даних. Без цієї згоди заяву не можна розглянути.",
    ),
    ("field.body", "Application", "Заява"),
    ("field.travel.group_travel.short", "Group travel", "Поїздка в групі"),
    ("field.declarations.no_criminal_record.short", "No criminal record", "Відсутність судимості"),
    ("field.declarations.consent_background_check.short", "Consent to a background check", "Згода на перевірку"),
    ("status.withdraw_confirm.short", "Confirmation", "Підтвердження"),
    // Confirmation.
    ("submitted.title", "Application received", "Заяву отримано"),
    ("submitted.reference", "Your reference", "Номер вашої заяви"),
    ("submitted.code", "Your access code", "Ваш код доступу"),
    (
        "submitted.code_warning",
        "Write this code down or print this page now. It is shown only once: we do not keep it and cannot show it again. You need the reference and the code to see your application.",
        "Запишіть цей код або роздрукуйте сторінку зараз. Його показано лише один раз: ми його не зберігаємо й не зможемо показати повторно. Щоб переглянути заяву, потрібні номер заяви та цей код.",
    ),
    ("submitted.mission", "Your application was sent to", "Вашу заяву надіслано до"),
    (
        "submitted.next",
        "First your application is checked automatically. Then the mission’s staff review it. Check your status page from time to time: questions from the mission and interview invitations appear there.",
        "Спершу заяву автоматично перевірять, потім її розгляне персонал представництва. Час від часу заглядайте на сторінку стану заяви: там з’являться запитання від представництва та запрошення на співбесіду.",
    ),
    ("submitted.status_link", "Go to your status page", "Перейти до сторінки стану заяви"),
    // Applicant status.
    ("status.lookup_title", "Check your application", "Стан вашої заяви"),
    (
        "status.lookup_intro",
        "Enter the reference and the access code you received when you applied.",
        "Введіть номер заяви та код доступу, які ви отримали під час подання.",
    ),
    ("status.reference", "Reference", "Номер заяви"),
    ("status.reference.hint", "For example LG-7K4M-2QXP.", "Наприклад LG-7K4M-2QXP."),
    ("status.access_code", "Access code", "Код доступу"),
    ("status.show", "Show my application", "Показати мою заяву"),
    (
        "status.not_found",
        "We could not find an application with this reference and access code. Check both and try again.",
        "Не вдалося знайти заяву з таким номером і кодом доступу. Перевірте обидва значення та спробуйте ще раз.",
    ),
    ("status.title", "Your application", "Ваша заява"),
    ("status.current", "Current status", "Поточний стан"),
    ("status.mission", "Handled by", "Розглядає"),
    ("status.submitted_at", "Submitted", "Подано"),
    ("status.updated_at", "Last change", "Остання зміна"),
    ("status.request_title", "The mission asks you", "Запитання від представництва"),
    ("status.answer", "Your answer", "Ваша відповідь"),
    ("status.answer_send", "Send answer", "Надіслати відповідь"),
    ("status.answered_title", "Earlier questions", "Попередні запитання"),
    ("status.answered", "answered", "відповідь надано"),
    ("status.asked_on", "Asked on {}", "Запитано {}"),
    ("status.interview_title", "Your interview", "Ваша співбесіда"),
    ("status.interview_when", "When", "Коли"),
    ("status.interview_where", "Where", "Де"),
    (
        "status.interview_bring",
        "Bring your passport and any proof of service you have.",
        "Візьміть із собою паспорт і документи, що підтверджують службу, якщо вони у вас є.",
    ),
    ("status.entry_title", "Your entry window", "Ваше вікно в’їзду"),
    (
        "status.entry_text",
        "You may enter Ukraine from {} to {} (both days included).",
        "Ви можете в’їхати в Україну з {} по {} включно.",
    ),
    ("status.withdraw_title", "Withdraw your application", "Відкликати заяву"),
    (
        "status.withdraw_text",
        "If you no longer wish to go ahead, you can withdraw. This cannot be undone, but you may apply again later.",
        "Якщо ви передумали, заяву можна відкликати. Скасувати це не можна, але згодом ви зможете подати нову заяву.",
    ),
    ("status.withdraw_reason", "Reason", "Причина"),
    (
        "status.withdraw_reason.hint",
        "Optional. It helps us understand why people withdraw.",
        "Необов’язково. Це допоможе нам зрозуміти, чому люди відкликають заяви.",
    ),
    ("status.withdraw_confirm", "I want to withdraw my application.", "Я хочу відкликати свою заяву."),
    ("status.withdraw_button", "Withdraw application", "Відкликати заяву"),
    (
        "status.answer_sent",
        "Thank you, your answer was sent to the mission.",
        "Дякуємо, вашу відповідь надіслано до представництва.",
    ),
    ("status.withdrawn_notice", "Your application has been withdrawn.", "Вашу заяву відкликано."),
    ("status.times_utc", "Times are in UTC.", "Час указано за UTC."),
    // Applicant documents.
    ("status.documents_title", "Your documents", "Ваші документи"),
    (
        "status.documents_text",
        "Send a scan of your passport’s photo page, proof of military or law-enforcement service and a criminal-record certificate.",
        "Надішліть скан сторінки паспорта з фото, підтвердження військової або правоохоронної служби та довідку про несудимість.",
    ),
    ("status.documents_none", "You have not sent any documents yet.", "Ви ще не надіслали жодного документа."),
    (
        "status.documents_closed",
        "Documents can no longer be added to this application.",
        "До цієї заяви більше не можна додавати документи.",
    ),
    (
        "status.documents_full",
        "This application already holds as many documents as it may.",
        "У цій заяві вже найбільша дозволена кількість документів.",
    ),
    ("status.document_kind", "What is it?", "Що це за документ?"),
    ("status.document_file", "File", "Файл"),
    ("status.document_file.hint", "PDF, JPEG or PNG, up to {} MB.", "PDF, JPEG або PNG, до {} МБ."),
    ("status.document_send", "Send document", "Надіслати документ"),
    ("status.document_sent", "Thank you, your document was received.", "Дякуємо, ваш документ отримано."),
    ("documents.col.kind", "Document", "Документ"),
    ("documents.col.type", "Type", "Тип"),
    ("documents.col.size", "Size", "Розмір"),
    ("documents.col.at", "Received (UTC)", "Отримано (UTC)"),
    ("document.kind.passport_scan", "Passport scan", "Скан паспорта"),
    ("document.kind.service_record", "Proof of service", "Підтвердження служби"),
    ("document.kind.criminal_record_certificate", "Criminal-record certificate", "Довідка про несудимість"),
    ("size.kb", "{} KB", "{} КБ"),
    ("size.mb", "{} MB", "{} МБ"),
    // Applicant-facing state descriptions.
    ("state.submitted.title", "We have received your application", "Ми отримали вашу заяву"),
    (
        "state.submitted.text",
        "It is checked automatically first; this usually takes a few minutes.",
        "Спершу її перевірять автоматично — зазвичай це займає кілька хвилин.",
    ),
    ("state.screening.title", "Your application is being checked", "Вашу заяву перевіряють"),
    (
        "state.screening.text",
        "Automatic checks are running. Nothing is needed from you.",
        "Триває автоматична перевірка. Від вас нічого не потрібно.",
    ),
    (
        "state.vetting_hold.title",
        "Your application needs an additional check",
        "Ваша заява потребує додаткової перевірки",
    ),
    (
        "state.vetting_hold.text",
        "A specialist is looking at some details. This can take a few days; nothing is needed from you now.",
        "Фахівець перевіряє деякі відомості. Це може тривати кілька днів; зараз від вас нічого не потрібно.",
    ),
    ("state.mission_review.title", "The mission is reviewing your application", "Представництво розглядає вашу заяву"),
    (
        "state.mission_review.text",
        "Staff are reading your application. They may ask you for more information or invite you to an interview.",
        "Працівники вивчають вашу заяву. Вони можуть попросити додаткову інформацію або запросити вас на співбесіду.",
    ),
    (
        "state.info_requested.title",
        "The mission needs more information from you",
        "Представництву потрібна додаткова інформація",
    ),
    (
        "state.info_requested.text",
        "Please answer the question below. Your application waits until you do.",
        "Будь ласка, дайте відповідь на запитання нижче. Доти розгляд заяви призупинено.",
    ),
    ("state.interview_scheduled.title", "You are invited to an interview", "Вас запрошено на співбесіду"),
    ("state.interview_scheduled.text", "The time and place are below.", "Час і місце вказано нижче."),
    ("state.interviewed.title", "Your interview has taken place", "Співбесіду проведено"),
    (
        "state.interviewed.text",
        "The mission is preparing its recommendation.",
        "Представництво готує рекомендацію щодо вашої заяви.",
    ),
    ("state.recommended.title", "A decision is being made", "Ухвалюється рішення"),
    (
        "state.recommended.text",
        "The head of the mission will decide on your application.",
        "Рішення щодо вашої заяви ухвалить керівник представництва.",
    ),
    ("state.approved.title", "Your application is approved", "Вашу заяву схвалено"),
    (
        "state.approved.text",
        "The mission will issue your entry authorisation soon.",
        "Незабаром представництво видасть вам дозвіл на в’їзд.",
    ),
    ("state.rejected.title", "Your application was not accepted", "Вашу заяву не прийнято"),
    (
        "state.rejected.text",
        "We cannot take your application further. Thank you for your willingness to help Ukraine.",
        "На жаль, ми не можемо продовжити розгляд вашої заяви. Дякуємо за готовність допомогти Україні.",
    ),
    ("state.authorised.title", "You are authorised to enter Ukraine", "Вам дозволено в’їзд в Україну"),
    (
        "state.authorised.text",
        "Your entry authorisation has been issued. Use it within the entry window below.",
        "Дозвіл на в’їзд видано. Скористайтеся ним у межах зазначеного нижче вікна в’їзду.",
    ),
    ("state.revoked.title", "Your entry authorisation was revoked", "Ваш дозвіл на в’їзд відкликано"),
    (
        "state.revoked.text",
        "Do not travel on it. Contact the mission if you have questions.",
        "Не вирушайте за цим дозволом. Якщо маєте запитання, зверніться до представництва.",
    ),
    ("state.crossed_border.title", "You have crossed into Ukraine", "Ви перетнули кордон України"),
    (
        "state.crossed_border.text",
        "The border officer recorded your crossing. Report to the reception point you were given.",
        "Прикордонник зареєстрував ваш в’їзд. Прибудьте до пункту прийому, який вам вказали.",
    ),
    ("state.withdrawn.title", "You withdrew your application", "Ви відкликали свою заяву"),
    (
        "state.withdrawn.text",
        "Nothing more will happen with it. You are welcome to apply again.",
        "Заява більше не розглядається. Ви можете подати нову заяву.",
    ),
    // Short state names (staff).
    ("state.submitted", "Submitted", "Подано"),
    ("state.screening", "Screening", "Автоматична перевірка"),
    ("state.vetting_hold", "Vetting hold", "Перевірка безпеки"),
    ("state.mission_review", "Mission review", "Розгляд у представництві"),
    ("state.info_requested", "Information requested", "Запитано інформацію"),
    ("state.interview_scheduled", "Interview scheduled", "Співбесіду призначено"),
    ("state.interviewed", "Interviewed", "Співбесіду проведено"),
    ("state.recommended", "Recommended", "Рекомендовано"),
    ("state.approved", "Approved", "Схвалено"),
    ("state.rejected", "Rejected", "Відхилено"),
    ("state.authorised", "Authorised", "Дозвіл видано"),
    ("state.revoked", "Revoked", "Дозвіл відкликано"),
    ("state.crossed_border", "Crossed the border", "Перетнув кордон"),
    ("state.withdrawn", "Withdrawn", "Відкликано заявником"),
    // Roles.
    ("role.mission_officer", "Mission officer", "Працівник представництва"),
    ("role.mission_head", "Head of mission", "Керівник представництва"),
    ("role.vetting_officer", "Vetting officer", "Офіцер перевірки безпеки"),
    ("role.border_officer", "Border officer", "Прикордонник"),
    ("role.reception_officer", "Reception officer", "Офіцер прийому"),
    ("role.records_officer", "Records officer", "Офіцер обліку"),
    ("role.auditor", "Auditor", "Аудитор"),
    ("role.admin", "Administrator", "Адміністратор"),
    ("role.system", "Legion (automatic)", "Легіон (автоматично)"),
    ("role.applicant", "Applicant", "Заявник"),
    ("role.you", "you", "ви"),
    // Staff sign-in and home.
    ("signin.title", "Staff sign-in", "Вхід для персоналу"),
    ("signin.username", "Username", "Ім’я користувача"),
    ("signin.password", "Password", "Пароль"),
    ("signin.button", "Sign in", "Увійти"),
    (
        "signin.failed",
        "The username or password is wrong, or the account is disabled.",
        "Неправильне ім’я користувача чи пароль, або обліковий запис вимкнено.",
    ),
    ("signin.signed_out", "You have signed out.", "Ви вийшли із системи."),
    ("home.title", "Staff workspace", "Робочий простір персоналу"),
    ("home.role", "Your role: {}.", "Ваша роль: {}."),
    (
        "home.role.reception_officer",
        "Reception officers record arrivals, contracts and assignments. Those tools are not in this workspace yet.",
        "Офіцери прийому фіксують прибуття, контракти та призначення. Ці інструменти ще не додано до робочого простору.",
    ),
    (
        "home.role.records_officer",
        "Records officers keep service periods, discharges and the citizenship clock. Those tools are not in this workspace yet.",
        "Офіцери обліку ведуть періоди служби, звільнення та відлік строку для набуття громадянства. Ці інструменти ще не додано до робочого простору.",
    ),
    (
        "home.role.auditor",
        "Auditors read the audit log, check it against its signed checkpoints, and read the statistics, here, through the API and on the command line. Case files are not open to this role.",
        "Аудитори переглядають журнал аудиту, перевіряють його за підписаними контрольними точками та переглядають статистику тут, через API і в командному рядку. Справи заявників для цієї ролі закриті.",
    ),
    (
        "home.role.admin",
        "Administrators manage missions, staff accounts, keys and policy versions, through the API and the command line. Case files are not open to this role.",
        "Адміністратори керують представництвами, обліковими записами персоналу, ключами та версіями політик через API і командний рядок. Справи заявників для цієї ролі закриті.",
    ),
    ("home.role.other", "There is no case work for your role here.", "Для вашої ролі тут немає роботи зі справами."),
    ("home.audit_link", "Open the audit log", "Відкрити журнал аудиту"),
    // The auditor's page.
    ("audit.title", "Audit log", "Журнал аудиту"),
    (
        "audit.intro",
        "Every change, every read of personal data, every sign-in and every refused request, newest first. The log is a Merkle tree whose head is signed at intervals: verification recomputes it from the stored events and checks every signed checkpoint.",
        "Кожна зміна, кожне читання персональних даних, кожен вхід і кожен відхилений запит — спершу найновіші. Журнал — це дерево Меркла, вершину якого періодично підписують: перевірка обчислює його заново зі збережених подій і звіряє з кожною підписаною контрольною точкою.",
    ),
    ("audit.verification", "Verification", "Перевірка"),
    ("audit.verify", "Verify the whole log now", "Перевірити весь журнал зараз"),
    (
        "audit.status.unknown",
        "The log has not been verified since the server started. Verify it now.",
        "Від запуску сервера журнал ще не перевіряли. Перевірте його зараз.",
    ),
    (
        "audit.status.running",
        "A verification is running; reload the page in a moment.",
        "Триває перевірка; оновіть сторінку за хвилинку.",
    ),
    ("audit.status.ok", "Verified: the log is intact (checked {}).", "Перевірено: журнал цілий (перевірка {})."),
    (
        "audit.status.ok.detail",
        "{} events follow their hash chain; {} signed checkpoints match them.",
        "Подій, що відповідають ланцюжку гешів: {}; підписаних контрольних точок, що з ними збігаються: {}.",
    ),
    (
        "audit.status.unsigned",
        "{} newest events are not yet covered by a checkpoint (the hash chain protects them until the next one).",
        "Найновіших подій, ще не покритих контрольною точкою: {} (до наступної їх захищає ланцюжок гешів).",
    ),
    ("audit.status.root", "Root: {}", "Корінь: {}"),
    (
        "audit.status.bad",
        "Verification failed: the log or its checkpoints were changed (checked {}).",
        "Перевірка не пройдена: журнал або його контрольні точки змінено (перевірка {}).",
    ),
    ("audit.status.first_bad", "First bad entry: seq {}.", "Перший пошкоджений запис: seq {}."),
    ("audit.status.fault", "Details: {}", "Подробиці: {}"),
    (
        "audit.status.unreadable",
        "The log could not be read for verification (tried {}). Try again later.",
        "Не вдалося прочитати журнал для перевірки (спроба {}). Спробуйте пізніше.",
    ),
    ("audit.events", "Events in the log", "Подій у журналі"),
    ("audit.latest.size", "Latest checkpoint covers", "Остання контрольна точка охоплює"),
    ("audit.latest.root", "Its root (SHA-256)", "Її корінь (SHA-256)"),
    ("audit.latest.at", "Signed", "Підписано"),
    ("audit.latest.none", "No checkpoint has been signed yet.", "Ще не підписано жодної контрольної точки."),
    ("audit.filters", "Filter the log", "Фільтр журналу"),
    ("audit.filter.action", "Action", "Дія"),
    (
        "audit.filter.action.hint",
        "The beginning is enough: case. finds every case command.",
        "Достатньо початку: case. знайде всі дії зі справами.",
    ),
    ("audit.filter.actor", "Actor", "Хто"),
    (
        "audit.filter.actor.hint",
        "Exactly: system, applicant, anonymous, cli, or a staff id.",
        "Точно: system, applicant, anonymous, cli або ідентифікатор працівника.",
    ),
    ("audit.filter.object", "Object", "Об’єкт"),
    (
        "audit.filter.object.hint",
        "The beginning is enough: application: finds every application.",
        "Достатньо початку: application: знайде всі заяви.",
    ),
    ("audit.filter.outcome", "Outcome", "Результат"),
    ("audit.filter.from", "From (UTC)", "Від (UTC)"),
    ("audit.filter.to", "To, inclusive (UTC)", "До, включно (UTC)"),
    ("audit.outcome.any", "Any outcome", "Будь-який результат"),
    ("audit.outcome.ok", "ok", "успішно"),
    ("audit.outcome.denied", "denied", "відмовлено"),
    ("audit.outcome.failed", "failed", "невдало"),
    ("audit.count", "Matching events: {}", "Знайдено подій: {}"),
    ("audit.caption", "Audit events, page {} of {}", "Події аудиту, сторінка {} з {}"),
    ("audit.empty", "No events match these filters.", "Немає подій, що відповідають цим фільтрам."),
    ("audit.col.seq", "Seq", "№"),
    ("audit.col.at", "Time", "Час"),
    ("audit.col.actor", "Actor", "Хто"),
    ("audit.col.role", "Role", "Роль"),
    ("audit.col.mission", "Mission", "Представництво"),
    ("audit.col.action", "Action", "Дія"),
    ("audit.col.object", "Object", "Об’єкт"),
    ("audit.col.outcome", "Outcome", "Результат"),
    // Queues.
    ("queue.title", "Applications", "Заяви"),
    ("queue.filters", "Filter and sort", "Фільтр і сортування"),
    ("queue.state", "State", "Стан"),
    ("queue.all_states", "All states", "Усі стани"),
    ("queue.reference", "Reference", "Номер заяви"),
    ("queue.email", "E-mail address", "Адреса електронної пошти"),
    ("queue.find", "Find an applicant", "Знайти заявника"),
    (
        "queue.find.hint",
        "Exact e-mail address, or passport number with its country.",
        "Точна адреса електронної пошти або номер паспорта з країною.",
    ),
    ("queue.find.button", "Find", "Знайти"),
    ("queue.find.title", "Cases of one applicant", "Заяви одного заявника"),
    ("queue.passport", "Passport number", "Номер паспорта"),
    ("queue.nationality", "Passport country (e.g. GB)", "Країна паспорта (напр. GB)"),
    ("queue.sort", "Order", "Порядок"),
    ("queue.sort.submitted_asc", "Submitted, oldest first", "Подані, спершу найстаріші"),
    ("queue.sort.submitted_desc", "Submitted, newest first", "Подані, спершу найновіші"),
    ("queue.sort.updated_desc", "Recently updated", "Нещодавно змінені"),
    ("queue.apply", "Show", "Показати"),
    ("queue.reset", "Clear filters", "Скинути фільтри"),
    ("queue.count", "Matching applications: {}", "Знайдено заяв: {}"),
    ("queue.caption", "Applications, page {} of {}", "Заяви, сторінка {} з {}"),
    ("queue.caption_open", "Applications, page {}", "Заяви, сторінка {}"),
    ("queue.count_more", "Matching applications: more than {}", "Знайдено заяв: понад {}"),
    ("queue.page_open", "Page {}", "Сторінка {}"),
    ("queue.col.reference", "Reference", "Номер"),
    ("queue.col.name", "Name", "Ім’я"),
    ("queue.col.nationality", "Nationality", "Громадянство"),
    ("queue.col.state", "State", "Стан"),
    ("queue.col.submitted", "Submitted", "Подано"),
    ("queue.col.mission", "Mission", "Представництво"),
    ("queue.col.flags", "Flags", "Позначки"),
    ("queue.empty", "No applications match these filters.", "Немає заяв, що відповідають цим фільтрам."),
    ("queue.pages", "Pages", "Сторінки"),
    ("queue.previous", "Previous page", "Попередня сторінка"),
    ("queue.next", "Next page", "Наступна сторінка"),
    ("queue.page_of", "Page {} of {}", "Сторінка {} з {}"),
    ("queue.page", "Page", "Сторінка"),
    ("vetting.title", "Vetting hold", "Перевірка безпеки"),
    (
        "vetting.intro",
        "Applications from all missions whose automatic screening found a possible hit. You see screening data only.",
        "Заяви з усіх представництв, у яких автоматична перевірка виявила можливий збіг. Вам доступні лише дані для перевірки.",
    ),
    ("vetting.empty", "No applications are waiting for vetting.", "Немає заяв, що очікують перевірки."),
    // Case page.
    ("case.title", "Application {}", "Заява {}"),
    ("case.back", "Back to the applications", "Назад до заяв"),
    ("case.applicant", "Applicant", "Заявник"),
    ("case.name", "Name as in the passport", "Ім’я як у паспорті"),
    ("case.native_name", "Name in own script", "Ім’я мовою оригіналу"),
    ("case.date_of_birth", "Date of birth", "Дата народження"),
    ("case.age", "age {}", "вік {}"),
    ("case.nationality", "Nationality", "Громадянство"),
    ("case.residence", "Country of residence", "Країна проживання"),
    ("case.passport", "Passport", "Паспорт"),
    ("case.passport_value", "{}, valid until {}", "{}, дійсний до {}"),
    ("case.email", "E-mail", "Ел. пошта"),
    ("case.phone", "Phone", "Телефон"),
    ("case.languages", "Languages", "Мови"),
    ("case.service", "Military or law-enforcement service", "Військова або правоохоронна служба"),
    ("case.service.none", "None declared.", "Не вказано."),
    ("case.service.country", "Country", "Країна"),
    ("case.service.branch", "Branch", "Рід військ"),
    ("case.service.period", "Period", "Період"),
    ("case.service.role", "Role", "Посада"),
    ("case.service.ongoing", "now", "дотепер"),
    ("case.travel", "Travel", "Поїздка"),
    ("case.travel.from", "Departs from", "Вирушає з"),
    ("case.travel.earliest", "Earliest travel date", "Найраніша дата поїздки"),
    ("case.travel.group", "Group travel", "Поїздка в групі"),
    ("case.declarations", "Declarations", "Заяви та згоди"),
    ("case.decl.no_criminal_record", "No criminal record", "Без судимості"),
    ("case.decl.consent", "Consents to a background check", "Згода на перевірку"),
    ("case.meta", "Case", "Справа"),
    ("case.mission", "Mission", "Представництво"),
    ("case.submitted", "Submitted", "Подано"),
    ("case.updated", "Last change", "Остання зміна"),
    ("case.policy", "Policy version", "Версія політики"),
    ("case.recommendation", "Standing recommendation", "Чинна рекомендація"),
    ("case.recommendation.by_you", "{}, made by you", "{} — ваша рекомендація"),
    ("case.recommendation.by_other", "{}, made by a colleague", "{} — рекомендація колеги"),
    ("case.screening", "Screening", "Автоматична перевірка"),
    ("case.screening.none", "Screening found nothing to check.", "Перевірка не виявила нічого, що потребує уваги."),
    ("case.screening.basis", "Basis", "Підстава"),
    ("case.actions", "Actions", "Дії"),
    ("case.history", "History", "Історія"),
    ("case.history.at", "Time (UTC)", "Час (UTC)"),
    ("case.history.by", "By", "Хто"),
    ("case.history.action", "Action", "Дія"),
    ("case.history.change", "Change", "Зміна"),
    ("case.history.details", "Details", "Подробиці"),
    ("case.documents", "Documents", "Документи"),
    ("case.documents.none", "The applicant has not sent any documents.", "Заявник не надіслав жодного документа."),
    ("case.documents.download", "Download", "Завантажити"),
    ("case.no_actions.info_requested", "Waiting for the applicant’s answer.", "Очікується відповідь заявника."),
    (
        "case.no_actions.vetting_hold",
        "On vetting hold: a vetting officer must clear or confirm the screening hits first.",
        "Заява на перевірці безпеки: спершу офіцер перевірки має зняти або підтвердити позначки.",
    ),
    ("case.no_actions.screening", "Automatic screening has not finished yet.", "Автоматична перевірка ще триває."),
    (
        "case.no_actions.recommended",
        "Waiting for a head of mission to decide.",
        "Очікується рішення керівника представництва.",
    ),
    (
        "status.letter.how",
        "Your entry authorisation is below. Print this page (or save it as PDF from your browser's print dialogue), or keep the QR code on your phone.",
        "Ваш дозвіл на в’їзд — нижче. Надрукуйте цю сторінку (або збережіть як PDF у вікні друку браузера) чи збережіть QR-код у телефоні.",
    ),
    ("status.letter.png", "Download the QR code (PNG)", "Завантажити QR-код (PNG)"),
    ("border.title", "Border check", "Перевірка на кордоні"),
    (
        "border.intro",
        "Scan the QR code of the entry authorisation (a scanner types it into the box) or paste its text, check it, compare the holder with the passport, then record the crossing.",
        "Зчитайте QR-код дозволу на в’їзд (сканер вводить його в поле) або вставте текст, перевірте, порівняйте дані з паспортом і зафіксуйте перетин кордону.",
    ),
    ("border.token", "Entry authorisation (LG1:…)", "Дозвіл на в’їзд (LG1:…)"),
    ("border.token.hint", "The text the QR code holds.", "Текст, який містить QR-код."),
    ("border.point", "Crossing point", "Пункт пропуску"),
    ("border.point.required", "Give the crossing point.", "Вкажіть пункт пропуску."),
    ("border.check", "Check", "Перевірити"),
    ("border.record", "Record the crossing", "Зафіксувати перетин"),
    ("border.valid", "VALID", "ДІЙСНИЙ"),
    (
        "border.valid.text",
        "The entry authorisation is valid. Compare the holder with the passport before recording the crossing.",
        "Дозвіл на в’їзд дійсний. Перед фіксацією перетину порівняйте дані з паспортом.",
    ),
    ("border.refused", "REFUSED", "ВІДМОВА"),
    ("border.used", "ALREADY USED", "ВЖЕ ВИКОРИСТАНО"),
    (
        "border.used.text",
        "This authorisation was used to cross at {} on {}. It is valid for one crossing only.",
        "Цей дозвіл уже використано для перетину в пункті {} {}. Він дійсний лише для одного перетину.",
    ),
    ("border.recorded", "CROSSING RECORDED", "ПЕРЕТИН ЗАФІКСОВАНО"),
    ("border.recorded.text", "Recorded at {} on {}.", "Зафіксовано в пункті {} {}."),
    ("border.not_recorded", "NOT RECORDED", "НЕ ЗАФІКСОВАНО"),
    ("border.family_name", "Family name", "Прізвище"),
    ("border.given_names", "Given names", "Ім’я"),
    ("border.date_of_birth", "Date of birth", "Дата народження"),
    ("border.nationality", "Nationality", "Громадянство"),
    ("border.passport", "Passport number", "Номер паспорта"),
    ("border.window", "Entry window", "Вікно в’їзду"),
    ("border.issuer", "Issued by", "Видано"),
    ("border.compare", "Compare every line with the passport.", "Звірте кожен рядок із паспортом."),
    ("case.no_actions.closed", "This case is closed.", "Цю справу закрито."),
    (
        "case.no_actions.crossed_border",
        "The holder crossed the border; reception takes the case from here.",
        "Власник дозволу перетнув кордон; далі справу веде пункт прийому.",
    ),
    (
        "case.no_actions.role",
        "Your role has no action on the case in this state.",
        "Ваша роль не має дій щодо справи в цьому стані.",
    ),
    (
        "case.four_eyes",
        "You made this recommendation, so a different head of mission must approve or reject it (four-eyes rule). You can still return it to review.",
        "Ви самі надали цю рекомендацію, тому схвалити чи відхилити її має інший керівник представництва (принцип «чотирьох очей»). Повернути справу на розгляд ви можете.",
    ),
    ("done.request-info", "Your request was sent to the applicant.", "Ваш запит надіслано заявникові."),
    ("done.schedule-interview", "The interview is scheduled.", "Співбесіду призначено."),
    ("done.record-interview", "The interview is recorded.", "Результат співбесіди збережено."),
    ("done.recommend", "Your recommendation is recorded.", "Вашу рекомендацію збережено."),
    ("done.approve", "The application is approved.", "Заяву схвалено."),
    ("done.reject", "The application is rejected.", "Заяву відхилено."),
    ("done.return", "The case is back in review.", "Справу повернуто на розгляд."),
    ("done.authorise", "The entry authorisation is issued.", "Дозвіл на в’їзд видано."),
    ("done.revoke", "The entry authorisation is revoked.", "Дозвіл на в’їзд відкликано."),
    (
        "done.reissue",
        "A new entry authorisation is issued; the old one is on the revocation list.",
        "Видано новий дозвіл на в’їзд; попередній внесено до списку відкликаних.",
    ),
    ("case.error", "The action was not carried out.", "Дію не виконано."),
    // Actions (forms and history).
    ("action.request-info", "Ask the applicant for information", "Запитати інформацію в заявника"),
    ("action.request-info.button", "Send request", "Надіслати запит"),
    ("action.schedule-interview", "Schedule an interview", "Призначити співбесіду"),
    ("action.schedule-interview.button", "Schedule interview", "Призначити співбесіду"),
    ("action.record-interview", "Record the interview", "Записати результат співбесіди"),
    ("action.record-interview.button", "Record interview", "Зберегти результат"),
    ("action.recommend", "Recommend a decision", "Рекомендувати рішення"),
    ("action.recommend.button", "Recommend", "Надати рекомендацію"),
    (
        "action.recommend.hint_reject_only",
        "Before an interview you can only recommend rejection.",
        "До співбесіди можна рекомендувати лише відхилення.",
    ),
    ("action.approve", "Approve", "Схвалити"),
    ("action.approve.button", "Approve application", "Схвалити заяву"),
    ("action.reject", "Reject", "Відхилити"),
    ("action.reject.button", "Reject application", "Відхилити заяву"),
    ("action.return", "Return to review", "Повернути на розгляд"),
    ("action.return.button", "Return to review", "Повернути на розгляд"),
    ("action.authorise", "Issue the entry authorisation", "Видати дозвіл на в’їзд"),
    ("action.authorise.button", "Authorise entry", "Видати дозвіл"),
    ("action.revoke", "Revoke the entry authorisation", "Відкликати дозвіл на в’їзд"),
    ("action.revoke.button", "Revoke authorisation", "Відкликати дозвіл"),
    (
        "action.reissue",
        "Replace the entry authorisation (lost, stolen, new window)",
        "Замінити дозвіл на в’їзд (втрачено, викрадено, нове вікно)",
    ),
    ("action.reissue.button", "Reissue authorisation", "Видати новий дозвіл"),
    ("action.clear", "Clear: the hits do not apply", "Зняти позначки: збіги не підтвердилися"),
    ("action.clear.button", "Clear and send to the mission", "Зняти й передати до представництва"),
    ("action.confirm", "Confirm a hit", "Підтвердити збіг"),
    ("action.confirm.button", "Confirm and reject", "Підтвердити й відхилити"),
    (
        "action.confirm.hint",
        "Confirming a hit rejects the application.",
        "Підтвердження збігу означає відхилення заяви.",
    ),
    ("cmd.submit", "Application submitted", "Заяву подано"),
    ("cmd.begin_screening", "Screening started", "Почато автоматичну перевірку"),
    ("cmd.complete_screening", "Screening finished", "Автоматичну перевірку завершено"),
    ("cmd.clear_vetting", "Vetting cleared", "Позначки знято"),
    ("cmd.confirm_vetting", "Vetting hit confirmed", "Збіг підтверджено"),
    ("cmd.request_info", "Information requested", "Запитано інформацію"),
    ("cmd.answer_info", "Applicant answered", "Заявник відповів"),
    ("cmd.schedule_interview", "Interview scheduled", "Призначено співбесіду"),
    ("cmd.record_interview", "Interview recorded", "Записано результат співбесіди"),
    ("cmd.recommend", "Recommendation made", "Надано рекомендацію"),
    ("cmd.approve", "Approved", "Схвалено"),
    ("cmd.reject", "Rejected", "Відхилено"),
    ("cmd.return_to_review", "Returned to review", "Повернуто на розгляд"),
    ("cmd.authorise", "Entry authorised", "Видано дозвіл на в’їзд"),
    ("cmd.revoke", "Authorisation revoked", "Дозвіл відкликано"),
    ("cmd.reissue", "Authorisation reissued", "Дозвіл видано повторно"),
    ("cmd.withdraw", "Withdrawn by the applicant", "Відкликано заявником"),
    // Action form fields.
    ("input.message", "Question for the applicant", "Запитання до заявника"),
    (
        "input.message.hint",
        "The applicant sees this text on their status page.",
        "Заявник побачить цей текст на сторінці стану заяви.",
    ),
    ("input.at", "Date and time (UTC)", "Дата й час (UTC)"),
    ("input.place", "Place or video link", "Місце або посилання на відеозв’язок"),
    ("input.attended", "Did the applicant attend?", "Чи з’явився заявник?"),
    ("input.attended.hint", "If not, the case returns to review.", "Якщо ні, справа повертається на розгляд."),
    ("input.notes", "Notes", "Нотатки"),
    ("input.recommendation", "Recommendation", "Рекомендація"),
    ("input.recommendation.approve", "Approve", "Схвалити"),
    ("input.recommendation.reject", "Reject", "Відхилити"),
    ("input.reason", "Reason", "Причина"),
    ("input.note", "Note", "Примітка"),
    ("input.valid_from", "Entry allowed from", "В’їзд дозволено з"),
    ("input.valid_until", "Entry allowed until", "В’їзд дозволено до"),
    ("detail.point", "Crossing point", "Пункт пропуску"),
    ("detail.credential", "Entry authorisation", "Дозвіл на в’їзд"),
    ("detail.message", "Question", "Запитання"),
    ("detail.answer", "Answer", "Відповідь"),
    ("detail.at", "Time", "Час"),
    ("detail.place", "Place", "Місце"),
    ("detail.attended", "Attended", "Присутність"),
    ("detail.notes", "Notes", "Нотатки"),
    ("detail.recommendation", "Recommendation", "Рекомендація"),
    ("detail.reason", "Reason", "Причина"),
    ("detail.note", "Note", "Примітка"),
    ("detail.window", "Entry window", "Вікно в’їзду"),
    ("detail.flags", "Screening flags", "Позначки перевірки"),
    // Screening flags.
    ("flag.age", "Age outside the limits", "Вік поза межами"),
    ("flag.nationality", "Excluded nationality", "Виключене громадянство"),
    ("flag.criminal_record_declared", "Criminal record not declared clean", "Не заявлено про відсутність судимості"),
    ("flag.duplicate_passport", "Passport used in another application", "Паспорт є в іншій заяві"),
    ("flag.watchlist", "Possible watchlist match", "Можливий збіг зі списком спостереження"),
    (
        "flag.possible_duplicate",
        "Possibly the same person as another application",
        "Можливо, та сама особа, що й в іншій заяві",
    ),
    ("vetcase.title", "Screening review {}", "Перевірка безпеки {}"),
    (
        "vetcase.scope",
        "You see the screening data only: contact and passport details are not shown.",
        "Вам доступні лише дані для перевірки: контактні й паспортні дані не показано.",
    ),
    ("vetcase.flags", "Possible hits", "Можливі збіги"),
    (
        "vetcase.cleared",
        "The hold was cleared; the application went to its mission.",
        "Позначки знято; заяву передано до представництва.",
    ),
    ("vetcase.confirmed", "The hit was confirmed; the application is rejected.", "Збіг підтверджено; заяву відхилено."),
    // Errors.
    ("error.not_found.title", "Page not found", "Сторінку не знайдено"),
    (
        "error.not_found.text",
        "We could not find this page. If you typed the address, check it.",
        "Не вдалося знайти цю сторінку. Якщо ви вводили адресу вручну, перевірте її.",
    ),
    ("error.forbidden.title", "Not allowed", "Доступ заборонено"),
    ("error.forbidden.text", "Your role does not allow this.", "Ваша роль цього не дозволяє."),
    ("error.internal.title", "Something went wrong", "Щось пішло не так"),
    (
        "error.internal.text",
        "Something went wrong on our side and it has been logged. Please try again later.",
        "На нашому боці сталася помилка, її зафіксовано. Спробуйте, будь ласка, пізніше.",
    ),
    ("error.unavailable.title", "Please try again shortly", "Спробуйте трохи згодом"),
    (
        "error.unavailable.text",
        "The service cannot take this request right now. Please try again in a few minutes.",
        "Зараз сервіс не може обробити запит. Спробуйте, будь ласка, за кілька хвилин.",
    ),
    (
        "err.resent",
        "This form was already sent, with other answers. To apply again, start a new form from the start page; to see your application, use its reference and access code.",
        "Цю форму вже надіслано з іншими відповідями. Щоб подати нову заяву, почніть нову форму зі стартової сторінки; щоб переглянути свою заяву, скористайтеся її номером і кодом доступу.",
    ),
    ("error.gone.title", "Record destroyed", "Дані знищено"),
    (
        "error.gone.text",
        "The personal data of this record was destroyed under the retention rules and cannot be shown.",
        "Персональні дані цього запису знищено згідно з правилами зберігання; їх неможливо показати.",
    ),
    ("error.home", "Go to the start page", "Перейти на головну сторінку"),
    ("error.staff_home", "Go to the staff workspace", "Перейти до робочого простору"),
    ("err.validation", "Some fields need your attention.", "Деякі поля потребують уваги."),
    ("err.role", "Your role may not do this.", "Ваша роль не дозволяє цієї дії."),
    (
        "err.cross_site",
        "The request came from another website and was refused.",
        "Запит надійшов з іншого вебсайту, тому його відхилено.",
    ),
    (
        "err.four_eyes",
        "A different head of mission must decide on your own recommendation (four-eyes rule).",
        "Рішення щодо вашої власної рекомендації має ухвалити інший керівник представництва (принцип «чотирьох очей»).",
    ),
    (
        "err.illegal",
        "This action is not possible in the case’s current state.",
        "У поточному стані справи ця дія неможлива.",
    ),
    (
        "err.mismatch",
        "The recommendation is to reject; approving needs a new recommendation.",
        "Рекомендовано відхилити заяву; щоб схвалити її, потрібна нова рекомендація.",
    ),
    (
        "err.stale",
        "Someone else changed the case in the meantime. Check it and try again.",
        "Тим часом справу змінив хтось інший. Перегляньте її та спробуйте ще раз.",
    ),
    ("err.conflict", "The request conflicts with the case as it is now.", "Запит суперечить поточному стану справи."),
    ("err.bad_request", "The request could not be read.", "Не вдалося прочитати запит."),
    ("error.throttled.title", "Too many attempts", "Забагато спроб"),
    (
        "err.throttled",
        "Too many failed sign-ins for this account. Wait 15 minutes, or ask an administrator.",
        "Забагато невдалих спроб входу до цього облікового запису. Зачекайте 15 хвилин або зверніться до адміністратора.",
    ),
];

/// Ukrainian short names of the ISO 3166-1 countries (from the iso-codes translations),
/// sorted by code like [`COUNTRIES`].
const COUNTRIES_UK: &[(&str, &str)] = &[
    ("AD", "Андорра"),
    ("AE", "Об’єднані Арабські Емірати"),
    ("AF", "Афганістан"),
    ("AG", "Антигуа і Барбуда"),
    ("AI", "Ангілья"),
    ("AL", "Албанія"),
    ("AM", "Вірменія"),
    ("AO", "Ангола"),
    ("AQ", "Антарктида"),
    ("AR", "Аргентина"),
    ("AS", "Американське Самоа"),
    ("AT", "Австрія"),
    ("AU", "Австралія"),
    ("AW", "Аруба"),
    ("AX", "Аландські острови"),
    ("AZ", "Азербайджан"),
    ("BA", "Боснія і Герцеговина"),
    ("BB", "Барбадос"),
    ("BD", "Бангладеш"),
    ("BE", "Бельгія"),
    ("BF", "Буркіна-Фасо"),
    ("BG", "Болгарія"),
    ("BH", "Бахрейн"),
    ("BI", "Бурунді"),
    ("BJ", "Бенін"),
    ("BL", "Сен-Бартельмі"),
    ("BM", "Бермудські острови"),
    ("BN", "Бруней"),
    ("BO", "Болівія"),
    ("BQ", "Бонайре, Сінт-Естатіус і Саба"),
    ("BR", "Бразилія"),
    ("BS", "Багамські острови"),
    ("BT", "Бутан"),
    ("BV", "Острів Буве"),
    ("BW", "Ботсвана"),
    ("BY", "Білорусь"),
    ("BZ", "Беліз"),
    ("CA", "Канада"),
    ("CC", "Кокосові (Кілінг) острови"),
    ("CD", "Демократична Республіка Конго"),
    ("CF", "Центральноафриканська Республіка"),
    ("CG", "Конго"),
    ("CH", "Швейцарія"),
    ("CI", "Кот-д’Івуар"),
    ("CK", "Острови Кука"),
    ("CL", "Чилі"),
    ("CM", "Камерун"),
    ("CN", "Китай"),
    ("CO", "Колумбія"),
    ("CR", "Коста-Рика"),
    ("CU", "Куба"),
    ("CV", "Кабо-Верде"),
    ("CW", "Кюрасао"),
    ("CX", "Острів Різдва"),
    ("CY", "Кіпр"),
    ("CZ", "Чехія"),
    ("DE", "Німеччина"),
    ("DJ", "Джибуті"),
    ("DK", "Данія"),
    ("DM", "Домініка"),
    ("DO", "Домініканська Республіка"),
    ("DZ", "Алжир"),
    ("EC", "Еквадор"),
    ("EE", "Естонія"),
    ("EG", "Єгипет"),
    ("EH", "Західна Сахара"),
    ("ER", "Еритрея"),
    ("ES", "Іспанія"),
    ("ET", "Ефіопія"),
    ("FI", "Фінляндія"),
    ("FJ", "Фіджі"),
    ("FK", "Фолклендські (Мальвінські) острови"),
    ("FM", "Мікронезія"),
    ("FO", "Фарерські острови"),
    ("FR", "Франція"),
    ("GA", "Габон"),
    ("GB", "Велика Британія"),
    ("GD", "Гренада"),
    ("GE", "Грузія"),
    ("GF", "Французька Гвіана"),
    ("GG", "Гернсі"),
    ("GH", "Гана"),
    ("GI", "Гібралтар"),
    ("GL", "Ґренландія"),
    ("GM", "Гамбія"),
    ("GN", "Гвінея"),
    ("GP", "Гваделупа"),
    ("GQ", "Екваторіальна Гвінея"),
    ("GR", "Греція"),
    ("GS", "Південна Джорджія та Південні Сандвічеві острови"),
    ("GT", "Гватемала"),
    ("GU", "Гуам"),
    ("GW", "Гвінея-Бісау"),
    ("GY", "Гаяна"),
    ("HK", "Гонконг"),
    ("HM", "Острів Герд і острови Макдональд"),
    ("HN", "Гондурас"),
    ("HR", "Хорватія"),
    ("HT", "Гаїті"),
    ("HU", "Угорщина"),
    ("ID", "Індонезія"),
    ("IE", "Ірландія"),
    ("IL", "Ізраїль"),
    ("IM", "Острів Мен"),
    ("IN", "Індія"),
    ("IO", "Британська територія в Індійському океані"),
    ("IQ", "Ірак"),
    ("IR", "Іран"),
    ("IS", "Ісландія"),
    ("IT", "Італія"),
    ("JE", "Джерсі"),
    ("JM", "Ямайка"),
    ("JO", "Йорданія"),
    ("JP", "Японія"),
    ("KE", "Кенія"),
    ("KG", "Киргизстан"),
    ("KH", "Камбоджа"),
    ("KI", "Кірибаті"),
    ("KM", "Коморські острови"),
    ("KN", "Сент-Кіттс і Невіс"),
    ("KP", "Північна Корея"),
    ("KR", "Південна Корея"),
    ("KW", "Кувейт"),
    ("KY", "Кайманові острови"),
    ("KZ", "Казахстан"),
    ("LA", "Лаос"),
    ("LB", "Ліван"),
    ("LC", "Сент-Люсія"),
    ("LI", "Ліхтенштейн"),
    ("LK", "Шрі-Ланка"),
    ("LR", "Ліберія"),
    ("LS", "Лесото"),
    ("LT", "Литва"),
    ("LU", "Люксембург"),
    ("LV", "Латвія"),
    ("LY", "Лівія"),
    ("MA", "Марокко"),
    ("MC", "Монако"),
    ("MD", "Молдова"),
    ("ME", "Чорногорія"),
    ("MF", "Сен-Мартен (французька частина)"),
    ("MG", "Мадагаскар"),
    ("MH", "Маршаллові острови"),
    ("MK", "Північна Македонія"),
    ("ML", "Малі"),
    ("MM", "М’янма"),
    ("MN", "Монголія"),
    ("MO", "Макао"),
    ("MP", "Північні Маріанські Острови"),
    ("MQ", "Мартиніка"),
    ("MR", "Мавританія"),
    ("MS", "Монтсеррат"),
    ("MT", "Мальта"),
    ("MU", "Маврикій"),
    ("MV", "Мальдіви"),
    ("MW", "Малаві"),
    ("MX", "Мексика"),
    ("MY", "Малайзія"),
    ("MZ", "Мозамбік"),
    ("NA", "Намібія"),
    ("NC", "Нова Каледонія"),
    ("NE", "Нігер"),
    ("NF", "Острів Норфолк"),
    ("NG", "Нігерія"),
    ("NI", "Нікарагуа"),
    ("NL", "Нідерланди"),
    ("NO", "Норвегія"),
    ("NP", "Непал"),
    ("NR", "Науру"),
    ("NU", "Ніуе"),
    ("NZ", "Нова Зеландія"),
    ("OM", "Оман"),
    ("PA", "Панама"),
    ("PE", "Перу"),
    ("PF", "Французька Полінезія"),
    ("PG", "Папуа Нова Гвінея"),
    ("PH", "Філіппіни"),
    ("PK", "Пакистан"),
    ("PL", "Польща"),
    ("PM", "Сен-П’єр і Мікелон"),
    ("PN", "Піткерн"),
    ("PR", "Пуерто-Рико"),
    ("PS", "Палестина"),
    ("PT", "Португалія"),
    ("PW", "Палау"),
    ("PY", "Парагвай"),
    ("QA", "Катар"),
    ("RE", "Реюньйон"),
    ("RO", "Румунія"),
    ("RS", "Сербія"),
    ("RU", "Росія"),
    ("RW", "Руанда"),
    ("SA", "Саудівська Аравія"),
    ("SB", "Соломонові Острови"),
    ("SC", "Сейшели"),
    ("SD", "Судан"),
    ("SE", "Швеція"),
    ("SG", "Сінгапур"),
    ("SH", "Острови Святої Єлени, Вознесіння і Тристан-да-Кунья"),
    ("SI", "Словенія"),
    ("SJ", "Острови Свальбард і Ян Маєн"),
    ("SK", "Словаччина"),
    ("SL", "Сьєрра-Леоне"),
    ("SM", "Сан-Марино"),
    ("SN", "Сенегал"),
    ("SO", "Сомалі"),
    ("SR", "Суринам"),
    ("SS", "Південний Судан"),
    ("ST", "Сан-Томе і Принсіпі"),
    ("SV", "Сальвадор"),
    ("SX", "Сінт-Мартен (голландська частина)"),
    ("SY", "Сирія"),
    ("SZ", "Есватіні"),
    ("TC", "Острови Теркс і Кайкос"),
    ("TD", "Чад"),
    ("TF", "Французькі Південні Території"),
    ("TG", "Того"),
    ("TH", "Таїланд"),
    ("TJ", "Таджикистан"),
    ("TK", "Токелау"),
    ("TL", "Східний Тимор"),
    ("TM", "Туркменістан"),
    ("TN", "Туніс"),
    ("TO", "Тонга"),
    ("TR", "Туреччина"),
    ("TT", "Тринідад і Тобаго"),
    ("TV", "Тувалу"),
    ("TW", "Тайвань"),
    ("TZ", "Танзанія"),
    ("UA", "Україна"),
    ("UG", "Уганда"),
    ("UM", "Зовнішні малі острови США"),
    ("US", "Сполучені Штати Америки"),
    ("UY", "Уругвай"),
    ("UZ", "Узбекистан"),
    ("VA", "Ватикан"),
    ("VC", "Сент-Вінсент і Гренадини"),
    ("VE", "Венесуела"),
    ("VG", "Віргінські острови (Британія)"),
    ("VI", "Віргінські острови (США)"),
    ("VN", "В’єтнам"),
    ("VU", "Вануату"),
    ("WF", "Волліс і Футуна"),
    ("WS", "Самоа"),
    ("YE", "Ємен"),
    ("YT", "Майотта"),
    ("ZA", "Південно-Африканська Республіка"),
    ("ZM", "Замбія"),
    ("ZW", "Зімбабве"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn template_and_source_keys() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut keys = Vec::new();
        let mut files = Vec::new();
        for dir in ["templates", "src/pages"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                files.push(e.unwrap().path());
            }
        }
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for marker in ["t(\"", "tf(\""] {
                for (i, _) in text.match_indices(marker) {
                    let before = text[..i].chars().next_back().unwrap_or(' ');
                    if before.is_alphanumeric() || before == '_' {
                        continue;
                    }
                    let rest = &text[i + marker.len()..];
                    if let Some(end) = rest.find('"') {
                        keys.push(rest[..end].to_owned());
                    }
                }
            }
        }
        keys
    }

    #[test]
    fn catalogue_keys_are_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for (k, en, uk) in CATALOGUE {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!en.is_empty() && !uk.is_empty(), "{k}");
            assert_eq!(en.matches("{}").count(), uk.matches("{}").count(), "placeholders of {k}");
        }
    }

    #[test]
    fn every_key_used_in_templates_and_pages_exists() {
        let known: std::collections::HashSet<&str> = CATALOGUE.iter().map(|(k, _, _)| *k).collect();
        for key in template_and_source_keys() {
            if key.contains('{') || key.ends_with('.') || key.is_empty() {
                continue;
            }
            assert!(known.contains(key.as_str()), "missing interface text for key {key}");
        }
    }

    #[test]
    fn every_country_has_a_ukrainian_name() {
        assert_eq!(COUNTRIES.len(), COUNTRIES_UK.len());
        for ((a, _), (b, uk)) in COUNTRIES.iter().zip(COUNTRIES_UK) {
            assert_eq!(a, b);
            assert!(!uk.is_empty());
        }
        assert_eq!(Lang::Uk.country("UA"), "Україна");
        assert_eq!(Lang::En.country("GB"), "United Kingdom");
        let uk = Lang::Uk.countries();
        let pos = |n: &str| uk.iter().position(|(_, x)| *x == n).unwrap();
        assert!(pos("Гана") < pos("Ґренландія") && pos("Ґренландія") < pos("Данія"));
    }

    #[test]
    fn domain_messages_are_translated() {
        assert_eq!(Lang::Uk.field_message("is required"), "Це поле обов’язкове.");
        assert_eq!(Lang::En.field_message("must be at most 100 characters"), "Use at most 100 characters.");
        assert_eq!(Lang::Uk.field_message("something new"), "Something new");
    }

    #[test]
    fn accept_language_picks_the_best_match() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::from_accept_language(&h), Lang::En);
        h.insert(axum::http::header::ACCEPT_LANGUAGE, "de-DE,uk;q=0.8,en;q=0.5".parse().unwrap());
        assert_eq!(Lang::from_accept_language(&h), Lang::Uk);
        h.insert(axum::http::header::ACCEPT_LANGUAGE, "en-GB,uk;q=0.9".parse().unwrap());
        assert_eq!(Lang::from_accept_language(&h), Lang::En);
    }

    #[test]
    fn placeholders_fill_in_order() {
        assert_eq!(Lang::En.tf("queue.page_of", &["2", "5"]), "Page 2 of 5");
    }
}
