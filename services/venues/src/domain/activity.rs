//! Activities under the seven themes (七讲): their values, their lifecycle and the theme
//! counts rolled up through the org tree. No I/O here.
//!
//! Lifecycle: `planned → held` (attendance and the volunteers' hours recorded, only once the
//! activity has started) or `planned → cancelled` (with a reason). Both are final; any other
//! move is refused with the current state.
//!
//! Organising unit: the venue's own unit, one of its ancestors (a station or institute running
//! an activity in a courtyard's hall) or one of its descendants (a courtyard using its
//! station's culture venue). A unit from another branch of the tree may not book a venue it
//! has no line to; counts and scopes follow the organising unit.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::DomainError;
use super::org::covers;
use super::venue::short_text;

/// A typed activity id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActivityId(pub Uuid);

impl ActivityId {
    /// Parses the textual form, naming `field` on failure.
    pub fn parse(text: &str, field: &str) -> Result<Self, DomainError> {
        Uuid::parse_str(text.trim())
            .map(Self)
            .map_err(|_| DomainError::invalid(field, "must be a UUID"))
    }
}

impl std::fmt::Display for ActivityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The seven themes (七讲) plus holiday and custom themes, which carry a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Theme {
    /// 理论: theory.
    Theory,
    /// 政策: policy.
    Policy,
    /// 法律: law.
    Law,
    /// 科技: science.
    Science,
    /// 健康: health.
    Health,
    /// 典型: role models.
    RoleModels,
    /// 变化: changes.
    Changes,
    /// A holiday (e.g. 重阳节); needs a label.
    Holiday,
    /// Any other theme; needs a label.
    Custom,
}

impl Theme {
    /// Every theme, the seven first.
    pub const ALL: [Theme; 9] = [
        Self::Theory,
        Self::Policy,
        Self::Law,
        Self::Science,
        Self::Health,
        Self::RoleModels,
        Self::Changes,
        Self::Holiday,
        Self::Custom,
    ];

    /// The seven themes (七讲).
    pub const SEVEN: [Theme; 7] = [
        Self::Theory,
        Self::Policy,
        Self::Law,
        Self::Science,
        Self::Health,
        Self::RoleModels,
        Self::Changes,
    ];

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Theory => "theory",
            Self::Policy => "policy",
            Self::Law => "law",
            Self::Science => "science",
            Self::Health => "health",
            Self::RoleModels => "role_models",
            Self::Changes => "changes",
            Self::Holiday => "holiday",
            Self::Custom => "custom",
        }
    }

    /// From the stored form.
    pub fn parse_stored(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// Whether this theme needs a label.
    pub fn needs_label(self) -> bool {
        matches!(self, Self::Holiday | Self::Custom)
    }

    /// The theme's Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            Self::Theory => "理论",
            Self::Policy => "政策",
            Self::Law => "法律",
            Self::Science => "科技",
            Self::Health => "健康",
            Self::RoleModels => "典型",
            Self::Changes => "变化",
            Self::Holiday => "节日",
            Self::Custom => "其他",
        }
    }
}

/// A theme with its label: the seven take none, holiday and custom need one (1–40 chars).
pub fn parse_theme(theme: Theme, label: Option<&str>) -> Result<Option<String>, DomainError> {
    let label = label.map(str::trim).filter(|l| !l.is_empty());
    match (theme.needs_label(), label) {
        (true, Some(l)) => Ok(Some(short_text(l, "themeLabel", 1, 40)?)),
        (true, None) => Err(DomainError::invalid(
            "themeLabel",
            "is required for holiday and custom themes",
        )),
        (false, Some(_)) => Err(DomainError::invalid(
            "themeLabel",
            "is only for holiday and custom themes",
        )),
        (false, None) => Ok(None),
    }
}

/// An activity's title: 1–200 characters.
pub fn parse_title(text: &str) -> Result<String, DomainError> {
    short_text(text, "title", 1, 200)
}

/// Why an activity was cancelled: 1–500 characters.
pub fn parse_cancel_reason(text: &str) -> Result<String, DomainError> {
    short_text(text, "reason", 1, 500)
}

/// When an activity takes place: it ends after it starts and lasts at most 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

