//! The `district` profile's legal aid: the reference district's public legal service
//! stations ([`plan`]: the demo's three and a workstation at every other institute, 23 in
//! all, with their providers and weekly rosters) and a year of bookings ending on the
//! profile's day, 8,000 at full scale (about 350 a station, as the seed's station had),
//! written as the operations write them but in bulk and without events.
//!
//! Every booking sits on a slot the station's own roster gives (the rules, with the
//! holiday calendar the database holds: no roster on a holiday, a make-up day following
//! its weekday), no slot twice; a provider's rules never overlap across stations, so no
//! provider is ever booked twice at once. Most visitors came and their consultation was
//! logged (some opening a mediation, a legal-aid case, a notarization or a health check,
//! closed two weeks later unless that is after the profile's day), a few did not come and
//! a few cancelled. Visitors are the district's citizens (`district-citizen-<n>`, as in
//! orders); topics, parties and phones are sealed with the service's cipher.

mod plan;

use chrono::Duration;
use sea_orm::TransactionTrait;
use tongxin_platform::db::classify;
use tongxin_platform::district::{District, Loaded, Mix, Progress, insert_table, learn_tree};
use tongxin_platform::pii::Phone;

use super::history::{Fate, Rows, Visitor, shuffle};
use crate::domain::LegalService;
use crate::domain::calendar::Calendar;
use crate::domain::roster::{self, Rule, local_date};
use crate::domain::slots::{self, Slot};
use crate::error::LegalAidError;
use crate::service::LegalAid;
use crate::service::consultations::Outcome;

const SERVICE: &str = "legal-aid";
/// Who logged the history's outcomes and moved its cases.
const ACTOR: &str = "district-seed";
/// Citizens among the visitors: fewer than bookings (people come back).
const CITIZENS_PER_BOOKING: f64 = 0.7;
/// Visitors who left a phone, percent.
const WITH_PHONE: u64 = 70;

/// What the bookings of a service ended in, per mille: the seed's station's mix (mostly
/// answered, some referred, a few cases; a few no-shows and cancellations).
fn fates(service: LegalService) -> &'static [(Fate, u64)] {
    use Outcome::*;
    match service {
        LegalService::Mediation => &[
            (Fate::Logged(MediationOpened), 550),
            (Fate::Logged(Answered), 350),
            (Fate::Logged(Referred), 30),
            (Fate::NoShow, 40),
            (Fate::Cancelled, 30),
        ],
        LegalService::Notarization => &[
            (Fate::Logged(NotarizationTaken), 420),
            (Fate::Logged(Answered), 500),
            (Fate::NoShow, 40),
            (Fate::Cancelled, 40),
        ],
        _ => &[
            (Fate::Logged(Answered), 810),
            (Fate::Logged(Referred), 60),
            (Fate::Logged(CaseTaken), 12),
            (Fate::Logged(MediationOpened), 40),
            (Fate::Logged(HealthCheckScheduled), 18),
            (Fate::NoShow, 35),
            (Fate::Cancelled, 25),
        ],
    }
}

fn fate(service: LegalService, mix: &mut Mix) -> Fate {
    let roll = mix.below(1_000);
    let mut acc = 0;
    let table = fates(service);
    table
        .iter()
        .find(|(_, share)| {
            acc += share;
            roll < acc
        })
        .map_or(table[0].0, |(f, _)| *f)
}

/// Loads the legal-aid part unless stations exist already, in which case it says so and
/// adds nothing.
pub async fn load(
    service: &LegalAid,
    district: &District,
    progress: &dyn Progress,
) -> anyhow::Result<Loaded> {
    let stations = service
        .stations()
        .await
        .map_err(|e| anyhow::anyhow!("reading stations: {e:?}"))?;
    if !stations.is_empty() {
        progress.note(&format!(
            "legal-aid: the database already holds {} stations; nothing added",
            stations.len()
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
    let written = write(service, district, &tree, progress)
        .await
        .map_err(|e| anyhow::anyhow!("loading legal aid: {e:?}"))?;
    for (table, rows) in written {
        loaded.add(table, rows);
    }
    Ok(loaded)
}

async fn write(
    service: &LegalAid,
    district: &District,
    tree: &[tongxin_platform::district::TreeUnit],
    progress: &dyn Progress,
) -> Result<Vec<(&'static str, u64)>, LegalAidError> {
    let plan = plan::plan(district, tree)?;
    let last = local_date(district.today);
    let first = last - Duration::days(365);
    // The holidays and make-up days the database holds (the official ones a fresh
    // database starts with), as the roster reads them.
    let calendar = Calendar::new(service.calendar(first, last).await?);
    let total = district.counts().appointments as u64;
    let citizens = ((total as f64 * CITIZENS_PER_BOOKING) as u64).max(1);
    let mut mix = district.mix("legal-aid/bookings");
    let mut rows = Rows::new(ACTOR, district.mix("legal-aid/ids"), district.today);
    let weights: Vec<u64> = plan.desks.iter().map(|(_, _, w)| *w).collect();
    for ((station, unit, _), wanted) in plan.desks.iter().zip(plan::shares(total, &weights)) {
        // Every slot of the station's roster over the year, ended before the day.
        let rules: Vec<Rule> = plan
            .rules
            .iter()
            .filter(|r| r.station == *station)
            .cloned()
            .collect();
        let sittings = roster::sittings(&rules, &[], &calendar, first, last);
        let mut roster: Vec<Slot> = LegalService::ALL
            .iter()
            .flat_map(|service| slots::cut(&sittings, *service))
            .filter(|s| s.ends_at <= district.today)
            .collect();
        roster.sort_by_key(|s| s.starts_at);
        if roster.len() < wanted as usize {
            return Err(LegalAidError::Internal(format!(
                "district legal aid: {wanted} bookings for {} slots",
                roster.len()
            )));
        }
        let mut picked: Vec<usize> = (0..roster.len()).collect();
        shuffle(&mut mix, &mut picked);
        picked.truncate(wanted as usize);
        picked.sort_unstable();
        for (k, i) in picked.into_iter().enumerate() {
            let slot = &roster[i];
            let drawn = fate(slot.service, &mut mix);
            // Every station has at least one no-show, so even a small (scaled-down) district
            // shows the no-show rate whatever the draw.
            let fate = if k == 1 { Fate::NoShow } else { drawn };
            let n = rows.appointments.len();
            let subject = format!("district-citizen-{}", mix.below(citizens));
            let phone = if mix.below(100) < WITH_PHONE {
                Some(Phone::parse(&mix.mobile())?)
            } else {
                None
            };
            let visitor = Visitor::new(subject, *station, slot.service, n, phone, &mut mix);
            rows.visit(service, *unit, slot, &visitor, fate)?;
        }
    }
    let since = district.today - Duration::days(400);
    let rules: Vec<_> = plan
        .rules
        .iter()
        .map(|r| plan::rule_row(r, since))
        .collect();
    let txn = service.db().begin().await.map_err(classify)?;
    let mut written = vec![
        insert_table(&txn, &plan.stations, SERVICE, "stations", progress)
            .await
            .map_err(classify)?,
        insert_table(&txn, &plan.providers, SERVICE, "providers", progress)
            .await
            .map_err(classify)?,
        insert_table(&txn, &plan.serves, SERVICE, "provider_stations", progress)
            .await
            .map_err(classify)?,
        insert_table(&txn, &rules, SERVICE, "roster_rules", progress)
            .await
            .map_err(classify)?,
    ];
    written.extend(rows.write(&txn, progress).await?);
    txn.commit().await.map_err(classify)?;
    Ok(written)
}
