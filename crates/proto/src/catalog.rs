//! Every event subject Tongxin publishes, the protobuf message its body holds, and when it
//! fires: the one list that the relay's `content-type` header, `tongxin events tail` and
//! docs/events.md are checked against.
//!
//! An outside consumer never needs this table: each message names its type in its headers
//! (`content-type: application/protobuf; proto=<full name>`, and `ce-dataschema`), and the
//! types are in `proto/`. The table exists so that the publishing side cannot forget one.

/// One kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventType {
    /// The NATS subject, `tongxin.<domain>.<event>`.
    pub subject: &'static str,
    /// The full protobuf name of the body, e.g. `tongxin.events.v1.OrderChanged`.
    pub message: &'static str,
    /// When it fires, in one line.
    pub fires: &'static str,
}

const fn event(subject: &'static str, message: &'static str, fires: &'static str) -> EventType {
    EventType {
        subject,
        message,
        fires,
    }
}

const ORDER_CHANGED: &str = "tongxin.events.v1.OrderChanged";
const APPOINTMENT_CHANGED: &str = "tongxin.events.v1.AppointmentChanged";
const CASE_CHANGED: &str = "tongxin.events.v1.CaseChanged";
const CONSULTATION_LOGGED: &str = "tongxin.events.v1.ConsultationLogged";

/// Every event, grouped by the publishing service.
pub const EVENTS: &[EventType] = &[
    // venues
    event(
        "tongxin.venues.unit_created",
        "tongxin.events.v1.UnitCreated",
        "a unit joined the org tree",
    ),
    event(
        "tongxin.venues.unit_updated",
        "tongxin.events.v1.UnitUpdated",
        "a unit was renamed, or moved with its subtree",
    ),
    event(
        "tongxin.venues.activity_held",
        "tongxin.events.v1.ActivityHeld",
        "staff recorded that an activity took place, with attendance and hours served",
    ),
    event(
        "tongxin.venues.visit_recorded",
        "tongxin.events.v1.VisitRecorded",
        "staff or a volunteer recorded a visit (走访) to a courtyard or a household area",
    ),
    event(
        "tongxin.venues.cadence_missed",
        "tongxin.events.v1.CadenceMissed",
        "a week or month ended and a unit had not met its district's cadence rule",
    ),
    // volunteers
    event(
        "tongxin.volunteers.volunteer_registered",
        "tongxin.events.v1.VolunteerRegistered",
        "a volunteer joined the registry (self-registered, by staff, or imported)",
    ),
    event(
        "tongxin.volunteers.volunteer_updated",
        "tongxin.events.v1.VolunteerUpdated",
        "a volunteer's record was corrected; names the fields, never their values",
    ),
    event(
        "tongxin.volunteers.volunteer_status_changed",
        "tongxin.events.v1.VolunteerStatusChanged",
        "a volunteer became active, paused, or left",
    ),
    event(
        "tongxin.volunteers.volunteer_erased",
        "tongxin.events.v1.VolunteerErased",
        "on the volunteer's request, staff erased the personal data of a record",
    ),
    event(
        "tongxin.volunteers.account_invite_issued",
        "tongxin.events.v1.AccountInviteIssued",
        "staff invited a volunteer to link an account; carries the one-time code for the delivery channel",
    ),
    event(
        "tongxin.volunteers.account_linked",
        "tongxin.events.v1.AccountLinked",
        "an account was linked to a volunteer record (self-registration, invite or claim)",
    ),
    event(
        "tongxin.volunteers.account_unlinked",
        "tongxin.events.v1.AccountUnlinked",
        "staff removed the link between a volunteer record and its account",
    ),
    event(
        "tongxin.volunteers.star_reached",
        "tongxin.events.v1.StarReached",
        "a volunteer's approved hours reached a new star level",
    ),
    event(
        "tongxin.volunteers.team_created",
        "tongxin.events.v1.TeamCreated",
        "a team was set up",
    ),
    event(
        "tongxin.volunteers.team_member_added",
        "tongxin.events.v1.TeamMembershipChanged",
        "a volunteer joined a team",
    ),
    event(
        "tongxin.volunteers.team_member_removed",
        "tongxin.events.v1.TeamMembershipChanged",
        "a volunteer left a team",
    ),
    event(
        "tongxin.volunteers.team_leader_changed",
        "tongxin.events.v1.TeamMembershipChanged",
        "a team's leader changed",
    ),
    // orders: every move of an order, with the order as it stands after the move
    event(
        "tongxin.orders.order_placed",
        ORDER_CHANGED,
        "a citizen placed an order; it is held by the unit it was routed to",
    ),
    event(
        "tongxin.orders.order_received",
        ORDER_CHANGED,
        "the holding unit took the order",
    ),
    event(
        "tongxin.orders.order_escalated",
        ORDER_CHANGED,
        "the order passed up a level (by staff, or by the scheduler when a deadline passed)",
    ),
    event(
        "tongxin.orders.order_dispatched",
        ORDER_CHANGED,
        "staff dispatched volunteers or a team",
    ),
    event(
        "tongxin.orders.order_accepted",
        ORDER_CHANGED,
        "a dispatched volunteer (or staff for a team) accepted",
    ),
    event(
        "tongxin.orders.order_declined",
        ORDER_CHANGED,
        "a dispatched volunteer declined; the order is back with its unit",
    ),
    event(
        "tongxin.orders.order_started",
        ORDER_CHANGED,
        "the service began",
    ),
    event(
        "tongxin.orders.order_completed",
        ORDER_CHANGED,
        "the service was done; carries each volunteer's hours",
    ),
    event(
        "tongxin.orders.order_rated",
        ORDER_CHANGED,
        "the citizen rated the result (1 to 5; the comment stays in the service)",
    ),
    event(
        "tongxin.orders.order_cancelled",
        ORDER_CHANGED,
        "the citizen or staff cancelled before acceptance",
    ),
    event(
        "tongxin.orders.order_reminder",
        ORDER_CHANGED,
        "half the holding level's time to receive passed (once per level)",
    ),
    event(
        "tongxin.orders.order_overdue_alert",
        ORDER_CHANGED,
        "the district center did not receive the order in time (once)",
    ),
    event(
        "tongxin.orders.evaluation_published",
        "tongxin.events.v1.EvaluationPublished",
        "center staff published a quarter's evaluation, or a correction of it, with the points it awards",
    ),
    event(
        "tongxin.orders.reply_due",
        "tongxin.events.v1.ReplyDue",
        "an order filed on behalf of a resident was completed; the resident is owed the reply (ids only: the phone and outcome are read over gRPC)",
    ),
    // legal-aid: every change of an appointment, with the appointment as it stands after it
    event(
        "tongxin.legalaid.appointment_booked",
        APPOINTMENT_CHANGED,
        "a citizen or company contact booked a slot (or staff for them); the provider is assigned",
    ),
    event(
        "tongxin.legalaid.appointment_rescheduled",
        APPOINTMENT_CHANGED,
        "the appointment moved to another slot; the old one is free again",
    ),
    event(
        "tongxin.legalaid.appointment_cancelled",
        APPOINTMENT_CHANGED,
        "the citizen or staff cancelled the appointment; its slot is free again",
    ),
    event(
        "tongxin.legalaid.appointment_checked_in",
        APPOINTMENT_CHANGED,
        "the visitor arrived (a booked appointment, or a walk-in without one)",
    ),
    event(
        "tongxin.legalaid.appointment_no_show",
        APPOINTMENT_CHANGED,
        "staff marked that the visitor did not come",
    ),
    event(
        "tongxin.legalaid.appointment_reminder_due",
        APPOINTMENT_CHANGED,
        "24 hours or 1 hour before the appointment (once each, from the reminder scheduler)",
    ),
    // legal-aid: the matters a consultation opens, with the case as it stands after the change
    event(
        "tongxin.legalaid.case_opened",
        CASE_CHANGED,
        "a consultation outcome opened a matter (mediation, legal-aid case, notarization, health check)",
    ),
    event(
        "tongxin.legalaid.case_closed",
        CASE_CHANGED,
        "staff or the provider closed the case with its result",
    ),
    // legal-aid: a visit's outcome (and, for a visit that served an order, the order's end)
    event(
        "tongxin.legalaid.consultation_logged",
        CONSULTATION_LOGGED,
        "staff or the provider logged a visit's outcome (once); names the order it served, which completes",
    ),
];

