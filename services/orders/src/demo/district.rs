//! The `district` profile's orders: a year of the reference district's orders (100,000 at
//! full scale) in every state, each with the timeline of the moves that brought it there,
//! written as the orders store writes them (the row from the domain [`Order`], one timeline
//! row per move, the per-unit arrival places) but in bulk and without outbox events.
//!
//! Each order is walked through the real state machine ([`decide`] then [`Order::apply`])
//! by the actors the rules allow (the owner, staff of the holding unit, the dispatched
//! volunteers, the scheduler), so every stored order is one the service could have made.
//! Orders start at a courtyard of the profile's tree and climb its chain; the volunteers
//! dispatched are that courtyard's own (by the profile's homes), so every accepted volunteer
//! exists in the volunteers service's district data. Open orders are recent (their receive
//! deadlines lie ahead of the profile's day); closed ones spread over the year.
//! Legal-aid categories are left out: their orders move with a legal-aid station's events.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{EntityTrait, Iterable, PaginatorTrait, TransactionTrait};
use tongxin_platform::db::classify;
use tongxin_platform::district::{
    District, Loaded, Mix, Progress, Quiet, TreeUnit, chunk_rows, insert_rows, learn_tree,
};
use tongxin_platform::geo::Coordinates;
use uuid::Uuid;

use crate::domain::machine::{Actor, Assignee, ChainUnit, Command, decide};
use crate::domain::menu::{Category, FieldKind, Handling};
use crate::domain::order::{Order, Placement, ReceiveDeadline, Route};
use crate::domain::{Hours, Level, OrderId, OrderState, Rating, UnitId, VolunteerId};
use crate::service::Orders;
use crate::store::{orders, timeline};

/// The subject staff moves are recorded under (the unit's staff, synthetic).
const STAFF: &str = "district-staff";
/// Citizens placing the orders: `district-citizen-<n>`, fewer than orders (people order
/// again).
const CITIZENS_PER_ORDER: f64 = 0.4;

const SERVICE: &str = "orders";

/// What an order's life ends in, with its share of the year's orders (percent).
const FATES: &[(OrderState, u64)] = &[
    (OrderState::Placed, 4),
    (OrderState::Escalated, 3),
    (OrderState::Received, 4),
    (OrderState::Dispatched, 4),
    (OrderState::Accepted, 3),
    (OrderState::InProgress, 3),
    (OrderState::Completed, 14),
    (OrderState::Rated, 55),
    (OrderState::Cancelled, 10),
];

const COMMENTS: &[&str] = &["服务很周到", "志愿者很耐心", "来得及时", "", "还可以"];
const CANCEL_REASONS: &[&str] = &["已自行解决", "时间不合适", "重复下单"];
const ESCALATE_REASONS: &[&str] = &[
    "小院缺少相应技能的志愿者",
    "需要上级协调资源",
    "超出本级处理范围",
];

/// Loads the district's orders unless the database holds orders already, in which case it
/// says so and adds nothing. The menu (the demo's) and the tree's units are written first.
pub async fn load(
    service: &Orders,
    district: &District,
    progress: &dyn Progress,
) -> anyhow::Result<Loaded> {
    let held = orders::Entity::find()
        .count(service.db())
        .await
        .map_err(classify)?;
    if held > 0 {
        progress.note(&format!(
            "orders: the database already holds {held} orders; nothing added"
        ));
        return Ok(Loaded::already_loaded());
    }
    let tree = tongxin_platform::district::tree::tree();
    let mut loaded = Loaded::default();
    let units = learn_tree(SERVICE, &tree, progress, |u| async move {
        service.remember_unit(u.id(), &u.path, u.level).await
    })
    .await?;
    loaded.add("known_units", units);
    super::seed_menu(service)
        .await
        .map_err(|e| anyhow::anyhow!("seeding the service menu: {e:?}"))?;
    let (orders, moves) = write_orders(service, district, &tree, progress).await?;
    loaded.add("orders", orders);
    loaded.add("order_timeline", moves);
    Ok(loaded)
}

