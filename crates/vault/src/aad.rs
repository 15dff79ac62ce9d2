//! What a field ciphertext is bound to: table, column, row and key version.
//!
//! Every variable-length part is length-prefixed, so no two distinct contexts encode to the same bytes
//! (without prefixes, table `ab` + column `c` would collide with table `a` + column `bc`).

use crate::KeyVersion;
use crate::envelope::FORMAT_V1;

/// Distinguishes field AAD from every other byte string this crate authenticates or hashes.
const FIELD_DOMAIN: &[u8] = b"legion-field";

/// An encrypted column: a table and column name fixed at compile time.
///
/// Names are `&'static str` on purpose: they should be constants next to the SQL that uses them, never
/// text that arrived in a request.
///
/// ```
/// use legion_vault::Field;
/// const PASSPORT_NUMBER: Field = Field::new("applicant", "passport_number");
/// let context = PASSPORT_NUMBER.row(42_i64);
/// assert_eq!(context.column(), "passport_number");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Field {
    table: &'static str,
    column: &'static str,
}

impl Field {
    /// Names a column of a table.
    pub const fn new(table: &'static str, column: &'static str) -> Self {
        Self { table, column }
    }

    /// The context for this column in one row.
    pub fn row(self, row_id: impl Into<RowId>) -> AadContext {
        AadContext { field: self, row_id: row_id.into() }
    }

    /// The table name.
    pub fn table(&self) -> &'static str {
        self.table
    }

    /// The column name.
    pub fn column(&self) -> &'static str {
        self.column
    }
}

/// A row's primary key, in one of the shapes Legion uses.
///
/// The shape is part of the binding: the same row must always be named the same way (an integer id is not
/// interchangeable with its decimal text).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowId {
    /// An integer primary key.
    Int(i64),
    /// A UUID primary key, as its 16 bytes.
    Uuid([u8; 16]),
    /// A text primary key.
    Text(String),
}

impl From<i64> for RowId {
    fn from(id: i64) -> Self {
        Self::Int(id)
    }
}

impl From<[u8; 16]> for RowId {
    fn from(id: [u8; 16]) -> Self {
        Self::Uuid(id)
    }
}

impl From<&str> for RowId {
    fn from(id: &str) -> Self {
        Self::Text(id.to_owned())
    }
}

impl From<String> for RowId {
    fn from(id: String) -> Self {
        Self::Text(id)
    }
}

/// Where a field ciphertext lives: it opens only in the same table, column and row it was sealed for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AadContext {
    field: Field,
    row_id: RowId,
}

impl AadContext {
    /// The context for `table`.`column` in row `row_id`; the same as `Field::new(table, column).row(row_id)`.
    pub fn new(table: &'static str, column: &'static str, row_id: impl Into<RowId>) -> Self {
        Field::new(table, column).row(row_id)
    }

    /// The table name.
    pub fn table(&self) -> &'static str {
        self.field.table
    }

    /// The column name.
    pub fn column(&self) -> &'static str {
        self.field.column
    }

    /// The row.
    pub fn row_id(&self) -> &RowId {
        &self.row_id
    }

    /// The associated data for a ciphertext in this context under `key_version`.
    ///
    /// `"legion-field" ‖ format ‖ key version (u32 BE) ‖ lp(table) ‖ lp(column) ‖ row tag ‖ row bytes`, where
    /// `lp(x)` is `len(x)` as u32 BE followed by `x`, and the row tag is 1 (i64 BE), 2 (16 UUID bytes) or
    /// 3 (`lp(text)`).
    pub(crate) fn associated_data(&self, key_version: KeyVersion) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.field.table.len() + self.field.column.len());
        out.extend_from_slice(FIELD_DOMAIN);
        out.push(FORMAT_V1);
        out.extend_from_slice(&key_version.to_be_bytes());
        put_prefixed(&mut out, self.field.table.as_bytes());
        put_prefixed(&mut out, self.field.column.as_bytes());
        match &self.row_id {
            RowId::Int(id) => {
                out.push(1);
                out.extend_from_slice(&id.to_be_bytes());
            }
            RowId::Uuid(id) => {
                out.push(2);
                out.extend_from_slice(id);
            }
            RowId::Text(id) => {
                out.push(3);
                put_prefixed(&mut out, id.as_bytes());
            }
        }
        out
    }
}

/// Appends `bytes` preceded by its length as a big-endian u32.
pub(crate) fn put_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    // Names, ids and mission slugs are short; a 4 GiB identifier would be a bug worth stopping on.
    let len = u32::try_from(bytes.len()).expect("identifier longer than 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_bytes_between_table_and_column_changes_the_aad() {
        let a = AadContext::new("ab", "c", 1_i64).associated_data(KeyVersion(1));
        let b = AadContext::new("a", "bc", 1_i64).associated_data(KeyVersion(1));
        assert_ne!(a, b);
    }

    #[test]
    fn row_id_shapes_do_not_collide() {
        let v = KeyVersion(1);
        let int = AadContext::new("t", "c", 0x3030_3030_3030_3030_i64).associated_data(v);
        let text = AadContext::new("t", "c", "00000000").associated_data(v);
        let uuid = AadContext::new("t", "c", [0x30; 16]).associated_data(v);
        assert_ne!(int, text);
        assert_ne!(int, uuid);
        assert_ne!(text, uuid);
    }

    #[test]
    fn key_version_is_bound() {
        let ctx = Field::new("t", "c").row("r");
        assert_ne!(ctx.associated_data(KeyVersion(1)), ctx.associated_data(KeyVersion(2)));
    }

    #[test]
    fn encoding_is_stable() {
        let aad = AadContext::new("t", "cc", 5_i64).associated_data(KeyVersion(2));
        let mut want = b"legion-field\x01\0\0\0\x02".to_vec();
        want.extend_from_slice(b"\0\0\0\x01t\0\0\0\x02cc\x01\0\0\0\0\0\0\0\x05");
        assert_eq!(aad, want);
    }
}
