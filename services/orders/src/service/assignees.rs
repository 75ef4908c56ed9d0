//! Checking a dispatch's targets with the volunteers service before anything is written:
//! every named volunteer must exist and be active, a named team must exist. A legal order's
//! station is checked the same way with the legal-aid service: it must exist and offer the
//! category's legal service. The registry
//! is the volunteers service's, so it is asked (one batch call), never guessed; when it does
//! not answer, the dispatch waits (UNAVAILABLE) rather than send work to nobody.

use tongxin_platform::auth::Principal;

use super::Orders;
use crate::domain::DomainError;
use crate::domain::machine::Assignee;
use crate::domain::menu::Handling;
use crate::error::OrdersError;
use crate::grpc::clients::CallError;

fn unavailable(call: &str, cause: String) -> OrdersError {
    OrdersError::Unavailable(format!("volunteers {call}: {cause}"))
}

fn refused(field: &'static str, status: &tonic::Status) -> OrdersError {
    DomainError::invalid(
        field,
        format!("volunteers refused the check: {}", status.message()),
    )
    .into()
}

impl Orders {
    /// BAD_USER_INPUT naming the first unknown or inactive volunteer or the unknown team;
    /// UNAVAILABLE when volunteers does not answer.
    pub(super) async fn check_assignee(
        &self,
        principal: &Principal,
        to: &Assignee,
        handling: &Handling,
    ) -> Result<(), OrdersError> {
        handling.admits(to)?;
        match to {
            Assignee::LegalAidStation(station) => {
                let wanted = handling.legal_service().unwrap_or_default();
                match self
                    .deps
                    .legal_aid
                    .station_services(principal, *station)
                    .await
                {
                    Ok(Some(services)) if services.contains(&wanted) => Ok(()),
                    Ok(Some(_)) => Err(DomainError::invalid(
                        "legalAidStationId",
                        format!("station {station} does not offer {wanted}"),
                    )
                    .into()),
                    Ok(None) => Err(DomainError::invalid(
                        "legalAidStationId",
                        format!("legal-aid station {station} does not exist"),
                    )
                    .into()),
                    Err(CallError::Unavailable(cause)) => Err(OrdersError::Unavailable(format!(
                        "legal-aid GetStation: {cause}"
                    ))),
                    Err(CallError::Refused(status)) => Err(DomainError::invalid(
                        "legalAidStationId",
                        format!("legal aid refused the check: {}", status.message()),
                    )
                    .into()),
                }
            }
            Assignee::Volunteers(ids) => {
                let wanted: Vec<uuid::Uuid> = ids.iter().map(|v| v.0).collect();
                let found = match self
                    .deps
                    .volunteers
                    .volunteers_by_id(principal, &wanted)
                    .await
                {
                    Ok(found) => found,
                    Err(CallError::Unavailable(cause)) => {
                        return Err(unavailable("BatchGetVolunteers", cause));
                    }
                    Err(CallError::Refused(status)) => {
                        return Err(refused("volunteer_ids", &status));
                    }
                };
                for id in &wanted {
                    let id_text = id.to_string();
                    match found.iter().find(|v| v.id == id_text) {
                        None => {
                            return Err(DomainError::invalid(
                                "volunteer_ids",
                                format!("volunteer {id} does not exist"),
                            )
                            .into());
                        }
                        Some(v) if v.status != "active" => {
                            return Err(DomainError::invalid(
                                "volunteer_ids",
                                format!("volunteer {id} is not active ({})", v.status),
                            )
                            .into());
                        }
                        Some(_) => {}
                    }
                }
                Ok(())
            }
            Assignee::Team(team) => match self.deps.volunteers.team(principal, team.0).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(DomainError::invalid(
                    "team_id",
                    format!("team {} does not exist", team.0),
                )
                .into()),
                Err(CallError::Unavailable(cause)) => Err(unavailable("GetTeam", cause)),
                Err(CallError::Refused(status)) => Err(refused("team_id", &status)),
            },
        }
    }
}
