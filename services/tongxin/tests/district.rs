//! The `district` profile (`tongxin seed --profile district`, `tongxin::seed::district`):
//! a scaled-down district loaded into real PostgreSQL databases, one per service, checked
//! for its counts, every order state, the references between services, legal aid's year of
//! bookings on its rosters, sealed personal data and idempotence; the same seed gives the
//! same rows and another seed other rows.

use std::collections::HashSet;
use std::sync::Arc;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use tokio::process::Command;
use tongxin::settings::Settings;
use tongxin_platform::config::DatabaseSettings;
use tongxin_platform::district::{District, Quiet};
use tongxin_platform::pii::PiiCipher;
use tongxin_testing::{TestDb, TestNats};

const BIN: &str = env!("CARGO_BIN_EXE_tongxin");

/// One database per service, keys and a NATS server: what `tongxin seed` is configured with.
struct Target {
    venues: TestDb,
    volunteers: TestDb,
    orders: TestDb,
    legal_aid: TestDb,
    settings: Settings,
    _keys: tempfile::TempDir,
}

impl Target {
    async fn new(nats: &TestNats) -> Self {
        let keys = tempfile::tempdir().expect("tempdir");
        let dev = tongxin_platform::auth::DevKeys::load_or_generate(keys.path()).expect("keys");
        let (venues, volunteers, orders, legal_aid) = (
            TestDb::new().await,
            TestDb::new().await,
            TestDb::new().await,
            TestDb::new().await,
        );
        let mut settings = Settings::default();
        settings.venues.database = DatabaseSettings::new(venues.url());
        settings.volunteers.database = DatabaseSettings::new(volunteers.url());
        settings.orders.database = DatabaseSettings::new(orders.url());
        settings.legal_aid.database = DatabaseSettings::new(legal_aid.url());
        let key = PiiCipher::generate_key_base64;
        settings.volunteers.pii = tongxin_volunteers::PiiSettings::new(&key(), &key());
        settings.orders.pii_key = key().into();
        settings.venues.pii_key = key().into();
        settings.legal_aid.pii_key = key().into();
        settings.events.nats_url = nats.url();
        settings.auth.jwks_path = Some(dev.jwks_path().to_owned());
        settings.auth.service_key_path = Some(dev.key_path().to_owned());
        Self {
            venues,
            volunteers,
            orders,
            legal_aid,
            settings,
            _keys: keys,
        }
    }

    async fn load(&self, district: District) -> tongxin::district::Report {
        tongxin::seed::district(self.settings.clone(), district, Arc::new(Quiet))
            .await
            .expect("district loads")
    }
}

async fn connect(db: &TestDb) -> sea_orm::DatabaseConnection {
    sea_orm::Database::connect(db.url()).await.expect("connect")
}

async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("count")
}

async fn strings(db: &sea_orm::DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("text"))
        .collect()
}

