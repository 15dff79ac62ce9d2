//! Form controls as data: each page builds a list of [`Field`]s (label, value, hint,
//! error) and one template (`field.html`) renders them all the same accessible way.

use legion_domain::FieldErrors;

use crate::i18n::Lang;

/// The kind of control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Email,
    Tel,
    Date,
    Month,
    DateTime,
    Password,
    TextArea,
    Select,
    Checkbox,
    Radios,
    /// A file chooser (never pre-filled).
    File,
}

/// One option of a select or radio group.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub id: String,
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One form control with everything needed to render it.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub id: String,
    pub name: String,
    pub label: String,
    /// The label as the error summary shows it (with its group, where that matters).
    pub summary_label: String,
    pub kind: Kind,
    pub value: String,
    pub checked: bool,
    pub required: bool,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub options: Vec<Choice>,
    pub autocomplete: &'static str,
    /// CSS width class for text inputs.
    pub width: &'static str,
}

/// A line of the error summary: which control, what is wrong.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub target: String,
    pub label: String,
    pub message: String,
}

/// Turns a field name such as `military_experience[1].from` into an element id.
pub(crate) fn field_id(prefix: &str, name: &str) -> String {
    let mut id = String::from(prefix);
    let mut last_dash = id.ends_with('-');
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            id.push(c);
            last_dash = false;
        } else if !last_dash {
            id.push('-');
            last_dash = true;
        }
    }
    while id.ends_with('-') {
        id.pop();
    }
    id
}

impl Field {
    /// A control named `name`, with the id `prefix` + the name.
    pub fn new(prefix: &str, name: &str, label: impl Into<String>, kind: Kind) -> Self {
        let label = label.into();
        Self {
            id: field_id(prefix, name),
            name: name.to_owned(),
            summary_label: label.clone(),
            label,
            kind,
            value: String::new(),
            checked: false,
            required: false,
            hint: None,
            error: None,
            options: Vec::new(),
            autocomplete: "",
            width: "",
        }
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn autocomplete(mut self, a: &'static str) -> Self {
        self.autocomplete = a;
        self
    }

    pub fn width(mut self, w: &'static str) -> Self {
        self.width = w;
        self
    }

    pub fn summary_label(mut self, s: String) -> Self {
        self.summary_label = s;
        self
    }

    /// Fills the value (and for checkboxes and choices, the selection) from `values`.
    pub fn fill(mut self, values: &FormValues) -> Self {
        let v = values.get(&self.name);
        match self.kind {
            Kind::Checkbox => self.checked = values.has(&self.name),
            Kind::Select | Kind::Radios => {
                for o in &mut self.options {
                    o.selected = o.value == v;
                }
                self.value = v.to_owned();
            }
            Kind::Password | Kind::File => {}
            _ => self.value = v.to_owned(),
        }
        self
    }

    /// Sets the options; the one equal to the current value is selected.
    pub fn options(mut self, options: impl IntoIterator<Item = (String, String)>) -> Self {
        let id = self.id.clone();
        self.options = options
            .into_iter()
            .map(|(value, label)| Choice {
                id: field_id(&format!("{id}-"), &value),
                selected: !value.is_empty() && value == self.value,
                value,
                label,
            })
            .collect();
        self
    }

    /// A select of every country, with a "Choose…" first option.
    pub fn countries(self, lang: Lang) -> Self {
        let mut options = vec![(String::new(), lang.t("form.choose").to_owned())];
        options.extend(lang.countries().iter().map(|(c, n)| ((*c).to_owned(), (*n).to_owned())));
        self.options(options)
    }

    /// Takes this field's message out of `errors` (translated), if there is one.
    pub fn error_from(mut self, errors: &FieldErrors, lang: Lang) -> Self {
        self.error = errors.get(&self.name).map(|m| lang.field_message(m));
        self
    }

    /// The `type` of an `<input>`.
    pub fn input_type(&self) -> &'static str {
        match self.kind {
            Kind::Email => "email",
            Kind::Tel => "tel",
            Kind::Date => "date",
            Kind::Month => "month",
            Kind::DateTime => "datetime-local",
            Kind::Password => "password",
            Kind::Checkbox => "checkbox",
            Kind::Radios => "radio",
            Kind::File => "file",
            Kind::Text | Kind::TextArea | Kind::Select => "text",
        }
    }

    pub fn is_select(&self) -> bool {
        self.kind == Kind::Select
    }

    pub fn is_checkbox(&self) -> bool {
        self.kind == Kind::Checkbox
    }

    pub fn is_textarea(&self) -> bool {
        self.kind == Kind::TextArea
    }

    pub fn is_radios(&self) -> bool {
        self.kind == Kind::Radios
    }

    pub fn is_file(&self) -> bool {
        self.kind == Kind::File
    }

    /// Ids of the hint and error, for `aria-describedby`.
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }

    /// Where the error summary's link for this field points.
    pub fn target(&self) -> String {
        match (self.kind, self.options.first()) {
            (Kind::Radios, Some(o)) => o.id.clone(),
            _ => self.id.clone(),
        }
    }

    /// The summary line for this field, if it has an error.
    pub fn problem(&self) -> Option<Problem> {
        self.error.as_ref().map(|m| Problem {
            target: self.target(),
            label: self.summary_label.clone(),
            message: m.clone(),
        })
    }
}

/// Submitted form (or query) values, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct FormValues(pub Vec<(String, String)>);

impl FormValues {
    /// The first value for `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// The first value for `name`, trimmed; `None` when empty.
    pub fn text(&self, name: &str) -> Option<&str> {
        Some(self.get(name).trim()).filter(|s| !s.is_empty())
    }

    /// Whether `name` was sent at all (a ticked checkbox).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe() {
        assert_eq!(field_id("f-", "military_experience[1].from"), "f-military_experience-1-from");
        assert_eq!(field_id("f-", "travel.departure_city"), "f-travel-departure_city");
        assert_eq!(field_id("approve-", "note"), "approve-note");
    }
}
