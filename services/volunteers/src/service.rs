//! The registry operations, shared by the GraphQL and gRPC front doors.
//!
//! Who may do what (decided here, once):
//! - **register**: staff (or admin) whose scope covers the home unit register anyone there;
//!   a principal with the `volunteer` or `citizen` role registers themself, and their token
//!   subject is stored with the record (one record per account).
//! - **read one**: anyone, including anonymous callers; the phone is masked and the ID-card
//!   number is always masked, unless the caller is the volunteer themself (token subject ==
//!   the record's subject) or staff whose scope covers the home unit (phone in full; the
//!   ID-card number stays masked for everyone).
//! - **list**: staff only, within their scope.
//! - **link an account** to a record registered by staff or imported: an invite from staff
//!   in scope, or a claim proved with the ID-card number and phone on file; staff in scope
//!   unlink (see [`linking`]).
//!
//! A staff scope is the path of the principal's `unit`, looked up in `known_units` (units
//! learnt from the venues unit events; see [`crate::store::known_units`]). An unknown unit
//! gives no scope. The caller gives the home unit's id and path: the id must name a unit in
//! `known_units` and the path must be that unit's (BAD_USER_INPUT otherwise).

pub mod ledger;
pub mod matcher;
pub mod teams;

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::events::outbox::{self, OutboxWaker};
use tongxin_platform::geo::Coordinates;
use tongxin_platform::pii::{HashingCipher, Phone};
use tongxin_platform::ttl_cache::TtlCache;
use uuid::Uuid;

use crate::domain::availability::{Availability, CHINA_STANDARD_TIME, local_today};
use crate::domain::id_card::IdCardNumber;
use crate::domain::matching::VolunteerStatus;
use crate::domain::scope::{PhoneView, UnitPath, Viewer, mask_name};
use crate::domain::skills::SkillCatalog;
use crate::domain::{DomainError, VolunteerId};
use crate::error::VolunteersError;
use crate::events;
use crate::store::known_units;
use crate::store::volunteers::{self, Filter, Model};

mod linking;
mod matching;
mod proofs;
mod self_service;

/// How long a staff unit's resolved path is trusted.
const SCOPE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

pub use linking::{InviteDelivery, IssuedInvite, LinkEntry};
pub use matching::{CandidateView, MatchQuery};
pub use proofs::ServiceRecordCheck;
pub use self_service::Correction;

/// Under this age a guardian's consent is required.
pub const GUARDIAN_CONSENT_UNDER: u32 = 14;
/// The page size when the caller gives none, and the most a caller may ask for.
pub const DEFAULT_PAGE: u64 = 50;
/// See [`DEFAULT_PAGE`].
pub const MAX_PAGE: u64 = 500;

/// A registration before parsing.
#[derive(Debug, Clone)]
pub struct NewVolunteer {
    /// Name.
    pub name: String,
    /// The 18-character ID-card number.
    pub id_card_number: String,
    /// Mobile phone.
    pub phone: String,
    /// Home org unit id.
    pub home_unit_id: Uuid,
    /// Home org unit path.
    pub home_unit_path: String,
    /// Home latitude.
    pub lat: f64,
    /// Home longitude.
    pub lon: f64,
    /// Skill codes or labels from the catalog.
    pub skills: Vec<String>,
    /// Weekly availability text, e.g. `Sat,Sun 09:00-12:00`.
    pub availability: String,
    /// The volunteer consents to the registration and its data processing.
    pub consent: bool,
    /// The guardian's consent record (who, how), required under 14.
    pub guardian_consent: Option<String>,
}

/// A volunteer as one caller may see them, built by [`Volunteers::view`] from the caller's
/// scope: the one place that decides what a caller sees of a person.
///
/// Everyone sees the id, the public number, the home unit (the org unit, not the home
/// location), the status and the masked phone and ID-card number. The volunteer themself
/// and staff whose scope covers the home unit also see the name in full and the personal
/// record ([`VolunteerView::personal`]: gender, exact home location, skills, availability,
/// consent and deletion facts); anyone else sees a masked name (`张*`) and nothing of the
/// record, so a resolver cannot show what the caller may not see: it never holds it.
#[derive(Debug, Clone)]
pub struct VolunteerView {
    row: Model,
    in_full: bool,
    name: String,
    phone: PhoneView,
    id_card_masked: String,
    skills: Vec<String>,
}

