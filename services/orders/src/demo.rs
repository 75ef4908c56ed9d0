//! Demo data for `tongxin run`: a service menu and a handful of orders in every state,
//! placed and moved through the real operations (so they carry timelines and events).
//! Everything here is synthetic.

pub mod district;

use std::collections::BTreeMap;

use tongxin_platform::auth::{Principal, Role, SigningKey};
use tongxin_platform::config::AuthSettings;
use uuid::Uuid;

use crate::domain::Level;
use crate::domain::menu::{Category, FieldKind, FormField, Handling, Sla};
use crate::error::OrdersError;
use crate::service::{Move, NewOrder, Orders};
use crate::store::{categories, orders};

fn field(key: &str, label: &str, kind: FieldKind, required: bool, choices: &[&str]) -> FormField {
    FormField {
        key: key.into(),
        label: label.into(),
        kind,
        required,
        choices: choices.iter().map(|c| (*c).to_owned()).collect(),
    }
}

/// The demo menu: own matters at the courtyard, general at the station, major higher up.
pub fn menu() -> Vec<Category> {
    use FieldKind::*;
    let cat = |code: &str, name: &str, group: &str, level, skills: &[&str], fields| Category {
        code: code.into(),
        name: name.into(),
        group: group.into(),
        default_level: level,
        skills: skills.iter().map(|s| (*s).to_owned()).collect(),
        fields,
        sla: Sla::default(),
        active: true,
        handling: Handling::Volunteers,
    };
    let legal = |mut c: Category, service: &str| {
        c.handling = Handling::LegalAid {
            service: service.to_owned(),
        };
        c
    };
    vec![
        cat(
            "elder_visit",
            "助老探访",
            "助老",
            Level::Courtyard,
            &["elder_care"],
            vec![
                field("people", "老人人数", Number, true, &[]),
                field("visit_date", "希望日期", Date, false, &[]),
            ],
        ),
        cat(
            "home_repair",
            "家电维修",
            "便民",
            Level::Courtyard,
            &["repair"],
            vec![
                field(
                    "appliance",
                    "电器",
                    Choice,
                    true,
                    &["电视", "冰箱", "洗衣机", "其他"],
                ),
                field("detail", "故障描述", Text, false, &[]),
            ],
        ),
        // Handled by a legal-aid station: dispatched to a station, booked there.
        legal(
            cat(
                "legal_consult",
                "法律咨询",
                "law",
                Level::Station,
                &["legal"],
                vec![field(
                    "matter",
                    "事项",
                    Choice,
                    true,
                    &["婚姻家庭", "劳动争议", "邻里纠纷", "其他"],
                )],
            ),
            "consultation",
        ),
        legal(
            cat(
                "labour_mediation",
                "劳动纠纷调解",
                "law",
                Level::Station,
                &["legal"],
                vec![
                    field("employer", "用人单位", Text, false, &[]),
                    field("workers", "涉及人数", Number, false, &[]),
                ],
            ),
            "mediation",
        ),
        cat(
            "policy_talk",
            "政策宣讲进院坝",
            "policy",
            Level::Station,
            &["publicity"],
            vec![field("audience", "听众人数", Number, true, &[])],
        ),
        cat(
            "health_lecture",
            "健康讲座",
            "health",
            Level::Institute,
            &["medical"],
            vec![
                field("audience", "听众人数", Number, true, &[]),
                field("date", "日期", Date, false, &[]),
            ],
        ),
        cat(
            "farm_tech",
            "农技指导",
            "science",
            Level::Institute,
            &["agriculture"],
            vec![field("crop", "作物", Text, true, &[])],
        ),
        cat(
            "major_event",
            "大型文明实践活动",
            "changes",
            Level::Center,
            &["performance", "publicity"],
            vec![
                field("participants", "参与人数", Number, true, &[]),
                field("date", "日期", Date, true, &[]),
            ],
        ),
    ]
}