impl TimeWindow {
    /// The longest activity accepted.
    pub const MAX_DAYS: i64 = 7;

    /// Parses a window.
    pub fn parse(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> Result<Self, DomainError> {
        if ends_at <= starts_at {
            return Err(DomainError::invalid("endsAt", "must be after startsAt"));
        }
        if ends_at - starts_at > Duration::days(Self::MAX_DAYS) {
            return Err(DomainError::invalid(
                "endsAt",
                format!("an activity lasts at most {} days", Self::MAX_DAYS),
            ));
        }
        Ok(Self { starts_at, ends_at })
    }

    /// Start.
    pub fn starts_at(self) -> DateTime<Utc> {
        self.starts_at
    }

    /// End.
    pub fn ends_at(self) -> DateTime<Utc> {
        self.ends_at
    }
}

/// At most 20 speakers' names, each 1–50 characters.
pub fn parse_speakers(items: &[String]) -> Result<Vec<String>, DomainError> {
    const MAX: usize = 20;
    if items.len() > MAX {
        return Err(DomainError::invalid(
            "speakers",
            format!("at most {MAX} speakers"),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, s)| short_text(s, &format!("speakers[{i}]"), 1, 50))
        .collect()
}

/// At most 200 distinct volunteer ids (UUIDs from the volunteers service).
pub fn parse_volunteers(items: &[String]) -> Result<Vec<Uuid>, DomainError> {
    const MAX: usize = 200;
    if items.len() > MAX {
        return Err(DomainError::invalid(
            "volunteerIds",
            format!("at most {MAX} volunteers"),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, text) in items.iter().enumerate() {
        let id = Uuid::parse_str(text.trim())
            .map_err(|_| DomainError::invalid(&format!("volunteerIds[{i}]"), "must be a UUID"))?;
        if seen.insert(id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Whether the unit at `organiser_path` may organise an activity at a venue of the unit at
/// `venue_unit_path`: the same unit, an ancestor or a descendant.
pub fn may_organise_at(organiser_path: &str, venue_unit_path: &str) -> Result<(), DomainError> {
    if covers(organiser_path, venue_unit_path) || covers(venue_unit_path, organiser_path) {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "orgUnitId",
            "the organising unit must be the venue's unit, an ancestor or a descendant of it",
        ))
    }
}

/// Where an activity is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityStatus {
    /// Scheduled.
    Planned,
    /// Took place; attendance and hours recorded. Final.
    Held,
    /// Called off, with a reason. Final.
    Cancelled,
}

impl ActivityStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Held => "held",
            Self::Cancelled => "cancelled",
        }
    }

    /// From the stored form.
    pub fn parse_stored(text: &str) -> Option<Self> {
        match text {
            "planned" => Some(Self::Planned),
            "held" => Some(Self::Held),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// A lifecycle move that the current state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoveRefused {
    /// The state the activity is in.
    pub current: ActivityStatus,
    /// The state asked for.
    pub wanted: ActivityStatus,
}

impl MoveRefused {
    /// A message for the client naming the current state.
    pub fn message(self) -> String {
        format!(
            "the activity is {}; it cannot become {}",
            self.current.as_str(),
            self.wanted.as_str()
        )
    }
}

/// Checks a move: only `planned → held` and `planned → cancelled` exist.
pub fn check_move(current: ActivityStatus, wanted: ActivityStatus) -> Result<(), MoveRefused> {
    match (current, wanted) {
        (ActivityStatus::Planned, ActivityStatus::Held | ActivityStatus::Cancelled) => Ok(()),
        _ => Err(MoveRefused { current, wanted }),
    }
}

/// The number who attended: 0 to twice the capacity (standing room, passers-by).
pub fn parse_attendance(value: i64, capacity: u32) -> Result<u32, DomainError> {
    let max = i64::from(capacity) * 2;
    if (0..=max).contains(&value) {
        Ok(value as u32)
    } else {
        Err(DomainError::invalid(
            "attendance",
            format!("must be between 0 and {max} (twice the capacity), got {value}"),
        ))
    }
}

/// Hours one volunteer served, kept as whole quarter hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedHours {
    /// The volunteer (id in the volunteers service).
    pub volunteer_id: Uuid,
    /// Quarter hours, 1 to 96.
    pub quarter_hours: u8,
}

impl ServedHours {
    /// The hours as a number.
    pub fn hours(self) -> f64 {
        f64::from(self.quarter_hours) / 4.0
    }
}

/// Parses the volunteers who served: at most 200, each once, `0 < hours ≤ 24` in quarter
/// hours (0.25, 0.5, …).
pub fn parse_served(items: &[(String, f64)]) -> Result<Vec<ServedHours>, DomainError> {
    const MAX: usize = 200;
    if items.len() > MAX {
        return Err(DomainError::invalid(
            "served",
            format!("at most {MAX} volunteers"),
        ));
    }
    let mut seen = HashSet::new();
    items
        .iter()
        .enumerate()
        .map(|(i, (id, hours))| {
            let volunteer_id = Uuid::parse_str(id.trim()).map_err(|_| {
                DomainError::invalid(&format!("served[{i}].volunteerId"), "must be a UUID")
            })?;
            if !seen.insert(volunteer_id) {
                return Err(DomainError::invalid(
                    &format!("served[{i}].volunteerId"),
                    "appears more than once",
                ));
            }
            let quarters = hours * 4.0;
            if !(hours.is_finite() && *hours > 0.0 && *hours <= 24.0)
                || (quarters - quarters.round()).abs() > 1e-9
            {
                return Err(DomainError::invalid(
                    &format!("served[{i}].hours"),
                    format!("must be more than 0 and at most 24, in quarter hours, got {hours}"),
                ));
            }
            Ok(ServedHours {
                volunteer_id,
                quarter_hours: quarters.round() as u8,
            })
        })
        .collect()
}

/// Whether an activity that starts at `starts_at` may be recorded as held at `now`.
pub fn may_record_held(starts_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), DomainError> {
    if now < starts_at {
        Err(DomainError::invalid(
            "id",
            "an activity can be recorded as held only after it has started",
        ))
    } else {
        Ok(())
    }
}

/// Activities of one theme in one part of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThemeTally {
    /// Planned or held (cancelled ones are not counted).
    pub activities: u64,
    /// Held.
    pub held: u64,
    /// Sum of attendance over the held ones.
    pub attendance: u64,
}

/// One row of raw counts: the organising unit's path, theme, status, how many and their
/// summed attendance.
#[derive(Debug, Clone, PartialEq)]
pub struct CountRow {
    /// Organising unit's path.
    pub unit_path: String,
    /// Theme.
    pub theme: Theme,
    /// Status.
    pub status: ActivityStatus,
    /// Number of activities.
    pub count: u64,
    /// Summed attendance (0 when none recorded).
    pub attendance: u64,
}

/// Theme counts for a unit's subtree, and for each of its children's subtrees.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RolledUp {
    /// The whole subtree, activities of the unit itself included.
    pub total: BTreeMap<Theme, ThemeTally>,
    /// Per child path (only children with at least one activity are present).
    pub per_child: HashMap<String, BTreeMap<Theme, ThemeTally>>,
}