impl VolunteerView {
    /// Typed id.
    pub fn id(&self) -> VolunteerId {
        VolunteerId(self.row.id)
    }

    /// The public volunteer number.
    pub fn volunteer_no(&self) -> &str {
        &self.row.volunteer_no
    }

    /// The name: in full within scope, masked (`张*`) outside it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Phone, full or masked for this caller.
    pub fn phone(&self) -> &PhoneView {
        &self.phone
    }

    /// ID-card number, always masked.
    pub fn id_card_masked(&self) -> &str {
        &self.id_card_masked
    }

    /// The home org unit's id and path.
    pub fn home_unit(&self) -> (Uuid, &str) {
        (self.row.home_unit_id, &self.row.home_unit_path)
    }

    /// Registry status as stored (`active`, `paused`, `left`).
    pub fn status(&self) -> &str {
        &self.row.status
    }

    /// Whether the personal data was erased on the volunteer's request.
    pub fn erased(&self) -> bool {
        self.row.erased_at.is_some()
    }

    /// Whether this caller sees the volunteer in full (themself, or staff in scope).
    pub fn in_full(&self) -> bool {
        self.in_full
    }

    /// The personal record, for the volunteer themself and staff in scope only.
    pub fn personal(&self) -> Option<Personal<'_>> {
        self.in_full.then_some(Personal {
            row: &self.row,
            skills: &self.skills,
        })
    }
}

/// What only the volunteer themself and staff in scope see of a volunteer.
#[derive(Debug, Clone, Copy)]
pub struct Personal<'a> {
    /// The stored record.
    pub row: &'a Model,
    /// Skill codes.
    pub skills: &'a [String],
}

/// Who is asking, resolved once per request.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    subject: Option<String>,
    staff_scope: Option<UnitPath>,
}

impl Caller {
    /// How this caller views the volunteer `row`.
    fn viewer(&self, row: &Model) -> Viewer {
        if self.subject.is_some() && self.subject == row.subject {
            return Viewer::Themselves;
        }
        match &self.staff_scope {
            Some(path) => Viewer::Staff(path.clone()),
            None => Viewer::Other,
        }
    }

    /// The staff scope, if any.
    pub fn staff_scope(&self) -> Option<&UnitPath> {
        self.staff_scope.as_ref()
    }
}

/// The registry over its database.
#[derive(Clone)]
pub struct Volunteers {
    db: DatabaseConnection,
    waker: OutboxWaker,
    cipher: Arc<HashingCipher>,
    catalog: Arc<SkillCatalog>,
    matcher: crate::service::matcher::Matcher,
    /// Staff units resolved to paths a moment ago (see [`Volunteers::unit_path`]).
    scopes: Arc<TtlCache<Uuid, String>>,
    /// Batched entity loads so far (one per DataLoader batch); tests assert on it.
    loader_batches: Arc<std::sync::atomic::AtomicU64>,
}

impl Volunteers {
    /// Operations over `db`, protecting PII with `cipher`, waking the outbox after commits.
    pub fn new(db: DatabaseConnection, waker: OutboxWaker, cipher: HashingCipher) -> Self {
        let catalog = Arc::new(SkillCatalog::default());
        Self {
            db,
            waker,
            cipher: Arc::new(cipher),
            matcher: crate::service::matcher::Matcher::new(catalog.clone()),
            loader_batches: Arc::default(),
            scopes: Arc::new(TtlCache::new(SCOPE_TTL, 10_000)),
            catalog,
        }
    }

