//! The people and things the authorization table is walked with.
//!
//! Everything is anchored at one station, 虹桥 (`/rc/changyuan/hongqiao`): its orders
//! (placed at its courtyard 蔡家坝 and passed up to it), its volunteers, team, venue,
//! activity and contacts. The staff actors stand around it: at it, at its courtyard (a
//! child), at its institute (the parent), at the neighbouring station (a sibling), at the
//! district center, and at a station of another district.
//!
//! A [`World`] makes each thing the first time a row asks for it, with fresh accounts of
//! its own: reads share one world, every mutation cell gets a new one, so no cell sees what
//! another cell changed.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use serde_json::{Value, json};
use tongxin_platform::auth::Role;
use tongxin_platform::geo::Coordinates;
use tongxin_platform::registry::Hook;
use tongxin_venues::demo::{self, paths};
use tongxin_venues::domain::org::UnitKind;
use tongxin_venues::store::org_units::{self, OrgUnit};

use crate::platform::Platform;

/// Every actor a row gives an outcome for, in the order the table prints them.
pub const ACTORS: &[&str] = &[
    "anonymous",
    "citizen_owner",
    "citizen_other",
    "volunteer_self",
    "volunteer_other",
    "staff_unit",
    "staff_child",
    "staff_parent",
    "staff_sibling",
    "staff_other_district",
    "center_staff",
    "admin",
    "provider",
];

const ANCHOR: &str = paths::HONGQIAO;
const CHILD: &str = paths::CAIJIABA;
const PARENT: &str = paths::CHANGYUAN;
const SIBLING: &str = "/rc/changyuan/huangjinpo";
/// A station of another district (雨城, code `yc`), added by [`other_district`].
const OTHER_DISTRICT: &str = "yc";
const OTHER_STATION: &str = "/yc/a/s";
/// A point 蔡家坝小院's circle covers: orders placed here start there.
const CAIJIABA_POINT: (f64, f64) = (29.3868, 105.5701);
/// Near 虹桥 station, for venues and volunteers' homes.
const NEAR_ANCHOR: (f64, f64) = (29.3872, 105.5706);

/// A hook adding another district's center, institute and station to the org tree.
pub fn other_district() -> Hook {
    Hook::after(tongxin_venues::NAME, |started| async move {
        let venues = started
            .get(tongxin_venues::NAME)
            .context("venues is not running")?;
        let units = [
            (UnitKind::Center, "/yc", "雨城区"),
            (UnitKind::Institute, "/yc/a", "雨城一所"),
            (UnitKind::Station, OTHER_STATION, "雨城一站"),
        ];
        for (kind, path, name) in units {
            let parent = path
                .rsplit_once('/')
                .map(|(p, _)| p)
                .filter(|p| !p.is_empty());
            let unit = OrgUnit {
                id: demo::unit_id(path),
                kind,
                name: name.to_owned(),
                code: path.rsplit('/').next().unwrap_or_default().to_owned(),
                path: path.to_owned(),
                parent_id: parent.map(demo::unit_id),
                district: OTHER_DISTRICT.to_owned(),
                location: Coordinates::parse(30.0, 103.0)?,
            };
            org_units::insert(venues.db(), &unit, "authz").await?;
        }
        Ok(())
    })
}

type Built<'w> = Pin<Box<dyn Future<Output = String> + Send + 'w>>;

/// Accounts and fixtures of one walk (or one mutation cell).
pub struct World<'p> {
    platform: &'p Platform,
    tag: String,
    values: HashMap<String, String>,
    counter: u64,
}

impl<'p> World<'p> {
    /// A world whose accounts and names carry `tag`.
    pub fn new(platform: &'p Platform, tag: impl Into<String>) -> Self {
        Self {
            platform,
            tag: tag.into(),
            values: HashMap::new(),
            counter: 0,
        }
    }