/// The chain of every courtyard (courtyard → station → institute → center), in tree order.
fn chains(tree: &[TreeUnit]) -> Vec<(Vec<ChainUnit>, f64, f64)> {
    let by_path: HashMap<&str, &TreeUnit> = tree.iter().map(|u| (u.path.as_str(), u)).collect();
    tree.iter()
        .filter(|u| u.level == Level::Courtyard)
        .map(|c| {
            let mut chain = Vec::new();
            let mut at = Some(c);
            while let Some(u) = at {
                chain.push(ChainUnit {
                    id: UnitId(u.id()),
                    path: u.path.clone(),
                    level: u.level,
                });
                at = u.parent_path().and_then(|p| by_path.get(p).copied());
            }
            (chain, c.lat, c.lon)
        })
        .collect()
}

/// The unit of `chain` that handles `level`: the first at that level or above (as
/// placement decides).
fn holding_index(chain: &[ChainUnit], level: Level) -> usize {
    chain
        .iter()
        .position(|u| u.level >= level)
        .unwrap_or(chain.len().saturating_sub(1))
}

/// Form answers a category's required fields accept.
fn answers(category: &Category, at: DateTime<Utc>, mix: &mut Mix) -> BTreeMap<String, String> {
    let mut form = BTreeMap::new();
    for f in &category.fields {
        if !f.required && mix.below(2) == 0 {
            continue;
        }
        let value = match f.kind {
            FieldKind::Number => (1 + mix.below(4)).to_string(),
            FieldKind::Date => (at + Duration::days(2)).format("%Y-%m-%d").to_string(),
            FieldKind::Choice => f
                .choices
                .get(mix.pick(f.choices.len()))
                .cloned()
                .unwrap_or_default(),
            FieldKind::Text => "（合成）".to_owned(),
        };
        form.insert(f.key.clone(), value);
    }
    form
}

/// One order's life, the order as it ends and the timeline rows of its moves.
struct Life {
    order: Order,
    moves: Vec<timeline::Model>,
}

/// Everything an order's walk needs besides the order.
struct Walk<'a> {
    district: &'a District,
    mix: Mix,
    arrivals: HashMap<Uuid, i64>,
    courtyards: usize,
    per_courtyard: usize,
}

impl Walk<'_> {
    /// Applies `command` by `actor` (named `subject`) at `at`; a move the rules refuse is
    /// this generator's bug, reported with the order.
    fn step(
        &mut self,
        life: &mut Life,
        actor: &Actor<'_>,
        subject: &str,
        command: Command,
        note: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let order = &life.order;
        let outcome = decide(&order.facts(), actor, &command).map_err(|e| {
            anyhow::anyhow!(
                "district order {}: {} from {} refused: {e:?}",
                order.number,
                command.action(),
                order.state.as_str()
            )
        })?;
        let restarted = outcome.restart_deadline.then(|| ReceiveDeadline {
            at: at + Duration::hours(48),
            remind_at: None,
        });
        let next = order.apply(actor, &command, outcome, note, at, restarted)?;
        let holding = next.holding_unit().clone();
        let arrival = crate::events::is_arrival(command.event()).then(|| self.arrive(holding.id.0));
        life.moves.push(timeline::Model {
            id: self.mix.uuid_v7(at),
            order_id: next.id.0,
            from_state: Some(order.state.into()),
            to_state: next.state.into(),
            event: command.event().to_owned(),
            actor: subject.to_owned(),
            role: actor.role().to_owned(),
            unit_id: holding.id.0,
            unit_path: holding.path.clone(),
            level: holding.level,
            note: note.to_owned(),
            at,
            version: next.version,
            arrival,
        });
        life.order = next;
        Ok(())
    }

    /// The next arrival place at `unit`.
    fn arrive(&mut self, unit: Uuid) -> i64 {
        let last = self.arrivals.entry(unit).or_insert(0);
        *last += 1;
        *last
    }

    /// Staff of the unit holding the order, as an actor (their scope is that unit).
    fn staff(life: &Life) -> String {
        life.order.holding_unit().path.clone()
    }
}

