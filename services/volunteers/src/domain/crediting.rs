//! Whether hours an upstream source reports (a completed order, an activity held) are
//! credited at once, wait for approval, or are refused.
//!
//! Two facts decide it. Did the volunteer serve, as far as anyone can know? Orders refuses
//! at its source hours for anyone not dispatched to a volunteer order, but cannot know a
//! team's members, so for a team order only the team's members served. And does the scope
//! that vouches for the record cover the volunteer's home unit? Hours recorded by staff of
//! one courtyard for a volunteer of another station are not theirs to approve: they wait,
//! pending, for staff whose scope covers the volunteer (`approveHours`). Without a vouching
//! scope (an event from before sources said who vouched, a recorder without a unit) the
//! credit waits too: an unknown voucher approves nothing.

use super::hours::EntryStatus;
use super::scope::{UnitPath, covers};

/// What the source can tell about the volunteer's part in the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Served as far as the source knows: on the order (orders checked the dispatch), a
    /// member of the dispatched team, or listed as having served at an activity.
    Served,
    /// Named on a team order without being a member of the team.
    NotInTheTeam,
}

/// What happens to one reported credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditDecision {
    /// Appended with this status.
    Credit(EntryStatus),
    /// Not appended at all.
    Refuse,
}

/// The decision for a volunteer living at `home`, with `part` in the work, recorded under
/// the scope `vouching` (the unit whose staff stand for the record, if known).
pub fn decide(part: Part, vouching: Option<&UnitPath>, home: &UnitPath) -> CreditDecision {
    match part {
        Part::NotInTheTeam => CreditDecision::Refuse,
        Part::Served => match vouching {
            Some(scope) if covers(scope, home) => CreditDecision::Credit(EntryStatus::Approved),
            _ => CreditDecision::Credit(EntryStatus::Pending),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> UnitPath {
        UnitPath::parse(s).unwrap()
    }

    const APPROVED: CreditDecision = CreditDecision::Credit(EntryStatus::Approved);
    const PENDING: CreditDecision = CreditDecision::Credit(EntryStatus::Pending);

    #[test]
    fn approved_only_when_the_vouching_scope_covers_the_home() {
        let home = p("/rc/changyuan/hongqiao/caijiaba");
        for scope in [
            "/rc",
            "/rc/changyuan",
            "/rc/changyuan/hongqiao",
            "/rc/changyuan/hongqiao/caijiaba",
        ] {
            assert_eq!(
                decide(Part::Served, Some(&p(scope)), &home),
                APPROVED,
                "{scope}"
            );
        }
        // A sibling courtyard, another station, a name sharing a prefix, another district,
        // a scope below the home: pending for staff in the volunteer's scope.
        for scope in [
            "/rc/changyuan/hongqiao/yehewan",
            "/rc/fenggao",
            "/rc/changyuan/hong",
            "/xx",
            "/rc/changyuan/hongqiao/caijiaba/greenhouse",
        ] {
            assert_eq!(
                decide(Part::Served, Some(&p(scope)), &home),
                PENDING,
                "{scope}"
            );
        }
        assert_eq!(decide(Part::Served, None, &home), PENDING);
    }

    #[test]
    fn someone_outside_the_team_is_refused_whoever_vouches() {
        let home = p("/rc/changyuan/hongqiao");
        for scope in [Some(p("/rc")), Some(p("/rc/changyuan/hongqiao")), None] {
            assert_eq!(
                decide(Part::NotInTheTeam, scope.as_ref(), &home),
                CreditDecision::Refuse
            );
        }
    }
}