/// Adds the demo menu where its codes are missing; returns how many categories exist.
pub async fn seed_menu(orders: &Orders) -> Result<usize, OrdersError> {
    for c in menu() {
        let c = c.parse()?;
        let row = categories::Model::from_category(&c, "demo", orders.default_district());
        categories::insert_if_absent(orders.db(), row).await?;
    }
    Ok(categories::all(orders.db()).await?.len())
}

/// A demo person with a token signed by `key`, as `tongxin run`'s verifier (the default
/// auth settings) accepts it: volunteers verifies it again when orders asks on their behalf.
fn principal(
    key: &SigningKey,
    subject: &str,
    roles: &[Role],
    unit: Option<Uuid>,
) -> Result<Principal, OrdersError> {
    let mut principal = Principal {
        subject: subject.into(),
        roles: roles.to_vec(),
        unit,
        district: Some("rc".into()),
        credential: None,
    };
    let auth = AuthSettings::default();
    key.sign_principal(
        &mut principal,
        &auth.issuer,
        &auth.audience,
        std::time::Duration::from_secs(600),
    )
    .map_err(|e| OrdersError::Unavailable(format!("signing a demo token: {e}")))?;
    Ok(principal)
}

/// The demo volunteer's account (`tongxin run` prints its token; the volunteers demo data
/// links it to a volunteer record).
pub const DEMO_VOLUNTEER_SUBJECT: &str = "demo-volunteer";

/// Places and moves demo orders at `point` so every state is shown, once (nothing when
/// orders exist). `center` is the district center's id, whose staff make the staff moves.
/// Needs venues answering for routing and volunteers for the demo volunteer; returns how
/// many orders were placed.
pub async fn seed_orders(
    orders: &Orders,
    key: &SigningKey,
    center: Uuid,
    point: (f64, f64),
) -> Result<usize, OrdersError> {
    if !orders::list(orders.db(), &orders::Filter::default(), None, 1)
        .await?
        .is_empty()
    {
        return Ok(0);
    }
    let citizen = orders
        .caller(Some(&principal(
            key,
            "demo-citizen",
            &[Role::Citizen],
            None,
        )?))
        .await?;
    let staff = orders
        .caller(Some(&principal(
            key,
            "demo-center-staff",
            &[Role::Staff],
            Some(center),
        )?))
        .await?;
    // The demo volunteer acts through their account, linked by the volunteers demo data.
    let volunteer = orders
        .caller(Some(&principal(
            key,
            DEMO_VOLUNTEER_SUBJECT,
            &[Role::Volunteer],
            None,
        )?))
        .await?;
    let volunteer_id = volunteer
        .volunteer
        .for_move()?
        .ok_or_else(|| {
            OrdersError::Unavailable(format!(
                "the account {DEMO_VOLUNTEER_SUBJECT} has no volunteer record"
            ))
        })?
        .0;
    // (category, form, moves to make)
    type Plan = (&'static str, &'static [(&'static str, &'static str)], usize);
    let plans: [Plan; 9] = [
        ("elder_visit", &[("people", "1")], 0),
        // A legal order waits at its level for a dispatch to a station.
        ("legal_consult", &[("matter", "邻里纠纷")], 1),
        ("home_repair", &[("appliance", "电视")], 2),
        ("policy_talk", &[("audience", "40")], 3),
        ("health_lecture", &[("audience", "60")], 4),
        ("farm_tech", &[("crop", "草莓")], 5),
        ("elder_visit", &[("people", "2")], 6),
        ("home_repair", &[("appliance", "冰箱")], 7),
        (
            "major_event",
            &[("participants", "300"), ("date", "2026-12-20")],
            8,
        ),
    ];
    let mut placed = 0;
    for (i, (category, form, steps)) in plans.into_iter().enumerate() {
        let form: BTreeMap<String, String> = form
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let view = orders
            .place(
                &citizen,
                NewOrder {
                    category: category.into(),
                    description: format!("示例订单 {} (合成)", i + 1),
                    form,
                    // A few dozen metres apart, all nearest the given courtyard (repeats of a
                    // category show the likely-duplicate flag).
                    lat: point.0 + 0.0003 * i as f64,
                    lon: point.1,
                    preferred_at: None,
                    phone: "13800001234".into(),
                    photos: vec![],
                    idempotency_key: format!("demo-{i}"),
                },
            )
            .await?;
        placed += 1;
        let id = view.order.id;
        let moves: Vec<(&crate::service::Caller, Move)> = vec![
            (
                &staff,
                Move::Receive {
                    note: "收单".into(),
                },
            ),
            (
                &staff,
                Move::Dispatch {
                    volunteers: vec![volunteer_id],
                    team: None,
                    legal_aid_station: None,
                    note: String::new(),
                },
            ),
            (&volunteer, Move::Accept),
            (&volunteer, Move::Start),
            (
                &volunteer,
                Move::Complete {
                    hours: vec![(volunteer_id, 1.5)],
                    note: String::new(),
                    outcome: String::new(),
                },
            ),
            (
                &citizen,
                Move::Rate {
                    rating: 5,
                    comment: "很及时,谢谢!".into(),
                },
            ),
        ];
        let moves: Vec<(&crate::service::Caller, Move)> = match steps {
            // placed
            0 => vec![],
            // received … rated
            1..=6 => moves.into_iter().take(steps).collect(),
            // escalated: received at its level, passed up
            7 => vec![
                (
                    &staff,
                    Move::Receive {
                        note: String::new(),
                    },
                ),
                (
                    &staff,
                    Move::Escalate {
                        reason: "本级无维修志愿者".into(),
                    },
                ),
            ],
            // cancelled
            _ => vec![(
                &citizen,
                Move::Cancel {
                    reason: "已自行解决".into(),
                },
            )],
        };
        for (who, mv) in moves {
            orders.make_move(who, id, mv).await?;
        }
    }
    Ok(placed)
}