#[tokio::test]
async fn a_scaled_district_loads_consistent_sealed_and_only_once() {
    let nats = TestNats::start().await;
    let target = Target::new(&nats).await;
    let district = District::new(11).scaled(100);
    let counts = district.counts();
    let report = target.load(district).await;
    assert!(!report.nothing_added());
    let (venues, volunteers, orders) = (
        connect(&target.venues).await,
        connect(&target.volunteers).await,
        connect(&target.orders).await,
    );

    // Counts: the whole tree, the scaled volumes.
    let tree = tongxin_platform::district::tree::tree();
    assert_eq!(
        count(&venues, "SELECT count(*) FROM org_units").await,
        tree.len() as i64
    );
    assert_eq!(
        count(&venues, "SELECT count(*) FROM resident_points").await,
        counts.residents as i64
    );
    assert_eq!(
        count(
            &venues,
            "SELECT count(*) FROM activities WHERE created_by = 'district-seed'"
        )
        .await,
        counts.activities as i64
    );
    // A year's rhythm of visits, its misses closed without events.
    assert!(count(&venues, "SELECT count(*) FROM visits").await > 0);
    let courtyards = tree
        .iter()
        .filter(|u| u.level == tongxin_platform::org::Level::Courtyard)
        .count() as i64;
    assert_eq!(
        count(
            &venues,
            "SELECT count(*) FROM venues WHERE kind = 'courtyard'"
        )
        .await,
        courtyards,
        "a hall per courtyard"
    );
    assert_eq!(
        count(&volunteers, "SELECT count(*) FROM volunteers").await,
        counts.volunteers as i64
    );
    assert_eq!(
        count(&volunteers, "SELECT count(*) FROM teams").await,
        counts.teams as i64
    );
    assert!(count(&volunteers, "SELECT count(*) FROM team_members").await > 0);
    assert!(
        count(&volunteers, "SELECT count(*) FROM hours_entries").await > counts.volunteers as i64
    );
    assert_eq!(
        count(&orders, "SELECT count(*) FROM orders").await,
        counts.orders as i64
    );
    assert_eq!(report.rows("orders", "orders"), counts.orders as u64);

    // Every state, and a timeline row for every version an order went through.
    let states: HashSet<String> = strings(&orders, "SELECT DISTINCT state FROM orders")
        .await
        .into_iter()
        .collect();
    for state in tongxin_orders::domain::OrderState::ALL {
        assert!(
            states.contains(state.as_str()),
            "no {} order in {states:?}",
            state.as_str()
        );
    }
    assert_eq!(
        count(&orders, "SELECT count(*) FROM order_timeline").await,
        count(
            &orders,
            "SELECT COALESCE(sum(version), 0)::bigint FROM orders"
        )
        .await,
        "one timeline row per move"
    );
    assert_eq!(
        count(
            &orders,
            "SELECT count(*) FROM orders o WHERE (SELECT max(version) FROM order_timeline t \
             WHERE t.order_id = o.id) <> o.version"
        )
        .await,
        0
    );
    // Arrival places continue after the history.
    assert_eq!(
        count(
            &orders,
            "SELECT COALESCE(sum(last), 0)::bigint FROM unit_arrivals"
        )
        .await,
        count(
            &orders,
            "SELECT count(*) FROM order_timeline WHERE arrival IS NOT NULL"
        )
        .await
    );

    // References: units in the tree, volunteers that exist.
    let unit_ids: HashSet<String> = tree.iter().map(|u| u.id().to_string()).collect();
    for unit in strings(
        &orders,
        "SELECT DISTINCT holding_unit_id::text FROM orders UNION SELECT DISTINCT courtyard_id::text FROM orders",
    )
    .await
    {
        assert!(unit_ids.contains(&unit), "order unit {unit} not in the tree");
    }
    let volunteer_ids: HashSet<String> = strings(&volunteers, "SELECT id::text FROM volunteers")
        .await
        .into_iter()
        .collect();
    let mut accepted = 0;
    for list in strings(
        &orders,
        "SELECT accepted FROM orders WHERE accepted <> '[]'",
    )
    .await
    {
        let ids: Vec<uuid::Uuid> = serde_json::from_str(&list).expect("id list");
        for id in ids {
            accepted += 1;
            assert!(
                volunteer_ids.contains(&id.to_string()),
                "accepted {id} unknown"
            );
        }
    }
    assert!(accepted > 0);
    for id in strings(
        &volunteers,
        "SELECT DISTINCT volunteer_id::text FROM team_members",
    )
    .await
    {
        assert!(volunteer_ids.contains(&id), "member {id} unknown");
    }
    for id in strings(
        &venues,
        "SELECT DISTINCT volunteer_id::text FROM activity_served_hours",
    )
    .await
    {
        assert!(volunteer_ids.contains(&id), "served {id} unknown");
    }

    // Every stored order reads back as the store reads it (a row that does not parse is
    // an error there), and its phone opens with the service's key.
    let cipher = target.settings.orders.cipher().expect("orders cipher");
    let rows = tongxin_orders::store::orders::Entity::find()
        .all(&orders)
        .await
        .expect("orders");
    for row in rows {
        let phone = cipher.decrypt(&row.phone_cipher).expect("opens");
        tongxin_platform::pii::Phone::parse(&phone).expect("a phone");
        assert!(
            !row.phone_cipher
                .windows(phone.len())
                .any(|w| w == phone.as_bytes()),
            "phone in the clear"
        );
        tongxin_orders::domain::order::Order::try_from(row).expect("reads back");
    }
    // Volunteers: ID-card numbers and phones sealed as the import seals them; the keyed
    // hash (the duplicate check) is the hash of the sealed number.
    let cipher = target
        .settings
        .volunteers
        .pii
        .cipher()
        .expect("volunteers cipher");
    let rows = tongxin_volunteers::store::volunteers::Entity::find()
        .filter(tongxin_volunteers::store::volunteers::Column::VolunteerNo.like("RC8%"))
        .all(&volunteers)
        .await
        .expect("volunteers");
    assert_eq!(rows.len(), counts.volunteers);
    for row in rows.iter().take(200) {
        let number = cipher.decrypt(&row.id_card_cipher).expect("opens");
        assert_eq!(cipher.keyed_hash(&number).to_vec(), row.id_card_hash);
        assert!(
            !row.id_card_cipher
                .windows(18)
                .any(|w| w == number.as_bytes())
        );
        tongxin_platform::pii::Phone::parse(&cipher.decrypt(&row.phone_cipher).expect("opens"))
            .expect("a phone");
    }
    // No events: the first start must not announce a year of history.
    for db in [&venues, &volunteers, &orders] {
        assert_eq!(count(db, "SELECT count(*) FROM outbox_events").await, 0);
    }
    // Legal aid: the district's stations and their year of bookings.
    let legal = connect(&target.legal_aid).await;
    legal_aid_is_consistent(&target, &legal, district, counts.appointments).await;
    assert_eq!(
        report.rows("legal-aid", "appointments"),
        counts.appointments as u64
    );
    assert_eq!(count(&legal, "SELECT count(*) FROM outbox_events").await, 0);

    // Idempotent: a second load says so and adds nothing.
    let again = target.load(district).await;
    assert!(again.nothing_added(), "{again:?}");
    assert_eq!(
        count(&orders, "SELECT count(*) FROM orders").await,
        counts.orders as i64
    );
    assert_eq!(
        count(&volunteers, "SELECT count(*) FROM volunteers").await,
        counts.volunteers as i64
    );
    assert_eq!(
        count(&venues, "SELECT count(*) FROM resident_points").await,
        counts.residents as i64
    );
    assert_eq!(
        count(&legal, "SELECT count(*) FROM stations").await,
        STATIONS
    );
    assert_eq!(
        count(&legal, "SELECT count(*) FROM appointments").await,
        counts.appointments as i64
    );
    assert!(
        tongxin_volunteers::store::volunteers::Entity::find()
            .count(&volunteers)
            .await
            .expect("count")
            > 0
    );
}

