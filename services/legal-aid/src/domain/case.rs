//! Cases: the matters a consultation opens (a mediation, a legal-aid case, a notarization,
//! a legal health check), with their status flow. Pure rules; the store keeps the version
//! check that makes one of two concurrent moves lose.

use super::DomainError;

/// What kind of matter a case is (from the consultation outcome that opened it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseKind {
    /// 人民调解.
    Mediation,
    /// 法律援助承办.
    LegalAidCase,
    /// 公证.
    Notarization,
    /// 企业法治体检.
    HealthCheck,
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseStatus {
    /// Opened by the consultation; nobody has worked on it yet.
    Opened,
    /// Being worked on.
    InProgress,
    /// Closed with a result.
    Closed,
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseResult {
    /// A mediation ended with the parties agreeing.
    Agreement,
    /// A mediation ended without agreement.
    NoAgreement,
    /// Any other matter was done.
    Completed,
    /// The applicant withdrew (any kind).
    Withdrawn,
}

macro_rules! codes {
    ($ty:ident { $($v:ident => $c:literal),* $(,)? }) => {
        impl $ty {
            /// Every value.
            pub const ALL: &'static [Self] = &[$(Self::$v),*];

            /// The stored code.
            pub fn code(self) -> &'static str {
                match self { $(Self::$v => $c),* }
            }

            /// The value with stored `code`.
            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }
        }
    };
}

codes!(CaseKind { Mediation => "mediation", LegalAidCase => "legal_aid_case",
    Notarization => "notarization", HealthCheck => "health_check" });
codes!(CaseStatus { Opened => "opened", InProgress => "in_progress", Closed => "closed" });
codes!(CaseResult { Agreement => "agreement", NoAgreement => "no_agreement",
    Completed => "completed", Withdrawn => "withdrawn" });

impl CaseStatus {
    /// The status after moving to `to`, or why not: forward only, never out of closed;
    /// closing goes through [`close`] (it needs a result).
    pub fn move_to(self, to: CaseStatus) -> Result<CaseStatus, DomainError> {
        match (self, to) {
            (Self::Opened, Self::InProgress) => Ok(to),
            (_, Self::Closed) => Err(DomainError::invalid(
                "status",
                "a case is closed with closeCase and a result",
            )),
            (from, to) => Err(DomainError::Conflict(format!(
                "a case that is {} cannot move to {}",
                from.code().replace('_', " "),
                to.code().replace('_', " ")
            ))),
        }
    }
}

/// Checks that `result` may close a case of `kind` standing at `status`.
pub fn close(kind: CaseKind, status: CaseStatus, result: CaseResult) -> Result<(), DomainError> {
    if status == CaseStatus::Closed {
        return Err(DomainError::Conflict(
            "the case is already closed".to_owned(),
        ));
    }
    let fits = match result {
        // Only a mediation ends in (no) agreement; every other matter is completed.
        CaseResult::Agreement | CaseResult::NoAgreement => kind == CaseKind::Mediation,
        CaseResult::Completed => kind != CaseKind::Mediation,
        CaseResult::Withdrawn => true,
    };
    if fits {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "result",
            format!("a {} case cannot close as {}", kind.code(), result.code()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_flow_goes_forward_only() {
        assert_eq!(
            CaseStatus::Opened.move_to(CaseStatus::InProgress),
            Ok(CaseStatus::InProgress)
        );
        assert!(
            CaseStatus::InProgress
                .move_to(CaseStatus::InProgress)
                .is_err()
        );
        assert!(CaseStatus::InProgress.move_to(CaseStatus::Opened).is_err());
        assert!(CaseStatus::Opened.move_to(CaseStatus::Closed).is_err());
        assert!(
            close(
                CaseKind::Mediation,
                CaseStatus::Opened,
                CaseResult::Agreement
            )
            .is_ok()
        );
        assert!(
            close(
                CaseKind::Mediation,
                CaseStatus::InProgress,
                CaseResult::Completed
            )
            .is_err()
        );
        assert!(
            close(
                CaseKind::Notarization,
                CaseStatus::InProgress,
                CaseResult::NoAgreement
            )
            .is_err()
        );
        assert!(
            close(
                CaseKind::Notarization,
                CaseStatus::InProgress,
                CaseResult::Withdrawn
            )
            .is_ok()
        );
        assert!(
            close(
                CaseKind::LegalAidCase,
                CaseStatus::Closed,
                CaseResult::Completed
            )
            .is_err()
        );
        for c in CaseResult::ALL {
            assert_eq!(CaseResult::from_code(c.code()), Some(*c));
        }
    }
}
