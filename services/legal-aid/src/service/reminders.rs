//! Reminders 24 hours and 1 hour before a booked appointment
//! (`tongxin.legalaid.appointment_reminder_due`).
//!
//! What was sent lives in `appointment_reminders` (primary key: appointment and lead time),
//! not in timers, so a restart loses nothing and sends nothing twice. Each round, for each
//! due appointment, one transaction inserts the reminder row with `ON CONFLICT DO NOTHING`
//! and writes the event only when its row went in: two replicas racing for one reminder
//! both try, the second waits for the first's commit and then inserts nothing, so exactly one
//! event leaves. A reminder whose moment passed before the appointment was booked (booked
//! 3 hours ahead: no 24-hour reminder) is not sent; a rescheduled appointment keeps the
//! reminders already sent for it.

use std::time::Duration;

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use tokio_util::sync::CancellationToken;
use tongxin_platform::db::classify;
use tongxin_platform::events::outbox;

use super::LegalAid;
use crate::error::LegalAidError;
use crate::events::{self, Extra};
use crate::store::appointments::{self as store, appointment};

/// Lead times, in hours.
pub const LEAD_HOURS: [u32; 2] = [24, 1];

/// The actor of reminder events.
pub const ACTOR: &str = "reminders";

/// The `appointment_reminders` table.
pub mod sent {
    use sea_orm::entity::prelude::*;

    /// A reminder sent.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "appointment_reminders")]
    pub struct Model {
        /// The appointment.
        #[sea_orm(primary_key, auto_increment = false)]
        pub appointment_id: Uuid,
        /// Lead time in hours.
        #[sea_orm(primary_key, auto_increment = false)]
        pub hours: i16,
        /// When.
        pub sent_at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

impl LegalAid {
    /// One round: sends every reminder due now (at most `batch` per lead time); returns how
    /// many it sent.
    pub async fn send_due_reminders(&self, batch: u64) -> Result<usize, LegalAidError> {
        let now = self.now();
        let mut sent_count = 0;
        for hours in LEAD_HOURS {
            let lead = chrono::Duration::hours(i64::from(hours));
            // Due: starts within `lead` from now, not started, booked before the moment.
            let due = appointment::Entity::find()
                .filter(appointment::Column::Status.eq("booked"))
                .filter(appointment::Column::StartsAt.gt(now))
                .filter(appointment::Column::StartsAt.lte(now + lead))
                .order_by_asc(appointment::Column::StartsAt)
                .limit(batch)
                .all(&self.db)
                .await
                .map_err(classify)?;
            for row in due {
                if row.created_at > row.starts_at - lead {
                    continue;
                }
                let already = sent::Entity::find_by_id((row.id, lead_code(hours)))
                    .one(&self.db)
                    .await
                    .map_err(classify)?;
                if already.is_some() {
                    continue;
                }
                if self.remind(&row, hours, now).await? {
                    sent_count += 1;
                }
            }
        }
        if sent_count > 0 {
            self.wake();
        }
        Ok(sent_count)
    }

    /// Records reminder `hours` of `row` and writes its event, once.
    async fn remind(
        &self,
        row: &appointment::Model,
        hours: u32,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, LegalAidError> {
        let txn = self.db.begin().await.map_err(classify)?;
        let inserted = sent::Entity::insert(sent::ActiveModel {
            appointment_id: Set(row.id),
            hours: Set(lead_code(hours)),
            sent_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([sent::Column::AppointmentId, sent::Column::Hours])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(classify)?;
        if inserted == 0 {
            txn.rollback().await.map_err(classify)?;
            return Ok(false);
        }
        let a = store::parse(row)?;
        outbox::enqueue(
            &txn,
            &events::subject("reminder_due"),
            events::SOURCE,
            events::appointment_changed(
                &a,
                ACTOR,
                now,
                Extra {
                    previous_start: None,
                    reminder_hours: Some(hours),
                },
            ),
        )
        .await?;
        txn.commit().await.map_err(classify)?;
        Ok(true)
    }

    /// Runs rounds every `interval` until `stop`.
    pub async fn run_reminders(&self, interval: Duration, batch: u64, stop: CancellationToken) {
        loop {
            if let Err(e) = self.send_due_reminders(batch).await {
                tracing::warn!(error = ?e, "reminder round failed; next round retries");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}

fn lead_code(hours: u32) -> i16 {
    i16::try_from(hours).unwrap_or(i16::MAX)
}