    /// The bearer token `actor` sends, `None` for anonymous. A volunteer actor has a
    /// record by then (registered with its own account).
    pub async fn token(&mut self, actor: &str) -> Option<String> {
        let staff_at = match actor {
            "staff_unit" => Some(ANCHOR),
            "staff_child" => Some(CHILD),
            "staff_parent" => Some(PARENT),
            "staff_sibling" => Some(SIBLING),
            "center_staff" => Some(paths::CENTER),
            _ => None,
        };
        if let Some(path) = staff_at {
            let subject = format!("authz-staff-{path}");
            return Some(self.platform.sign(&subject, &[Role::Staff], Some(path)));
        }
        match actor {
            "anonymous" => None,
            "citizen_owner" | "citizen_other" => Some(self.citizen(actor)),
            "volunteer_self" => {
                self.value("vol_self").await;
                Some(self.volunteer_token("vol_self"))
            }
            "volunteer_other" => {
                self.value("vol_other").await;
                Some(self.volunteer_token("vol_other"))
            }
            "staff_other_district" => Some(self.platform.sign_in(
                "authz-staff-yc",
                &[Role::Staff],
                demo::unit_id(OTHER_STATION).0,
                OTHER_DISTRICT,
            )),
            "admin" => Some(
                self.platform
                    .sign("authz-admin", &[Role::Admin], Some(paths::CENTER)),
            ),
            "provider" => {
                self.value("provider_id").await;
                Some(self.provider_token())
            }
            other => panic!("unknown actor {other}"),
        }
    }

    fn citizen(&self, actor: &str) -> String {
        self.platform.sign(
            &format!("authz-{}-{actor}", self.tag),
            &[Role::Citizen],
            None,
        )
    }

    fn volunteer_token(&self, record: &str) -> String {
        self.platform.sign(
            &format!("authz-{}-{record}", self.tag),
            &[Role::Volunteer],
            None,
        )
    }

    fn provider_token(&self) -> String {
        self.platform.sign(
            &format!("authz-{}-provider", self.tag),
            &[Role::LegalAidProvider],
            None,
        )
    }

    async fn staff_token(&mut self) -> String {
        self.token("staff_unit").await.expect("staff token")
    }

    /// The value a row's `$name` stands for, made the first time it is asked for.
    pub fn value<'a>(&'a mut self, name: &'a str) -> Built<'a> {
        Box::pin(async move {
            if let Some(v) = self.values.get(name) {
                return v.clone();
            }
            let v = self.build(name).await;
            self.values.insert(name.to_owned(), v.clone());
            v
        })
    }

    /// A name no other fixture uses.
    fn unique(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{}-{}", self.tag, self.counter)
    }