/// Rolls raw counts up to `unit_path` and its `children` (paths). Rows outside the subtree
/// are ignored; rows of the unit itself count in the total only.
pub fn roll_up(unit_path: &str, children: &[String], rows: &[CountRow]) -> RolledUp {
    let mut out = RolledUp::default();
    for row in rows {
        if !covers(unit_path, &row.unit_path) {
            continue;
        }
        let add = |tally: &mut ThemeTally| match row.status {
            ActivityStatus::Cancelled => {}
            ActivityStatus::Planned => tally.activities += row.count,
            ActivityStatus::Held => {
                tally.activities += row.count;
                tally.held += row.count;
                tally.attendance += row.attendance;
            }
        };
        add(out.total.entry(row.theme).or_default());
        if let Some(child) = children.iter().find(|c| covers(c, &row.unit_path)) {
            add(out
                .per_child
                .entry(child.clone())
                .or_default()
                .entry(row.theme)
                .or_default());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_780_000_000 + h * 3600, 0).expect("time")
    }

    #[test]
    fn windows() {
        assert!(TimeWindow::parse(at(2), at(1)).is_err());
        assert!(TimeWindow::parse(at(1), at(1)).is_err());
        assert!(TimeWindow::parse(at(0), at(24 * 7)).is_ok());
        assert!(TimeWindow::parse(at(0), at(24 * 7 + 1)).is_err());
    }

    #[test]
    fn themes_and_labels() {
        assert_eq!(parse_theme(Theme::Law, None).expect("ok"), None);
        assert!(parse_theme(Theme::Law, Some("x")).is_err());
        assert!(parse_theme(Theme::Holiday, None).is_err());
        assert!(parse_theme(Theme::Holiday, Some("  ")).is_err());
        assert_eq!(
            parse_theme(Theme::Holiday, Some(" 重阳节 "))
                .expect("ok")
                .as_deref(),
            Some("重阳节")
        );
        for t in Theme::ALL {
            assert_eq!(Theme::parse_stored(t.as_str()), Some(t));
        }
    }

    #[test]
    fn lifecycle() {
        use ActivityStatus::*;
        assert!(check_move(Planned, Held).is_ok());
        assert!(check_move(Planned, Cancelled).is_ok());
        for (from, to) in [
            (Held, Cancelled),
            (Cancelled, Held),
            (Held, Held),
            (Planned, Planned),
        ] {
            let refused = check_move(from, to).expect_err("refused");
            assert_eq!(refused.current, from);
        }
        assert!(may_record_held(at(1), at(0)).is_err());
        assert!(may_record_held(at(1), at(1)).is_ok());
    }

    #[test]
    fn attendance_and_hours() {
        assert!(parse_attendance(-1, 10).is_err());
        assert_eq!(parse_attendance(20, 10).expect("ok"), 20);
        assert!(parse_attendance(21, 10).is_err());
        let v = Uuid::now_v7().to_string();
        let ok = parse_served(&[(v.clone(), 2.75)]).expect("ok");
        assert_eq!(ok[0].quarter_hours, 11);
        assert_eq!(ok[0].hours(), 2.75);
        for bad in [0.0, -1.0, 24.25, 1.1, f64::NAN] {
            assert!(parse_served(&[(v.clone(), bad)]).is_err(), "{bad}");
        }
        assert!(parse_served(&[(v.clone(), 1.0), (v.clone(), 2.0)]).is_err());
        assert!(parse_served(&[("nope".into(), 1.0)]).is_err());
    }

    #[test]
    fn organisers_are_on_the_venues_line() {
        assert!(may_organise_at("/rc/a", "/rc/a/b/c").is_ok());
        assert!(may_organise_at("/rc/a/b/c", "/rc/a").is_ok());
        assert!(may_organise_at("/rc/a/b", "/rc/a/b").is_ok());
        assert!(may_organise_at("/rc/a/x", "/rc/a/b").is_err());
    }

    #[test]
    fn rolls_up_to_children() {
        let row = |p: &str, theme, status, count, attendance| CountRow {
            unit_path: p.to_owned(),
            theme,
            status,
            count,
            attendance,
        };
        let rows = vec![
            row("/rc/a", Theme::Law, ActivityStatus::Held, 1, 30),
            row("/rc/a/s1", Theme::Law, ActivityStatus::Planned, 2, 0),
            row("/rc/a/s1/c1", Theme::Law, ActivityStatus::Held, 3, 90),
            row("/rc/a/s2", Theme::Health, ActivityStatus::Cancelled, 5, 0),
            row("/rc/a/s2", Theme::Health, ActivityStatus::Held, 1, 10),
            row("/rc/b", Theme::Law, ActivityStatus::Held, 7, 70),
        ];
        let children = vec!["/rc/a/s1".to_owned(), "/rc/a/s2".to_owned()];
        let r = roll_up("/rc/a", &children, &rows);
        assert_eq!(
            r.total[&Theme::Law],
            ThemeTally {
                activities: 6,
                held: 4,
                attendance: 120
            }
        );
        assert_eq!(
            r.total[&Theme::Health],
            ThemeTally {
                activities: 1,
                held: 1,
                attendance: 10
            }
        );
        assert_eq!(r.per_child["/rc/a/s1"][&Theme::Law].activities, 5);
        assert_eq!(r.per_child["/rc/a/s2"][&Theme::Health].held, 1);
        assert!(!r.per_child["/rc/a/s2"].contains_key(&Theme::Law));
    }
}
