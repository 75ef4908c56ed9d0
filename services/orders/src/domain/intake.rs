//! How an order came in (issue 17): placed by a citizen in the mini-program, or filed by
//! staff on behalf of a resident whose need was heard in person (at a visit 走访, at a
//! courtyard briefing 小院发布会, on the phone), with the resident's recorded consent and a
//! link back to where it was heard. And the reply (结果反馈) the resident gets when the order
//! is completed.
//!
//! Rules, all here so that a front door cannot skip one:
//! - an order filed on behalf names a channel other than the mini-program, and the link its
//!   channel asks for: a visit for `visit`, an activity for `briefing`, at most one of them
//!   for `phone` (a call can follow up a visit or a briefing, or stand alone);
//! - the resident's consent is recorded (who recorded it, verbal or written, when) and no
//!   later than now: without it nothing is stored;
//! - the reply's outcome text is at most 1000 characters, and required when the order was
//!   filed on behalf (the resident has no app to watch the order: the reply is all they get).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{DomainError, text};

/// The longest outcome text of a reply.
pub const MAX_OUTCOME_CHARS: usize = 1000;

/// How far ahead of the server's clock a consent time may be (a phone's clock runs fast).
const CLOCK_SKEW_MINUTES: i64 = 5;

/// Where a need was heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// At a visit (走访) by staff or volunteers.
    Visit,
    /// At a courtyard briefing (小院发布会): a held activity of the policy theme.
    Briefing,
    /// On the phone.
    Phone,
    /// Placed by the citizen in the mini-program (`placeOrder`); every order from before.
    MiniProgram,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 4] = [Self::Visit, Self::Briefing, Self::Phone, Self::MiniProgram];

    /// The stored (and event) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visit => "visit",
            Self::Briefing => "briefing",
            Self::Phone => "phone",
            Self::MiniProgram => "mini_program",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| DomainError::invalid("channel", "unknown channel"))
    }
}

/// The link back to where a need was heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// None (the mini-program, or a phone call on its own).
    None,
    /// A visit recorded in the venues service.
    Visit(Uuid),
    /// An activity in the venues service.
    Activity(Uuid),
}

impl Source {
    /// The visit, if linked to one.
    pub fn visit(self) -> Option<Uuid> {
        match self {
            Self::Visit(id) => Some(id),
            _ => None,
        }
    }

    /// The activity, if linked to one.
    pub fn activity(self) -> Option<Uuid> {
        match self {
            Self::Activity(id) => Some(id),
            _ => None,
        }
    }
}

/// The channel and link of an order filed on behalf, checked against each other.
pub fn on_behalf_source(
    channel: Channel,
    visit: Option<Uuid>,
    activity: Option<Uuid>,
) -> Result<Source, DomainError> {
    match (channel, visit, activity) {
        (Channel::MiniProgram, _, _) => Err(DomainError::invalid(
            "channel",
            "an order filed on behalf is heard at a visit, a briefing or on the phone; residents place mini-program orders themselves",
        )),
        (_, Some(_), Some(_)) => Err(DomainError::invalid(
            "source",
            "link a visit or an activity, not both",
        )),
        (Channel::Visit, Some(v), None) => Ok(Source::Visit(v)),
        (Channel::Visit, None, _) => Err(DomainError::invalid(
            "visitId",
            "a need heard at a visit links the visit",
        )),
        (Channel::Briefing, None, Some(a)) => Ok(Source::Activity(a)),
        (Channel::Briefing, _, None) => Err(DomainError::invalid(
            "activityId",
            "a need heard at a briefing links the activity (a held activity of the policy theme)",
        )),
        (Channel::Phone, Some(v), None) => Ok(Source::Visit(v)),
        (Channel::Phone, None, Some(a)) => Ok(Source::Activity(a)),
        (Channel::Phone, None, None) => Ok(Source::None),
    }
}

/// How the resident gave consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentMethod {
    /// Said so, in front of the person recording it.
    Verbal,
    /// Signed.
    Written,
}

impl ConsentMethod {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verbal => "verbal",
            Self::Written => "written",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        match text {
            "verbal" => Ok(Self::Verbal),
            "written" => Ok(Self::Written),
            _ => Err(DomainError::invalid(
                "consent.method",
                "must be verbal or written",
            )),
        }
    }
}

/// The resident's recorded consent to have their need, name and phone kept and passed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Who recorded it (the staff member's name or account, as they gave it).
    pub recorded_by: String,
    /// Verbal or written.
    pub method: ConsentMethod,
    /// When it was given.
    pub recorded_at: DateTime<Utc>,
}