    async fn build(&mut self, name: &str) -> String {
        let unit = |path: &str| demo::unit_id(path).0.to_string();
        match name {
            "anchor" => unit(ANCHOR),
            "child" => unit(CHILD),
            "parent" => unit(PARENT),
            "sibling" => unit(SIBLING),
            "center" => unit(paths::CENTER),
            "other_unit" => unit(OTHER_STATION),
            "anchor_path" => ANCHOR.to_owned(),
            "other_path" => OTHER_STATION.to_owned(),
            "uniq" => self.unique("authz"),
            "code" => self.unique("c").replace('_', "-"),
            "id_card" => identity().0,
            "phone" => identity().1,
            "vol_self" | "vol_other" | "vol_leaving" => {
                let token = self.volunteer_token(name);
                let (id, _, _) = self.register(Some(&token)).await;
                if name == "vol_leaving" {
                    self.ok(
                        Some(&token),
                        "mutation { requestDeletion(reason: \"搬家\") { id } }",
                        json!({}),
                        "requestDeletion",
                    )
                    .await;
                }
                id
            }
            "vol_unlinked" => {
                let token = self.staff_token().await;
                let (id, id_card, phone) = self.register(Some(&token)).await;
                self.values.insert("vol_unlinked_id_card".into(), id_card);
                self.values.insert("vol_unlinked_phone".into(), phone);
                id
            }
            "vol_unlinked_id_card" | "vol_unlinked_phone" => {
                self.value("vol_unlinked").await;
                self.values[name].clone()
            }
            "invite_code" => {
                let volunteer = self.value("vol_unlinked").await;
                let token = self.staff_token().await;
                let r = self
                    .ok(
                        Some(&token),
                        "mutation($v: ID!) { inviteVolunteerAccount(volunteerId: $v) { code } }",
                        json!({ "v": volunteer }),
                        "inviteVolunteerAccount",
                    )
                    .await;
                text(&r["code"])
            }
            "team" | "team_with_member" => {
                let anchor = self.value("anchor").await;
                let team_name = self.unique("队");
                let token = self.staff_token().await;
                let r = self
                    .ok(
                        Some(&token),
                        "mutation($i: CreateTeamInput!) { createTeam(input: $i) { id } }",
                        json!({ "i": { "name": team_name, "level": "SQUAD", "unitId": anchor } }),
                        "createTeam",
                    )
                    .await;
                let team = text(&r["id"]);
                if name == "team_with_member" {
                    let member = self.value("vol_self").await;
                    self.ok(Some(&token), "mutation($t: ID!, $v: ID!) { addTeamMember(teamId: $t, volunteerId: $v) { id } }", json!({ "t": team, "v": member }), "addTeamMember")
                        .await;
                }
                team
            }
            "hours_entry" => {
                let volunteer = self.value("vol_self").await;
                let token = self.staff_token().await;
                let r = self
                    .ok(Some(&token), "mutation($i: RecordHoursInput!) { recordHours(input: $i) { id } }", json!({ "i": { "volunteerId": volunteer, "hours": 2.0, "serviceDate": "2026-11-20", "place": "虹桥站", "content": "助老探访" } }), "recordHours")
                    .await;
                text(&r["id"])
            }
            "venue" => {
                let anchor = self.value("anchor").await;
                let venue_name = self.unique("场地");
                let token = self.staff_token().await;
                let r = self
                    .ok(Some(&token), "mutation($i: CreateVenueInput!) { createVenue(input: $i) { id } }", json!({ "i": { "kind": "OTHER", "name": venue_name, "orgUnitId": anchor, "location": { "lat": NEAR_ANCHOR.0, "lon": NEAR_ANCHOR.1 }, "capacity": 40 } }), "createVenue")
                    .await;
                text(&r["id"])
            }
            "activity" => {
                let anchor = self.value("anchor").await;
                let venue = self.value("venue").await;
                let token = self.staff_token().await;
                let starts = chrono::Utc::now() + chrono::Duration::days(2);
                let ends = starts + chrono::Duration::hours(2);
                let r = self
                    .ok(Some(&token), "mutation($i: CreateActivityInput!) { createActivity(input: $i) { id } }", json!({ "i": { "theme": "LAW", "title": "法律讲堂", "venueId": venue, "orgUnitId": anchor, "startsAt": starts.to_rfc3339(), "endsAt": ends.to_rfc3339(), "capacity": 30 } }), "createActivity")
                    .await;
                text(&r["id"])
            }
            "visit" => {
                let anchor = self.value("anchor").await;
                let token = self.staff_token().await;
                let at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
                let r = self
                    .ok(Some(&token), "mutation($i: RecordVisitInput!) { recordVisit(input: $i) { id } }", json!({ "i": { "unitId": anchor, "visitedAt": at, "householdsReached": 4, "notes": "走访记录", "needsHeard": ["修路灯"] } }), "recordVisit")
                    .await;
                text(&r["id"])
            }
            // The anchor, once a visit to it exists (for listing visits).
            "visited_anchor" => {
                self.value("visit").await;
                self.value("anchor").await
            }
            "an_hour_ago" => (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
            "contact" => {
                let anchor = self.value("anchor").await;
                let token = self.staff_token().await;
                let r = self
                    .ok(Some(&token), "mutation($u: ID!) { addUnitContact(unitId: $u, name: \"王站长\", title: \"站长\", phone: \"13800001111\") { id } }", json!({ "u": anchor }), "addUnitContact")
                    .await;
                text(&r["id"])
            }
            "fresh_courtyard" => {
                let anchor = self.value("anchor").await;
                let code = self.value("code").await;
                let token = self.token("center_staff").await;
                let r = self
                    .ok(token.as_deref(), "mutation($i: CreateOrgUnitInput!) { createOrgUnit(input: $i) { id } }", json!({ "i": { "kind": "COURTYARD", "name": "新小院", "code": code, "parentId": anchor, "location": { "lat": NEAR_ANCHOR.0, "lon": NEAR_ANCHOR.1 } } }), "createOrgUnit")
                    .await;
                text(&r["id"])
            }
            order if order.starts_with("order_") => self.order(order).await,
            "station" => {
                let anchor = self.value("anchor").await;
                let name = self.unique("法律服务站");
                let token = self.staff_token().await;
                let r = self
                    .ok(Some(&token), "mutation($i: CreateLegalAidStationInput!) { createLegalAidStation(input: $i) { id } }", json!({ "i": { "unitId": anchor, "name": name, "address": "虹桥街道1号", "services": ["CONSULTATION", "MEDIATION"], "minNoticeMinutes": 60, "horizonDays": 30 } }), "createLegalAidStation")
                    .await;
                text(&r["id"])
            }
            "provider_id" => {
                let station = self.value("station").await;
                let subject = format!("authz-{}-provider", self.tag);
                let token = self.staff_token().await;
                let r = self
                    .ok(Some(&token), "mutation($i: AddLegalAidProviderInput!) { addLegalAidProvider(input: $i) { id } }", json!({ "i": { "name": "王律师", "kind": "LAWYER", "office": "渝东律师事务所", "licenceNo": "15001200010001", "services": ["CONSULTATION", "MEDIATION"], "stationIds": [station], "accountSubject": subject } }), "addLegalAidProvider")
                    .await;
                text(&r["id"])
            }
            "roster_rule" => {
                let station = self.value("station").await;
                let provider = self.value("provider_id").await;
                let weekday = booking_day().format("%A").to_string().to_uppercase();
                let token = self.staff_token().await;
                let r = self
                    .ok(Some(&token), "mutation($s: ID!, $i: RosterRuleInput!) { addRosterRule(stationId: $s, input: $i) { id } }", json!({ "s": station, "i": { "weekday": weekday, "start": "09:00", "end": "17:00", "service": "CONSULTATION", "providerIds": [provider], "slotMinutes": 30 } }), "addRosterRule")
                    .await;
                text(&r["id"])
            }
            "slot" => {
                self.value("roster_rule").await;
                self.counter += 1;
                // A slot of the rule's day no other appointment of this world takes.
                let minutes = 30 * (self.counter % 16);
                let at = booking_day()
                    .and_hms_opt(9, 0, 0)
                    .expect("time")
                    .and_local_timezone(shanghai())
                    .single()
                    .expect("time")
                    + chrono::Duration::minutes(i64::try_from(minutes).expect("small"));
                at.with_timezone(&chrono::Utc).to_rfc3339()
            }
            "appointment" => {
                let station = self.value("station").await;
                let at = self.value("slot").await;
                let key = self.unique("book");
                let owner = self.citizen("citizen_owner");
                let r = self
                    .ok(Some(&owner), "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }", json!({ "i": { "stationId": station, "service": "CONSULTATION", "startsAt": at, "topic": "劳动合同纠纷", "parties": ["张三"], "idempotencyKey": key } }), "bookAppointment")
                    .await;
                text(&r["id"])
            }
            "walk_in" => {
                let station = self.value("station").await;
                let provider = self.value("provider_id").await;
                let token = self.staff_token().await;
                let r = self
                    .ok(Some(&token), "mutation($i: WalkInInput!) { checkInWalkIn(input: $i) { id } }", json!({ "i": { "stationId": station, "service": "CONSULTATION", "providerId": provider, "topic": "工资拖欠" } }), "checkInWalkIn")
                    .await;
                text(&r["id"])
            }
            "booking_day" => booking_day().to_string(),
            "case" => {
                // A mediation opened at a walk-in's consultation opens a case.
                let visit = self.value("walk_in").await;
                let station = self.value("station").await;
                let token = self.staff_token().await;
                self.ok(Some(&token), "mutation($id: ID!) { logConsultationOutcome(appointmentId: $id, outcome: MEDIATION_OPENED) }", json!({ "id": visit }), "logConsultationOutcome")
                    .await;
                let r = self
                    .ok(Some(&token), "query($s: ID!) { legalAidCases(stationId: $s, first: 1) { edges { node { id } } } }", json!({ "s": station }), "legalAidCases")
                    .await;
                text(&r["edges"][0]["node"]["id"])
            }
            other => panic!("the table names a fixture the world cannot make: ${other}"),
        }
    }

    /// A fresh order of `citizen_owner`, moved as far as `stage` names: placed (held by the
    /// courtyard), escalated (held by the station, not received), received, dispatched
    /// (to `vol_self`), accepted, started, completed.
    async fn order(&mut self, stage: &str) -> String {
        const STAGES: &[&str] = &[
            "order_placed",
            "order_escalated",
            "order_received",
            "order_dispatched",
            "order_accepted",
            "order_started",
            "order_completed",
        ];
        let last = STAGES
            .iter()
            .position(|s| *s == stage)
            .unwrap_or_else(|| panic!("unknown order stage {stage}"));
        let owner = self.citizen("citizen_owner");
        let key = self.unique("key");
        let r = self
            .ok(Some(&owner), "mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }", json!({ "i": { "category": "elder_visit", "description": "独居老人需要探访", "form": [{ "key": "people", "value": "1" }], "location": { "lat": CAIJIABA_POINT.0, "lon": CAIJIABA_POINT.1 }, "contactPhone": "138 1234 5678", "idempotencyKey": key } }), "placeOrder")
            .await;
        let id = text(&r["id"]);
        let courtyard = self.token("staff_child").await;
        let station = self.staff_token().await;
        let volunteer = if last >= 3 {
            let v = self.value("vol_self").await;
            Some((v, self.volunteer_token("vol_self")))
        } else {
            None
        };
        let vars = |extra: Value| {
            let mut v = json!({ "id": id });
            if let (Some(v), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                v.extend(e.clone());
            }
            v
        };
        for step in 1..=last {
            let (token, doc, extra, field) = match step {
                1 => {
                    self.ok(
                        courtyard.as_deref(),
                        "mutation($id: ID!) { receiveOrder(orderId: $id, note: \"\") { id } }",
                        vars(json!({})),
                        "receiveOrder",
                    )
                    .await;
                    (
                        courtyard.clone(),
                        "mutation($id: ID!) { escalateOrder(orderId: $id, reason: \"本院无空闲志愿者\") { id } }",
                        json!({}),
                        "escalateOrder",
                    )
                }
                2 => (
                    Some(station.clone()),
                    "mutation($id: ID!) { receiveOrder(orderId: $id, note: \"\") { id } }",
                    json!({}),
                    "receiveOrder",
                ),
                3 => {
                    let (v, _) = volunteer.clone().expect("volunteer");
                    (
                        Some(station.clone()),
                        "mutation($id: ID!, $v: [ID!]!) { dispatchOrder(orderId: $id, volunteerIds: $v, note: \"\") { id } }",
                        json!({ "v": [v] }),
                        "dispatchOrder",
                    )
                }
                4 => (
                    volunteer.clone().map(|v| v.1),
                    "mutation($id: ID!) { acceptOrder(orderId: $id) { id } }",
                    json!({}),
                    "acceptOrder",
                ),
                5 => (
                    volunteer.clone().map(|v| v.1),
                    "mutation($id: ID!) { startOrder(orderId: $id) { id } }",
                    json!({}),
                    "startOrder",
                ),
                _ => {
                    let (v, token) = volunteer.clone().expect("volunteer");
                    (
                        Some(token),
                        "mutation($id: ID!, $h: [OrderHoursInput!]!) { completeOrder(orderId: $id, hours: $h, note: \"\") { id } }",
                        json!({ "h": [{ "volunteerId": v, "hours": 1.5 }] }),
                        "completeOrder",
                    )
                }
            };
            self.ok(token.as_deref(), doc, vars(extra), field).await;
        }
        id
    }

    /// Registers a volunteer homed at the anchor, by its own account (`token` of a
    /// volunteer) or by staff: its id, ID-card number and phone.
    async fn register(&mut self, token: Option<&str>) -> (String, String, String) {
        let (id_card, phone) = identity();
        let anchor = self.value("anchor").await;
        let r = self
            .ok(
                token,
                "mutation($i: RegisterVolunteerInput!) { registerVolunteer(input: $i) { id } }",
                json!({ "i": {
                "name": "测试志愿者",
                "idCardNumber": id_card,
                "phone": phone,
                "homeUnitId": anchor,
                "homeUnitPath": ANCHOR,
                "location": { "lat": NEAR_ANCHOR.0, "lon": NEAR_ANCHOR.1 },
                "skills": ["elder_care"],
                "availability": "Mon-Sun 00:00-24:00",
                "consent": true,
            } }),
                "registerVolunteer",
            )
            .await;
        (text(&r["id"]), id_card, phone)
    }

    /// Runs a set-up step that must succeed; its `data.<field>`.
    async fn ok(&self, token: Option<&str>, doc: &str, vars: Value, field: &str) -> Value {
        let r = self.platform.graphql(token, doc, vars).await;
        assert!(r["errors"].is_null(), "setting up the world, {field}: {r}");
        r["data"][field].clone()
    }
}

/// Asia/Shanghai, where rosters are kept.
fn shanghai() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("offset")
}

/// The day the world's legal-aid appointments are booked on: two days ahead (beyond the
/// station's notice, within its horizon), in Asia/Shanghai.
fn booking_day() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::days(2))
        .with_timezone(&shanghai())
        .date_naive()
}

/// An ID-card number and a phone no other volunteer has: unique within the test process,
/// and each test has a database of its own.
fn identity() -> (String, String) {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // A distinct, real birth date (digits 7-14) for each number.
    let born = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).expect("date")
        + chrono::Duration::days(i64::try_from(n).expect("small"));
    let id_card = tongxin_volunteers::demo::with_check_character(&format!(
        "500153{}001",
        born.format("%Y%m%d")
    ));
    (id_card, format!("139{n:08}"))
}

fn text(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("a string: {v}"))
        .to_owned()
}
