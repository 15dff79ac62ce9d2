//! The dictionary of known spellings: any text reads without panicking, and the spellings
//! of one group always meet.

use std::fmt::Write as _;

use legion_screening::variants::Variants;
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_text_reads_without_panicking(text in "\\PC{0,400}") {
        let _ = Variants::read(text.as_bytes(), |_| true);
    }

    /// Generated forms start with a letter no English number word starts with: "fifty" is
    /// read as a number, not a name, and belongs to no group.
    #[test]
    fn spellings_of_one_group_meet(
        groups in proptest::collection::vec(proptest::collection::vec("[bcdgjklmpqrvwx][aeiou][b-df-hj-np-tv-z]{3,6}", 2..5), 1..20),
    ) {
        let mut text = String::new();
        for (i, g) in groups.iter().enumerate() {
            writeln!(text, "{} => Q{i}", g.join(", ")).unwrap();
        }
        let (variants, skipped) = Variants::read(text.as_bytes(), |_| true).unwrap();
        prop_assert_eq!(skipped.malformed, 0);
        for g in &groups {
            let first = variants.groups(&g[0]);
            for other in &g[1..] {
                let theirs = variants.groups(other);
                prop_assert!(
                    g[0] == *other || first.iter().any(|x| theirs.contains(x)),
                    "{} and {} of one group do not meet", g[0], other
                );
            }
        }
    }
}