    /// Counts one batched entity load (the volunteer DataLoader calls it per batch).
    pub fn count_loader_batch(&self) {
        self.loader_batches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Batched entity loads so far: a list of N references must cost one.
    pub fn loader_batches(&self) -> u64 {
        self.loader_batches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The candidate index of this process.
    pub fn matcher(&self) -> &crate::service::matcher::Matcher {
        &self.matcher
    }

    /// The database, for loaders.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Wakes the outbox relay after a commit (import, seeding, crediting consumers).
    pub fn waker(&self) -> &OutboxWaker {
        &self.waker
    }

    /// The PII cipher (import, seeding; its hash key also signs service-record proofs).
    pub fn cipher(&self) -> &HashingCipher {
        &self.cipher
    }

    /// The skill catalog.
    pub fn catalog(&self) -> &SkillCatalog {
        &self.catalog
    }

    /// Records the path of an org unit (seeding, tests; later the venues unit events).
    pub async fn remember_unit(&self, id: Uuid, path: &str) -> Result<(), VolunteersError> {
        let path = UnitPath::parse(path)?;
        known_units::remember(&self.db, id, path.as_str(), None).await?;
        self.scopes.clear();
        Ok(())
    }

    /// Records an org unit with its name and location (seeding, `tongxin run`, tests).
    pub async fn remember_unit_details(
        &self,
        id: Uuid,
        path: &str,
        name: &str,
        location: (f64, f64),
    ) -> Result<(), VolunteersError> {
        self.remember_unit(id, path).await?;
        crate::store::unit_details::describe(&self.db, id, name, Some(location)).await?;
        Ok(())
    }

    /// Resolves a principal (or none) into what the masking and scope rules need.
    pub async fn caller(&self, principal: Option<&Principal>) -> Result<Caller, VolunteersError> {
        let Some(p) = principal else {
            return Ok(Caller::default());
        };
        let staff_scope = match (p.is_staff(), p.unit) {
            (true, Some(unit)) => self
                .unit_path(unit)
                .await?
                .and_then(|path| UnitPath::parse(&path).ok()),
            _ => None,
        };
        Ok(Caller {
            subject: Some(p.subject.clone()),
            staff_scope,
        })
    }

    /// The path of a staff member's unit, kept for [`SCOPE_TTL`] once found.
    ///
    /// Every staff call resolves the caller's unit, and dispatchers' `MatchCandidates`
    /// calls come many times a second; the database round trip was most of such a call's
    /// time. A path changes only when a unit is moved in the org tree, which is rare and
    /// reaches this service a moment late anyway (through the venues events). Only found
    /// paths are kept, so a unit learnt a moment ago is seen at once.
    async fn unit_path(&self, unit: Uuid) -> Result<Option<String>, VolunteersError> {
        if let Some(path) = self.scopes.get(&unit) {
            return Ok(Some(path));
        }
        let found = known_units::path_of(&self.db, unit).await?;
        if let Some(path) = &found {
            self.scopes.put(unit, path.clone());
        }
        Ok(found)
    }

    /// Registers a volunteer and publishes `tongxin.volunteers.volunteer_registered`.
    ///
    /// Everything is parsed before the database is touched, so bad input stores nothing; a
    /// second registration of the same ID-card number is a CONFLICT decided by the unique
    /// index on its keyed hash, so two concurrent registrations cannot both win.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject))]
    pub async fn register(
        &self,
        actor: &Principal,
        input: NewVolunteer,
    ) -> Result<VolunteerView, VolunteersError> {
        let today = local_today(CHINA_STANDARD_TIME);
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 50 {
            return Err(DomainError::invalid("name", "must have 1 to 50 characters").into());
        }
        let id_card = IdCardNumber::parse_on(&input.id_card_number, today)?;
        let phone = Phone::parse(&input.phone)?;
        let home = UnitPath::parse(&input.home_unit_path)
            .map_err(|e| rename_field(e.into(), "home_unit_path"))?;
        let location = Coordinates::parse(input.lat, input.lon)
            .map_err(|e| DomainError::invalid("location", e.to_string()))?;
        let skills = self.catalog.parse_set(&input.skills)?;
        let availability = Availability::parse(&input.availability)?;
        if !input.consent {
            return Err(
                DomainError::invalid("consent", "the volunteer's consent is required").into(),
            );
        }
        let guardian_consent = input
            .guardian_consent
            .map(|g| g.trim().to_owned())
            .filter(|g| !g.is_empty());
        if id_card.age_on(today) < GUARDIAN_CONSENT_UNDER && guardian_consent.is_none() {
            return Err(DomainError::invalid(
                "guardian_consent",
                format!("required for a volunteer under {GUARDIAN_CONSENT_UNDER}"),
            )
            .into());
        }

        // Who registers whom.
        let caller = self.caller(Some(actor)).await?;
        let subject = if actor.is_staff() {
            match caller.staff_scope() {
                Some(scope) if scope.covers(&home) => None,
                _ => {
                    return Err(VolunteersError::Forbidden(
                        "the home unit is outside your scope".to_owned(),
                    ));
                }
            }
        } else if actor.has_role(Role::Volunteer) || actor.has_role(Role::Citizen) {
            Some(actor.subject.clone())
        } else {
            return Err(VolunteersError::Forbidden(
                "only staff in scope or the person themself may register a volunteer".to_owned(),
            ));
        };

        let id = Uuid::now_v7();
        let row = Model {
            id,
            volunteer_no: volunteer_number(home.district()),
            subject,
            name: name.to_owned(),
            gender: id_card.gender().as_str().to_owned(),
            birth_date: id_card.birth_date(),
            id_card_cipher: self.cipher.encrypt(id_card.expose())?,
            id_card_hash: self.cipher.keyed_hash(id_card.expose()).to_vec(),
            phone_cipher: self.cipher.encrypt(phone.expose())?,
            home_unit_id: input.home_unit_id,
            home_unit_path: home.as_str().to_owned(),
            lat: location.lat(),
            lon: location.lon(),
            skills: skills_text(&self.catalog.codes(skills)),
            availability: availability.to_string(),
            status: VolunteerStatus::Active.as_str().to_owned(),
            consent_at: Utc::now(),
            guardian_consent,
            created_at: Utc::now(),
            created_by: actor.subject.clone(),
            updated_at: Some(self_service::now_micros()),
            deletion_requested_at: None,
            deletion_reason: None,
            erased_at: None,
        };

        // Read before the transaction: its first statement must be the write, or SQLite
        // (`tongxin run`) refuses to upgrade a read snapshot another writer has passed.
        // The home unit must be one the org tree has: a made-up id would file the volunteer
        // under no unit, where no staff scope ever reaches them.
        match known_units::path_of(&self.db, input.home_unit_id).await? {
            None => {
                return Err(
                    DomainError::invalid("home_unit_id", "names no unit of the org tree").into(),
                );
            }
            Some(known) if known != row.home_unit_path => {
                return Err(DomainError::invalid(
                    "home_unit_path",
                    "does not match the path of home_unit_id",
                )
                .into());
            }
            Some(_) => {}
        }
        // A person whose record staff registered or imported gets pointed at claiming it,
        // not at a dead end.
        let duplicate = || match &row.subject {
            Some(_) => VolunteersError::Conflict(linking::ALREADY_ON_FILE.to_owned()),
            None => DomainError::Duplicate {
                field: "id_card_number",
            }
            .into(),
        };
        let txn = self.db.begin().await.map_err(classify)?;
        volunteers::insert(&txn, row.clone())
            .await
            .map_err(|e| match e {
                DbError::Conflict(detail) if detail.contains("subject") => {
                    VolunteersError::Conflict(
                        "this account already has a volunteer record".to_owned(),
                    )
                }
                DbError::Conflict(_) => duplicate(),
                other => other.into(),
            })?;
        outbox::enqueue(
            &txn,
            events::VOLUNTEER_REGISTERED,
            events::SOURCE,
            events::volunteer_registered(&row, &actor.subject),
        )
        .await?;
        if let Some(account) = &row.subject {
            linking::record_self_registration(&txn, &row, account).await?;
        }
        txn.commit().await.map_err(|e| match classify(e) {
            DbError::Conflict(_) => duplicate(),
            other => other.into(),
        })?;
        self.waker.wake();
        self.matcher.apply(&row);
        tracing::info!(volunteer_id = %row.id, volunteer_no = %row.volunteer_no, "volunteer registered");
        let caller = Caller {
            subject: Some(actor.subject.clone()),
            staff_scope: caller.staff_scope,
        };
        self.view(&caller, row)
    }

    /// One volunteer as `caller` may see them.
    pub async fn volunteer(
        &self,
        caller: &Caller,
        id: VolunteerId,
    ) -> Result<Option<VolunteerView>, VolunteersError> {
        match volunteers::get(&self.db, id.0).await? {
            Some(row) => Ok(Some(self.view(caller, row)?)),
            None => Ok(None),
        }
    }

    /// Many volunteers by id in one query, as `caller` may see them; unknown ids are left out.
    pub async fn volunteers_by_id(
        &self,
        caller: &Caller,
        ids: &[Uuid],
    ) -> Result<Vec<VolunteerView>, VolunteersError> {
        volunteers::get_many(&self.db, ids)
            .await?
            .into_iter()
            .map(|row| self.view(caller, row))
            .collect()
    }

    /// The caller's own record (self-registered volunteers).
    pub async fn my_record(
        &self,
        caller: &Caller,
    ) -> Result<Option<VolunteerView>, VolunteersError> {
        let Some(subject) = &caller.subject else {
            return Err(VolunteersError::Unauthenticated);
        };
        match volunteers::by_subject(&self.db, subject).await? {
            Some(row) => Ok(Some(self.view(caller, row)?)),
            None => Ok(None),
        }
    }

    /// A page of volunteers for staff: within `unit_path` (default: the whole scope), which
    /// must lie inside the caller's scope. Returns the page and whether more follow.
    pub async fn list(
        &self,
        caller: &Caller,
        unit_path: Option<&str>,
        skill: Option<&str>,
        status: Option<VolunteerStatus>,
        after: Option<Uuid>,
        first: Option<u64>,
    ) -> Result<(Vec<VolunteerView>, bool), VolunteersError> {
        let Some(scope) = caller.staff_scope() else {
            return Err(VolunteersError::Forbidden(
                "listing volunteers needs a staff scope".to_owned(),
            ));
        };
        let under = match unit_path {
            Some(p) => UnitPath::parse(p)?,
            None => scope.clone(),
        };
        if !scope.covers(&under) {
            return Err(VolunteersError::Forbidden(
                "unit_path is outside your scope".to_owned(),
            ));
        }
        let skill = skill
            .map(|s| {
                let parsed = self.catalog.parse(s)?;
                Ok::<_, DomainError>(self.catalog.code(parsed).unwrap_or_default().to_owned())
            })
            .transpose()?;
        let filter = Filter {
            under: Some(under.as_str().to_owned()),
            skill,
            status: status.map(|s| s.as_str().to_owned()),
        };
        let limit = first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let rows = volunteers::list(&self.db, &filter, after, limit + 1).await?;
        self.page_under(caller, &under, rows, limit)
    }

    /// One page of `rows`, fetched with one row over `limit` to tell whether more follow:
    /// the views for `caller` of those whose home unit lies under `under`, and whether more
    /// follow.
    pub(crate) fn page_under(
        &self,
        caller: &Caller,
        under: &UnitPath,
        mut rows: Vec<Model>,
        limit: u64,
    ) -> Result<(Vec<VolunteerView>, bool), VolunteersError> {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let views = rows
            .into_iter()
            // Belt and braces over the LIKE in the query: whole-segment coverage only.
            .filter(|r| UnitPath::parse(&r.home_unit_path).is_ok_and(|h| under.covers(&h)))
            .map(|row| self.view(caller, row))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((views, more))
    }

    /// The view of a stored row for `caller`: phone masked unless in scope, ID-card number masked.
    pub fn view(&self, caller: &Caller, row: Model) -> Result<VolunteerView, VolunteersError> {
        if row.erased_at.is_some() {
            return Ok(self_service::erased_view(row));
        }
        let phone = Phone::parse(&self.cipher.decrypt(&row.phone_cipher)?)?;
        let id_card =
            IdCardNumber::parse_on(&self.cipher.decrypt(&row.id_card_cipher)?, NaiveDate::MAX)?;
        let home = UnitPath::parse(&row.home_unit_path)?;
        let viewer = caller.viewer(&row);
        let in_full = viewer.sees_in_full(&home);
        let phone = PhoneView::new(&phone, &viewer, &home);
        let name = if in_full {
            row.name.clone()
        } else {
            mask_name(&row.name)
        };
        let skills = row
            .skills
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(VolunteerView {
            id_card_masked: id_card.masked(),
            in_full,
            name,
            phone,
            skills,
            row,
        })
    }
}

fn rename_field(err: DomainError, field: &'static str) -> DomainError {
    match err {
        DomainError::Invalid { reason, .. } => DomainError::Invalid { field, reason },
        other => other,
    }
}

pub(crate) fn skills_text(codes: &[&str]) -> String {
    if codes.is_empty() {
        String::new()
    } else {
        format!(",{},", codes.join(","))
    }
}

/// The public volunteer number: the district code in capitals and 16 random digits, e.g.
/// `RC4821937705128843`. Not derived from anything personal; the unique index guards the
/// (negligible) chance of a repeat.
pub(crate) fn volunteer_number(district: &str) -> String {
    let n = u64::from_le_bytes(Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([0; 8]))
        % 10_000_000_000_000_000;
    format!("{}{n:016}", district.to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_carry_the_district_and_16_digits() {
        let n = volunteer_number("rc");
        assert!(n.starts_with("RC"));
        assert_eq!(n.len(), 18);
        assert!(n[2..].chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn skills_text_brackets_codes() {
        assert_eq!(skills_text(&["legal", "medical"]), ",legal,medical,");
        assert_eq!(skills_text(&[]), "");
    }
}
