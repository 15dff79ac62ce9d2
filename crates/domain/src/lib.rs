//! Legion's domain: identifiers, validated input, the case lifecycle, roles and permissions, policy and routing. Pure: no I/O, time is a parameter.

pub mod application;
pub mod clock;
pub mod countries;
pub mod documents;
pub mod ids;
pub mod lifecycle;
pub mod policy;
pub mod roles;
pub mod routing;
pub mod screening;
pub mod validation;

pub use application::{ApplicantDetails, MilitaryService, Travel};
pub use clock::{Clock, FixedClock, SystemClock};
pub use documents::{DocumentKind, DocumentType};
pub use ids::{ApplicationId, CountryCode, DocumentId, MissionId, PassportNumber, Reference, StaffId, Username};
pub use lifecycle::{Actor, CaseStatus, Command, DomainError, Recommendation, StaffActor, State, Transition};
pub use policy::{Policy, PolicySet};
pub use roles::{Permission, Role};
pub use routing::{Mission, route};
pub use validation::FieldErrors;