/// The time a few minutes to `max_minutes` after `at`, which it becomes.
fn later(walk: &mut Walk<'_>, at: &mut DateTime<Utc>, max_minutes: u64) -> DateTime<Utc> {
    *at += Duration::minutes(5 + walk.mix.below(max_minutes) as i64);
    *at
}

/// The owner cancels `life` a few minutes to `max_minutes` after `at`, giving one of the
/// usual reasons; the order ends there.
fn cancel(
    walk: &mut Walk<'_>,
    mut life: Life,
    citizen: &str,
    at: &mut DateTime<Utc>,
    max_minutes: u64,
) -> anyhow::Result<Life> {
    let reason = CANCEL_REASONS[walk.mix.pick(CANCEL_REASONS.len())];
    let t = later(walk, at, max_minutes);
    walk.step(
        &mut life,
        &Actor::Citizen { subject: citizen },
        citizen,
        Command::Cancel {
            reason: reason.into(),
        },
        reason,
        t,
    )?;
    Ok(life)
}

/// The `n`th order, walked to its fate.
#[allow(clippy::too_many_arguments)]
fn order_life(
    walk: &mut Walk<'_>,
    service: &Orders,
    n: u64,
    categories: &[Category],
    chains: &[(Vec<ChainUnit>, f64, f64)],
    citizens: u64,
    district_code: &str,
) -> anyhow::Result<Life> {
    let mix = &mut walk.mix;
    let fate = {
        let roll = mix.below(100);
        let mut acc = 0;
        FATES
            .iter()
            .find(|(_, share)| {
                acc += share;
                roll < acc
            })
            .map_or(OrderState::Rated, |(s, _)| *s)
    };
    let open = !matches!(
        fate,
        OrderState::Completed | OrderState::Rated | OrderState::Cancelled
    );
    // Escalation up the ladder: unreceived past the deadline (the scheduler), or
    // received and passed up by staff with a reason.
    let climbs = fate == OrderState::Escalated || mix.below(10) == 0;
    let by_scheduler = mix.below(2) == 0;
    // Open orders are from the last day (the receive deadline of one still awaiting
    // receipt lies ahead), or the last three when the scheduler escalated them after
    // their 48 hours; closed ones are from the past year.
    let placed_at = if open {
        let waited = if climbs && by_scheduler && fate != OrderState::Placed {
            48 * 60
        } else {
            0
        };
        walk.district.today - Duration::minutes(30 + waited + mix.below(20 * 60) as i64)
    } else {
        walk.district.today - Duration::days(2 + mix.below(363) as i64)
            + Duration::minutes(mix.below(14 * 60) as i64)
    };
    let category = &categories[mix.pick(categories.len())];
    let c = mix.pick(chains.len());
    let (chain, lat, lon) = &chains[c];
    let location = Coordinates::parse(
        (lat + mix.signed() * 0.006).clamp(29.25, 29.65),
        (lon + mix.signed() * 0.006).clamp(105.30, 105.75),
    )?;
    // Courtyard matters start at the courtyard, general ones at the station, major ones
    // higher up; some climb one level further.
    let holding = holding_index(chain, category.default_level);
    let citizen = format!("district-citizen-{}", mix.below(citizens));
    let phone = mix.mobile();
    let route = Route::new(chain.clone(), holding)?;
    let courtyard = Some(chain[0].id);
    let form = answers(category, placed_at, mix);
    let order = Order::place(Placement {
        id: OrderId(mix.uuid_v7(placed_at)),
        number: format!(
            "{}{}{n:09}",
            district_code.to_uppercase(),
            placed_at.format("%Y%m%d")
        ),
        citizen: citizen.clone(),
        idempotency_key: format!("district-{n}"),
        category: category.code.clone(),
        description: format!("{}（合成）", category.name),
        form,
        location,
        preferred_at: (mix.below(3) == 0).then_some(placed_at + Duration::days(2)),
        phone_cipher: service.cipher().encrypt(&phone)?,
        photos: Vec::new(),
        district: district_code.to_owned(),
        courtyard,
        route,
        routing_note: String::new(),
        duplicate_of: None,
        deadline: ReceiveDeadline {
            at: placed_at + Duration::hours(48),
            remind_at: None,
        },
        at: placed_at,
    });
    let holding_unit = order.holding_unit().clone();
    let mut life = Life {
        moves: vec![timeline::Model {
            id: walk.mix.uuid_v7(placed_at),
            order_id: order.id.0,
            from_state: None,
            to_state: order.state.into(),
            event: "placed".into(),
            actor: citizen.clone(),
            role: "citizen".into(),
            unit_id: holding_unit.id.0,
            unit_path: holding_unit.path.clone(),
            level: holding_unit.level,
            note: String::new(),
            at: placed_at,
            version: order.version,
            arrival: Some(walk.arrive(holding_unit.id.0)),
        }],
        order,
    };
    let owner = Actor::Citizen { subject: &citizen };
    let mut at = placed_at;
    if fate == OrderState::Placed {
        return Ok(life);
    }
    let cancel_early = fate == OrderState::Cancelled && walk.mix.below(3) == 0;
    if cancel_early {
        return cancel(walk, life, &citizen, &mut at, 120);
    }
    if climbs && !life.order.route.at_top() {
        if by_scheduler {
            let t = at + Duration::hours(48) + Duration::minutes(1);
            at = t;
            walk.step(
                &mut life,
                &Actor::Scheduler,
                "scheduler",
                Command::AutoEscalate,
                "",
                t,
            )?;
        } else {
            let scope = Walk::staff(&life);
            let t = later(walk, &mut at, 180);
            walk.step(
                &mut life,
                &Actor::Staff {
                    subject: STAFF,
                    scope: Some(&scope),
                },
                STAFF,
                Command::Receive,
                "",
                t,
            )?;
            let reason = ESCALATE_REASONS[walk.mix.pick(ESCALATE_REASONS.len())];
            let t = later(walk, &mut at, 240);
            walk.step(
                &mut life,
                &Actor::Staff {
                    subject: STAFF,
                    scope: Some(&scope),
                },
                STAFF,
                Command::Escalate {
                    reason: reason.into(),
                },
                reason,
                t,
            )?;
        }
        if fate == OrderState::Escalated {
            return Ok(life);
        }
    }
    let scope = Walk::staff(&life);
    let staff = Actor::Staff {
        subject: STAFF,
        scope: Some(&scope),
    };
    let t = later(walk, &mut at, 240);
    walk.step(&mut life, &staff, STAFF, Command::Receive, "", t)?;
    if fate == OrderState::Received {
        return Ok(life);
    }
    if fate == OrderState::Cancelled && walk.mix.below(2) == 0 {
        return cancel(walk, life, &citizen, &mut at, 600);
    }
    // One or two of the courtyard's own volunteers.
    let courtyard_index = chains
        .iter()
        .position(|(ch, _, _)| ch[0].id == chain[0].id)
        .unwrap_or(c);
    let mut dispatched: Vec<VolunteerId> = Vec::new();
    for _ in 0..1 + walk.mix.below(2) {
        let k = walk.mix.pick(walk.per_courtyard);
        if let Some(v) = walk
            .district
            .volunteer_at(courtyard_index, k, walk.courtyards)
            .or_else(|| {
                walk.district
                    .volunteer_at(courtyard_index, 0, walk.courtyards)
            })
        {
            let id = VolunteerId(walk.district.volunteer_id(v));
            if !dispatched.contains(&id) {
                dispatched.push(id);
            }
        }
    }
    if dispatched.is_empty() {
        // A scale so small this courtyard has nobody: the order stays received.
        return Ok(life);
    }
    let t = later(walk, &mut at, 600);
    walk.step(
        &mut life,
        &staff,
        STAFF,
        Command::Dispatch {
            to: Assignee::Volunteers(dispatched.clone()),
        },
        "",
        t,
    )?;
    if fate == OrderState::Dispatched {
        return Ok(life);
    }
    if fate == OrderState::Cancelled {
        return cancel(walk, life, &citizen, &mut at, 600);
    }
    // With two dispatched, one may decline and the other accept.
    if dispatched.len() == 2 && walk.mix.below(3) == 0 {
        let t = later(walk, &mut at, 300);
        let first = Actor::Volunteer {
            id: Some(dispatched[0]),
        };
        walk.step(
            &mut life,
            &first,
            &dispatched[0].to_string(),
            Command::Decline {
                reason: "时间冲突".into(),
            },
            "时间冲突",
            t,
        )?;
        dispatched.remove(0);
    }
    let accepter = dispatched[0];
    let volunteer = Actor::Volunteer { id: Some(accepter) };
    let subject = accepter.to_string();
    let t = later(walk, &mut at, 600);
    walk.step(&mut life, &volunteer, &subject, Command::Accept, "", t)?;
    if fate == OrderState::Accepted {
        return Ok(life);
    }
    let t = later(walk, &mut at, 1_440);
    walk.step(&mut life, &volunteer, &subject, Command::Start, "", t)?;
    if fate == OrderState::InProgress {
        return Ok(life);
    }
    let hours: Vec<(VolunteerId, Hours)> = life
        .order
        .accepted
        .iter()
        .map(|v| Ok((*v, Hours::parse(0.25 * (4 + walk.mix.below(13)) as f64)?)))
        .collect::<Result<_, crate::domain::DomainError>>()?;
    let t = later(walk, &mut at, 240);
    walk.step(
        &mut life,
        &volunteer,
        &subject,
        Command::Complete { hours },
        "",
        t,
    )?;
    if fate == OrderState::Completed {
        return Ok(life);
    }
    let stars = [5, 5, 5, 4, 4, 3, 2][walk.mix.pick(7)];
    let comment = COMMENTS[walk.mix.pick(COMMENTS.len())];
    let t = later(walk, &mut at, 2_880);
    walk.step(
        &mut life,
        &owner,
        &citizen,
        Command::Rate {
            rating: Rating::parse(stars)?,
        },
        comment,
        t,
    )?;
    Ok(life)
}

