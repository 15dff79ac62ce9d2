//! Interface text in English and Ukrainian.