impl Consent {
    /// A consent as a client gave it: who recorded it (1 to 100 characters), how, and when
    /// (not after `now`, give or take a few minutes of clock skew).
    pub fn parse(
        recorded_by: &str,
        method: ConsentMethod,
        recorded_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        let recorded_by = text("consent.recordedBy", recorded_by, true, 100)?;
        if recorded_at > now + Duration::minutes(CLOCK_SKEW_MINUTES) {
            return Err(DomainError::invalid(
                "consent.recordedAt",
                "consent cannot be recorded in the future",
            ));
        }
        Ok(Self {
            recorded_by,
            method,
            recorded_at,
        })
    }
}

/// The resident an order was filed for. Their phone is the order's contact phone (sealed
/// like a citizen's); their name is sealed here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resident {
    /// AES-GCM ciphertext of the resident's name.
    pub name_cipher: Vec<u8>,
    /// Their consent.
    pub consent: Consent,
}

/// How an order came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// Where the need was heard.
    pub channel: Channel,
    /// The link back.
    pub source: Source,
    /// The resident, when filed on behalf.
    pub resident: Option<Resident>,
    /// The staff member who filed it, when filed on behalf.
    pub filed_by: Option<String>,
}

impl Intake {
    /// A citizen's own order from the mini-program.
    pub fn mini_program() -> Self {
        Self {
            channel: Channel::MiniProgram,
            source: Source::None,
            resident: None,
            filed_by: None,
        }
    }

    /// Whether the order was filed on behalf of a resident.
    pub fn on_behalf(&self) -> bool {
        self.resident.is_some()
    }
}

/// A resident's name: 1 to 50 characters.
pub fn resident_name(input: &str) -> Result<String, DomainError> {
    text("resident.name", input, true, 50)
}

/// The outcome text of the reply when completing an order: at most
/// [`MAX_OUTCOME_CHARS`] characters, required for an order filed on behalf; `None` when
/// left empty (only allowed otherwise).
pub fn outcome(input: &str, on_behalf: bool) -> Result<Option<String>, DomainError> {
    let t = text("outcome", input, on_behalf, MAX_OUTCOME_CHARS)?;
    Ok(Some(t).filter(|t| !t.is_empty()))
}

/// Names are masked the same way in every service.
pub use tongxin_platform::pii::mask_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_channel_links_what_it_asks_for() {
        let (visit, activity) = (Uuid::now_v7(), Uuid::now_v7());
        let (v, a) = (Some(visit), Some(activity));
        assert!(on_behalf_source(Channel::MiniProgram, None, None).is_err());
        assert!(on_behalf_source(Channel::Briefing, None, None).is_err());
        assert!(on_behalf_source(Channel::Briefing, v, None).is_err());
        assert!(on_behalf_source(Channel::Visit, None, a).is_err());
        assert!(on_behalf_source(Channel::Visit, None, None).is_err());
        assert!(on_behalf_source(Channel::Phone, v, a).is_err());
        assert_eq!(
            on_behalf_source(Channel::Briefing, None, a),
            Ok(Source::Activity(activity))
        );
        assert_eq!(
            on_behalf_source(Channel::Visit, v, None),
            Ok(Source::Visit(visit))
        );
        assert_eq!(
            on_behalf_source(Channel::Phone, None, None),
            Ok(Source::None)
        );
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Ok(c));
        }
    }

    #[test]
    fn consent_is_recorded_and_not_in_the_future() {
        let now = Utc::now();
        assert!(Consent::parse("", ConsentMethod::Verbal, now, now).is_err());
        assert!(
            Consent::parse(
                "王站长",
                ConsentMethod::Written,
                now + Duration::hours(1),
                now
            )
            .is_err()
        );
        let c = Consent::parse(" 王站长 ", ConsentMethod::Written, now, now).expect("consent");
        assert_eq!(c.recorded_by, "王站长");
        assert_eq!(ConsentMethod::parse("written"), Ok(ConsentMethod::Written));
        assert!(ConsentMethod::parse("nodded").is_err());
    }

    #[test]
    fn the_outcome_is_bounded_and_required_on_behalf() {
        assert!(outcome("", true).is_err());
        assert_eq!(outcome("", false), Ok(None));
        assert!(outcome(&"字".repeat(1001), false).is_err());
        assert_eq!(
            outcome(&"字".repeat(1000), true).map(|o| o.map(|t| t.chars().count())),
            Ok(Some(1000))
        );
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("李"), "*");
    }
}
