//! Legal-aid rules without I/O: ids, the services a station offers, providers, the duty
//! roster ([`roster`]), the holiday calendar ([`calendar`]) and bookable slots ([`slots`]).

pub mod appointment;
pub mod calendar;
pub mod case;
pub mod roster;
pub mod slots;

use tongxin_platform::org::OrgError;
use uuid::Uuid;

/// A rule broken by the caller's input or rights.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input does not parse or breaks a rule; the message names the field.
    #[error("{field}: {reason}")]
    Invalid {
        /// Field name as the client knows it.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing (or the caller may not know it exists).
    #[error("{0}")]
    NotFound(String),
    /// The change collides with the current state (a taken slot, a cancelled appointment).
    #[error("{0}")]
    Conflict(String),
}

impl DomainError {
    /// An invalid `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl From<OrgError> for DomainError {
    fn from(err: OrgError) -> Self {
        Self::Invalid {
            field: err.field,
            reason: err.reason,
        }
    }
}

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[doc = concat!("The id of ", $what, ".")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl $name {
            #[doc = concat!("Parses the id of ", $what, " given in `field`.")]
            pub fn parse(text: &str, field: &'static str) -> Result<Self, DomainError> {
                Uuid::parse_str(text.trim())
                    .map(Self)
                    .map_err(|_| DomainError::invalid(field, concat!("not the id of ", $what)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(StationId, "a station");
id_type!(ProviderId, "a provider");
id_type!(RuleId, "a roster rule");
id_type!(AppointmentId, "an appointment");
id_type!(CaseId, "a case");

/// What a station offers and a provider gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LegalService {
    /// 法律咨询: answering legal questions.
    Consultation,
    /// 人民调解: mediating a dispute.
    Mediation,
    /// 法律援助指引: guiding someone to legal aid.
    LegalAidReferral,
    /// 法律援助承办: handling a legal-aid case.
    LegalAidCase,
    /// 公证: notarization.
    Notarization,
    /// 企业法治体检: a company's legal health check.
    HealthCheck,
    /// 法律需求调查: a needs survey.
    NeedsSurvey,
}

impl LegalService {
    /// Every service, in catalogue order.
    pub const ALL: [Self; 7] = [
        Self::Consultation,
        Self::Mediation,
        Self::LegalAidReferral,
        Self::LegalAidCase,
        Self::Notarization,
        Self::HealthCheck,
        Self::NeedsSurvey,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Consultation => "consultation",
            Self::Mediation => "mediation",
            Self::LegalAidReferral => "legal_aid_referral",
            Self::LegalAidCase => "legal_aid_case",
            Self::Notarization => "notarization",
            Self::HealthCheck => "health_check",
            Self::NeedsSurvey => "needs_survey",
        }
    }

    /// The service with stored `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Codes stored as a JSON list (services of a station or provider).
pub fn services_to_json(services: &[LegalService]) -> String {
    let codes: Vec<&str> = services.iter().map(|s| s.code()).collect();
    serde_json::to_string(&codes).unwrap_or_else(|_| "[]".to_owned())
}

/// The services of a stored JSON list; `None` when a code is unknown (a row that does not
/// parse is an error, never a silent default).
pub fn services_from_json(json: &str) -> Option<Vec<LegalService>> {
    let codes: Vec<String> = serde_json::from_str(json).ok()?;
    codes.iter().map(|c| LegalService::from_code(c)).collect()
}

/// A non-empty list without repeats, sorted.
pub fn service_set(
    services: Vec<LegalService>,
    field: &'static str,
) -> Result<Vec<LegalService>, DomainError> {
    let mut services = services;
    services.sort();
    services.dedup();
    if services.is_empty() {
        return Err(DomainError::invalid(field, "name at least one service"));
    }
    Ok(services)
}

/// What kind of professional a provider is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// 律师.
    Lawyer,
    /// 公证员.
    Notary,
    /// 人民调解员.
    Mediator,
    /// 法律援助工作者.
    LegalAidWorker,
}

impl ProviderKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::Lawyer,
        Self::Notary,
        Self::Mediator,
        Self::LegalAidWorker,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Lawyer => "lawyer",
            Self::Notary => "notary",
            Self::Mediator => "mediator",
            Self::LegalAidWorker => "legal_aid_worker",
        }
    }

    /// The kind with stored `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A trimmed text of 1 to `max` characters.
pub fn text(value: &str, field: &'static str, max: usize) -> Result<String, DomainError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A trimmed text of at most `max` characters, possibly empty.
pub fn optional_text(value: &str, field: &'static str, max: usize) -> Result<String, DomainError> {
    if value.trim().is_empty() {
        return Ok(String::new());
    }
    text(value, field, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_round_trip_and_unknown_codes_do_not_parse() {
        let json = services_to_json(&LegalService::ALL);
        assert_eq!(services_from_json(&json), Some(LegalService::ALL.to_vec()));
        assert_eq!(services_from_json(r#"["consultation","astrology"]"#), None);
        assert!(service_set(vec![], "services").is_err());
        assert_eq!(
            service_set(
                vec![
                    LegalService::Mediation,
                    LegalService::Consultation,
                    LegalService::Mediation
                ],
                "s"
            ),
            Ok(vec![LegalService::Consultation, LegalService::Mediation])
        );
    }
}