/// The quarter before the one `now` falls in (the district's local time), e.g. `2026Q3`.
pub fn previous_quarter(now: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Datelike;
    let local = now.with_timezone(&tongxin_platform::org::CHINA_STANDARD_TIME);
    let q = local.month0() / 3 + 1;
    if q == 1 {
        format!("{}Q4", local.year() - 1)
    } else {
        format!("{}Q{}", local.year(), q - 1)
    }
}

/// Publishes the demo district's evaluation of the last ended quarter as its center staff,
/// unless one is published already; the version published, or `None`.
pub async fn publish_last_quarter(
    orders: &Orders,
    key: &SigningKey,
    center: Uuid,
) -> Result<Option<i32>, OrdersError> {
    let staff = orders
        .caller(Some(&principal(
            key,
            "demo-center-staff",
            &[Role::Staff],
            Some(center),
        )?))
        .await?;
    let quarter = previous_quarter(orders.now());
    if crate::store::evaluations::publication(orders.db(), "rc", &quarter, None)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let p = orders.publish_evaluation(&staff, &quarter, None).await?;
    Ok(Some(p.version))
}

#[cfg(test)]
mod tests {
    use super::previous_quarter;
    use chrono::{TimeZone, Utc};

    #[test]
    fn the_previous_quarter_counts_local_time() {
        let at = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().expect("t");
        assert_eq!(previous_quarter(at(2026, 12, 1, 0)), "2026Q3");
        // 1 January 02:00 local is still 31 December in UTC.
        assert_eq!(previous_quarter(at(2026, 12, 31, 18)), "2026Q4");
        assert_eq!(previous_quarter(at(2026, 12, 31, 15)), "2026Q3");
        assert_eq!(previous_quarter(at(2026, 2, 1, 0)), "2025Q4");
    }
}
