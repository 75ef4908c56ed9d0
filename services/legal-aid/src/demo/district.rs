//! The `district` profile's legal-aid data: the tree's units (so staff scopes and stations
//! resolve), then the demo's stations, providers, rosters and their year of bookings
//! ([`super::history`]: every visit on a slot the station's own roster gave, booked ahead,
//! held, missed or cancelled). The stations are the few the district's account names, so
//! the district profile has the same legal-aid data as the demo; what scales with the
//! district is the other services' data.

use tongxin_platform::district::{District, Loaded, Progress};

use crate::service::LegalAid;

const SERVICE: &str = "legal-aid";

/// Loads the legal-aid part unless stations exist already, in which case it says so and
/// adds nothing. `district` is taken for symmetry with the other loaders: the history is
/// the demo's, the same for every seed.
pub async fn load(
    service: &LegalAid,
    _district: &District,
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
    let bar = progress.table(SERVICE, "known_units", tree.len() as u64);
    for u in &tree {
        service
            .remember_unit(u.id(), &u.path, u.level)
            .await
            .map_err(|e| anyhow::anyhow!("remembering unit {}: {e:?}", u.path))?;
        bar.inc(1);
    }
    bar.finish();
    let bar = progress.table(SERVICE, "stations and a year of bookings", 1);
    let made = super::seed(service)
        .await
        .map_err(|e| anyhow::anyhow!("seeding legal aid: {e:?}"))?;
    bar.inc(1);
    bar.finish();
    let mut loaded = Loaded::default();
    loaded.add("known_units", tree.len() as u64);
    loaded.add("stations", made as u64);
    Ok(loaded)
}