/// The district's public legal service stations: the demo's three and one at every other
/// institute.
const STATIONS: i64 = 23;

/// Legal aid's district data: the stations with their providers (some serving two), a
/// year of bookings ending on the day of loading, each on a slot of its station's roster
/// (holidays skipped), no provider booked twice at once, a consultation per visit and a
/// case per matter-opening outcome, personal data sealed.
async fn legal_aid_is_consistent(
    target: &Target,
    legal: &sea_orm::DatabaseConnection,
    district: District,
    appointments: usize,
) {
    use tongxin_legal_aid::domain::LegalService;
    use tongxin_legal_aid::domain::roster::local_date;
    use tongxin_legal_aid::domain::slots;
    use tongxin_legal_aid::store::appointments::appointment;

    assert_eq!(
        count(legal, "SELECT count(*) FROM stations").await,
        STATIONS
    );
    let rows = appointment::Entity::find()
        .all(legal)
        .await
        .expect("appointments");
    assert_eq!(rows.len(), appointments);
    assert!(
        count(
            legal,
            "SELECT count(*) FROM (SELECT provider_id FROM provider_stations \
             GROUP BY provider_id HAVING count(*) > 1) shared"
        )
        .await
            > 0,
        "no provider serves two stations"
    );
    // The year ends on the day of loading.
    assert!(rows.iter().all(|a| a.ends_at <= district.today));
    assert!(
        rows.iter()
            .all(|a| a.starts_at > district.today - chrono::Duration::days(367))
    );
    // What became of them.
    let status = |s: &str| rows.iter().filter(|a| a.status == s).count() as i64;
    assert!(status("checked_in") > 0);
    assert!(status("no_show") + status("cancelled") > 0);
    assert_eq!(
        status("checked_in") + status("no_show") + status("cancelled"),
        appointments as i64
    );
    assert_eq!(
        count(legal, "SELECT count(*) FROM consultations").await,
        status("checked_in"),
        "one consultation per visit"
    );
    assert_eq!(
        count(
            legal,
            "SELECT count(*) FROM consultations c JOIN appointments a \
             ON a.id = c.appointment_id AND a.status = 'checked_in'"
        )
        .await,
        status("checked_in")
    );
    assert_eq!(
        count(legal, "SELECT count(*) FROM legal_cases").await,
        count(
            legal,
            "SELECT count(*) FROM consultations WHERE outcome IN \
             ('mediation_opened', 'case_taken', 'notarization_taken', 'health_check_scheduled')"
        )
        .await,
        "a case per matter-opening outcome"
    );
    assert_eq!(
        count(legal, "SELECT count(*) FROM legal_case_timeline").await,
        count(
            legal,
            "SELECT COALESCE(sum(version), 0)::bigint FROM legal_cases"
        )
        .await
    );
    // No provider is booked twice at once, whatever became of the bookings.
    assert_eq!(
        count(
            legal,
            "SELECT count(*) FROM appointments a JOIN appointments b \
             ON a.provider_id = b.provider_id AND a.id < b.id \
             AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"
        )
        .await,
        0,
        "a provider booked twice at once"
    );
    // Every booking on a slot its station's roster gives (the service's own computation,
    // with the calendar's holidays), by a provider sitting in it.
    let cipher = target
        .settings
        .legal_aid
        .cipher()
        .expect("legal-aid cipher");
    let service = tongxin_legal_aid::service::LegalAid::new(
        legal.clone(),
        Default::default(),
        target
            .settings
            .legal_aid
            .cipher()
            .expect("legal-aid cipher"),
    );
    let last = local_date(district.today);
    let mut offered = HashSet::new();
    for station in service.stations().await.expect("stations") {
        let mut from = last - chrono::Duration::days(367);
        while from <= last {
            let to = (from + chrono::Duration::days(59)).min(last);
            let sittings: Vec<_> = service
                .duty_roster(station.id, from, to)
                .await
                .expect("roster")
                .into_iter()
                .flat_map(|d| d.sittings)
                .collect();
            for kind in LegalService::ALL {
                for slot in slots::cut(&sittings, kind) {
                    for p in &slot.free {
                        offered.insert((
                            station.id.0,
                            p.0,
                            kind.code(),
                            slot.starts_at,
                            slot.ends_at,
                        ));
                    }
                }
            }
            from = to + chrono::Duration::days(1);
        }
    }
    for a in &rows {
        let key = (
            a.station_id,
            a.provider_id.expect("a provider"),
            a.service.as_str(),
            a.starts_at,
            a.ends_at,
        );
        assert!(
            offered.contains(&key),
            "appointment {} ({} {} at {}) is on no roster slot",
            a.id,
            a.service,
            a.status,
            a.starts_at
        );
    }
    // Topics, parties and phones sealed with the service's key.
    let mut phones = 0;
    for a in &rows {
        let topic = cipher.decrypt(&a.topic_cipher).expect("topic opens");
        assert!(!topic.is_empty());
        let parties: Vec<String> =
            serde_json::from_str(&cipher.decrypt(&a.parties_cipher).expect("parties open"))
                .expect("a list");
        assert_eq!(parties.len(), 2);
        if let Some(sealed) = &a.phone_cipher {
            let phone = cipher.decrypt(sealed).expect("phone opens");
            tongxin_platform::pii::Phone::parse(&phone).expect("a phone");
            assert!(!sealed.windows(phone.len()).any(|w| w == phone.as_bytes()));
            phones += 1;
        }
    }
    assert!(phones > 0);
}