async fn write_orders(
    service: &Orders,
    district: &District,
    tree: &[TreeUnit],
    progress: &dyn Progress,
) -> anyhow::Result<(u64, u64)> {
    let categories: Vec<Category> = super::menu()
        .into_iter()
        .filter(|c| c.handling == Handling::Volunteers)
        .collect();
    let chains = chains(tree);
    let total = district.counts().orders;
    let citizens = ((total as f64 * CITIZENS_PER_ORDER) as u64).max(1);
    let district_code = tongxin_platform::district::DISTRICT;
    let mut walk = Walk {
        district,
        mix: district.mix("orders/orders"),
        arrivals: HashMap::new(),
        courtyards: chains.len(),
        per_courtyard: district.volunteers_per_courtyard(chains.len()),
    };
    let bar = progress.table(SERVICE, "orders", total as u64);
    let per_txn = chunk_rows(orders::Column::iter().count()) * 4;
    let (mut written, mut moves_written) = (0u64, 0u64);
    let mut n = 0u64;
    while (n as usize) < total {
        let end = ((n as usize + per_txn).min(total)) as u64;
        let mut rows = Vec::with_capacity(per_txn);
        let mut moves = Vec::new();
        for k in n..end {
            let life = order_life(
                &mut walk,
                service,
                k,
                &categories,
                &chains,
                citizens,
                district_code,
            )?;
            rows.push(orders::Model::from(&life.order));
            moves.extend(life.moves);
        }
        let txn = service.db().begin().await.map_err(classify)?;
        written += insert_rows(&txn, &rows, bar.as_ref())
            .await
            .map_err(classify)?;
        moves_written += insert_rows(&txn, &moves, &Quiet).await.map_err(classify)?;
        txn.commit().await.map_err(classify)?;
        n = end;
    }
    bar.finish();
    // Each unit's arrival count, so the next live arrival continues after the history.
    let txn = service.db().begin().await.map_err(classify)?;
    let mut units: Vec<(Uuid, i64)> = walk.arrivals.into_iter().collect();
    units.sort();
    for (unit, last) in units {
        crate::store::arrivals::set_last(&txn, unit, last).await?;
    }
    txn.commit().await.map_err(classify)?;
    Ok((written, moves_written))
}