/// The event type published on `subject`, if Tongxin publishes there.
pub fn by_subject(subject: &str) -> Option<&'static EventType> {
    EVENTS.iter().find(|e| e.subject == subject)
}

/// The `content-type` of a body holding `message`: protobuf, naming the message, so a
/// consumer can decode without a subject → type table of its own.
pub fn content_type(message: &str) -> String {
    format!("application/protobuf; proto={message}")
}

/// The message name in a `content-type` made by [`content_type`].
pub fn message_of_content_type(value: &str) -> Option<&str> {
    let (media, params) = value.split_once(';')?;
    if !media.trim().eq_ignore_ascii_case("application/protobuf") {
        return None;
    }
    params
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("proto"))
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// The CloudEvents `dataschema` of a body holding `message`: a URN naming the protobuf message.
pub fn dataschema(message: &str) -> String {
    format!("urn:tongxin:proto:{message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_names_the_message_and_reads_back() {
        let value = content_type(ORDER_CHANGED);
        assert_eq!(
            value,
            "application/protobuf; proto=tongxin.events.v1.OrderChanged"
        );
        assert_eq!(message_of_content_type(&value), Some(ORDER_CHANGED));
        assert_eq!(
            message_of_content_type("Application/Protobuf;charset=x; PROTO=\"a.B\""),
            Some("a.B")
        );
        assert_eq!(message_of_content_type("application/json; proto=a.B"), None);
        assert_eq!(message_of_content_type("application/protobuf"), None);
        assert_eq!(
            message_of_content_type("application/protobuf; proto="),
            None
        );
    }

    #[test]
    fn subjects_are_unique_and_in_the_tongxin_namespace() {
        for (i, e) in EVENTS.iter().enumerate() {
            assert!(e.subject.starts_with("tongxin."), "{}", e.subject);
            assert_eq!(e.subject.split('.').count(), 3, "{}", e.subject);
            assert!(
                EVENTS[i + 1..].iter().all(|o| o.subject != e.subject),
                "{} twice",
                e.subject
            );
            assert_eq!(by_subject(e.subject), Some(e));
        }
        assert_eq!(by_subject("tongxin.orders.order_unknown"), None);
    }

    #[test]
    fn docs_events_md_lists_every_event_with_its_type() {
        let docs = include_str!("../../../docs/events.md");
        for e in EVENTS {
            let row = format!("| `{}` | `{}` |", e.subject, e.message);
            assert!(docs.contains(&row), "docs/events.md lacks the row {row}");
        }
    }

    #[test]
    fn every_message_exists_in_the_compiled_protos() {
        let pool = crate::descriptor_pool();
        for e in EVENTS {
            assert!(
                pool.get_message_by_name(e.message).is_some(),
                "{} names {}, which proto/ does not define",
                e.subject,
                e.message
            );
        }
    }
}