/// A sample of every service's generated rows, as text.
async fn sample(target: &Target) -> Vec<String> {
    let (venues, volunteers, orders) = (
        connect(&target.venues).await,
        connect(&target.volunteers).await,
        connect(&target.orders).await,
    );
    let mut rows = Vec::new();
    rows.extend(
        strings(
            &volunteers,
            "SELECT id::text || name || volunteer_no || home_unit_path || lat::text FROM volunteers ORDER BY id",
        )
        .await,
    );
    rows.extend(
        strings(
            &orders,
            "SELECT id::text || order_no || state || holding_unit_path || accepted || placed_at::text FROM orders ORDER BY id",
        )
        .await,
    );
    rows.extend(
        strings(
            &orders,
            "SELECT id::text || event || unit_path || at::text FROM order_timeline ORDER BY id",
        )
        .await,
    );
    rows.extend(
        strings(
            &venues,
            "SELECT id::text || title || venue_id::text || starts_at::text FROM activities WHERE created_by = 'district-seed' ORDER BY id",
        )
        .await,
    );
    rows.extend(
        strings(
            &venues,
            "SELECT unit_path || lat::text || lon::text FROM resident_points ORDER BY id",
        )
        .await,
    );
    let legal = connect(&target.legal_aid).await;
    for sql in [
        "SELECT id::text || name || org_unit_path FROM stations ORDER BY id",
        "SELECT id::text || name FROM providers ORDER BY id",
        "SELECT id::text || station_id::text || provider_id::text || service || status \
         || citizen || starts_at::text FROM appointments ORDER BY id",
        "SELECT id::text || appointment_id::text || outcome FROM consultations ORDER BY id",
    ] {
        rows.extend(strings(&legal, sql).await);
    }
    rows
}

#[tokio::test]
async fn the_same_seed_gives_the_same_rows_and_another_seed_differs() {
    let nats = TestNats::start().await;
    let today = District::new(0).today;
    let (a, b, c) = (
        Target::new(&nats).await,
        Target::new(&nats).await,
        Target::new(&nats).await,
    );
    a.load(District::new(7).scaled(1000).on(today)).await;
    b.load(District::new(7).scaled(1000).on(today)).await;
    c.load(District::new(8).scaled(1000).on(today)).await;
    let (sa, sb, sc) = (sample(&a).await, sample(&b).await, sample(&c).await);
    assert!(sa.len() > 1_000, "{} rows", sa.len());
    assert_eq!(sa.len(), sb.len());
    let differ: Vec<(&String, &String)> = sa.iter().zip(&sb).filter(|(x, y)| x != y).collect();
    assert!(
        differ.is_empty(),
        "the same seed, other rows ({} of {}), first: {:?}",
        differ.len(),
        sa.len(),
        differ.first()
    );
    let shared = sa.iter().filter(|r| sc.contains(r)).count();
    assert!(
        shared < sa.len() / 10,
        "{shared} of {} rows the same",
        sa.len()
    );
}

#[tokio::test]
async fn an_unknown_profile_is_refused_naming_the_valid_ones() {
    let output = Command::new(BIN)
        .args(["seed", "--profile", "nonsense"])
        .output()
        .await
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nonsense") && stderr.contains("demo, district"),
        "{stderr}"
    );
    // A seed means nothing to the demo: refused, not ignored.
    let output = Command::new(BIN)
        .args(["seed", "--seed", "3"])
        .output()
        .await
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--profile district only"), "{stderr}");
}
