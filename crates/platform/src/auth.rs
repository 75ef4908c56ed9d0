//! Identity: JWT claims → [`Principal`], the same type in every service.
//!
//! The router verifies tokens against a JWKS and forwards them; each subgraph verifies
//! again with the same JWKS ([`Verifier`]). For development, [`DevKeys`] creates an ES256
//! key pair in a directory, writes the JWKS the router and services read, and signs tokens
//! (`tongxin token`, `tongxin run`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ttl_cache::TtlCache;

/// What a principal may act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A resident who orders services and rates them.
    Citizen,
    /// A registered volunteer.
    Volunteer,
    /// Staff of the org unit in `unit` (and, through it, its subtree).
    Staff,
    /// District administrator.
    Admin,
}

impl Role {
    /// Parses a role name; `None` for names this version does not know.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "citizen" => Some(Self::Citizen),
            "volunteer" => Some(Self::Volunteer),
            "staff" => Some(Self::Staff),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// The claim value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::Volunteer => "volunteer",
            Self::Staff => "staff",
            Self::Admin => "admin",
        }
    }
}

/// Who is calling: built from verified claims, carried in gRPC metadata between services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The `sub` claim.
    pub subject: String,
    /// Known roles from the `roles` claim.
    pub roles: Vec<Role>,
    /// The org unit the scope hangs on (`unit` claim).
    pub unit: Option<Uuid>,
    /// The district code (`district` claim); a scope never crosses districts.
    pub district: Option<String>,
}

impl Principal {
    /// Whether the principal holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Staff or admin: may manage things within their unit's subtree.
    pub fn is_staff(&self) -> bool {
        self.has_role(Role::Staff) || self.has_role(Role::Admin)
    }
}

/// The JWT body Tongxin issues and accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Subject.
    pub sub: String,
    /// Role names.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Org-unit id of the scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// District code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
}

/// Why a token was refused. The message is safe to show.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Bad signature, expired, wrong issuer/audience, unknown key, malformed.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The JWKS or key files could not be read or made.
    #[error("key material: {0}")]
    Keys(String),
}

/// Verifies tokens against a JWKS.
///
/// A verified token is remembered until it expires: a client sends the same token with
/// every request, and checking an ES256 signature costs more CPU than the rest of a small
/// request's handling in this process. The cache holds only what verification produced
/// (the principal and the expiry), keyed by the whole token, so a token that differs in
/// any byte is verified afresh.
pub struct Verifier {
    keys: Vec<(Option<String>, DecodingKey, Algorithm)>,
    issuer: String,
    audience: String,
    verified: TtlCache<String, Principal>,
}

/// The most verified tokens remembered, and for how long at most (a token's own expiry
/// usually comes first).
const REMEMBERED_TOKENS: usize = 10_000;
const REMEMBER_TOKENS_FOR: Duration = Duration::from_secs(3600);

impl Verifier {
    /// From a JWKS document.
    pub fn from_jwks_json(json: &str, issuer: &str, audience: &str) -> Result<Self, AuthError> {
        let set: JwkSet =
            serde_json::from_str(json).map_err(|e| AuthError::Keys(format!("JWKS: {e}")))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let algorithm = match &jwk.algorithm {
                AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                _ => continue,
            };
            let key =
                DecodingKey::from_jwk(jwk).map_err(|e| AuthError::Keys(format!("JWK: {e}")))?;
            keys.push((jwk.common.key_id.clone(), key, algorithm));
        }
        if keys.is_empty() {
            return Err(AuthError::Keys(
                "JWKS holds no ES256 or RS256 key".to_owned(),
            ));
        }
        Ok(Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            verified: TtlCache::new(REMEMBER_TOKENS_FOR, REMEMBERED_TOKENS),
        })
    }

    /// From a JWKS file.
    pub fn from_jwks_file(path: &Path, issuer: &str, audience: &str) -> Result<Self, AuthError> {
        let json = std::fs::read_to_string(path)
            .map_err(|e| AuthError::Keys(format!("{}: {e}", path.display())))?;
        Self::from_jwks_json(&json, issuer, audience)
    }

    /// Checks signature, expiry, issuer and audience, then builds the principal.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        if let Some(principal) = self.verified.get(token) {
            return Ok(principal);
        }
        let (principal, exp) = self.verify_signature(token)?;
        let left = exp.saturating_sub(jsonwebtoken::get_current_timestamp());
        self.verified.put_until(
            token.to_owned(),
            principal.clone(),
            Instant::now() + Duration::from_secs(left),
        );
        Ok(principal)
    }

    fn verify_signature(&self, token: &str) -> Result<(Principal, u64), AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        let candidates = self.keys.iter().filter(|(kid, _, alg)| {
            *alg == header.alg && (header.kid.is_none() || kid.is_none() || *kid == header.kid)
        });
        let mut last = AuthError::InvalidToken("no key matches the token".to_owned());
        for (_, key, alg) in candidates {
            let mut validation = Validation::new(*alg);
            validation.set_issuer(&[&self.issuer]);
            validation.set_audience(&[&self.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    let exp = data.claims.exp;
                    return Ok((principal_from(data.claims)?, exp));
                }
                Err(e) => last = AuthError::InvalidToken(e.to_string()),
            }
        }
        Err(last)
    }
}

fn principal_from(claims: Claims) -> Result<Principal, AuthError> {
    let unit = match claims.unit.as_deref() {
        None | Some("") => None,
        Some(u) => Some(
            Uuid::parse_str(u)
                .map_err(|_| AuthError::InvalidToken("`unit` is not a UUID".to_owned()))?,
        ),
    };
    Ok(Principal {
        subject: claims.sub,
        roles: claims.roles.iter().filter_map(|r| Role::parse(r)).collect(),
        unit,
        district: claims.district,
    })
}

/// The token in an `Authorization: Bearer …` value.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A local ES256 key pair for development: `signing-key.pem` (private, mode 0600) and
/// `jwks.json` (public) in one directory.
pub struct DevKeys {
    encoding: EncodingKey,
    kid: String,
    jwks_path: PathBuf,
    jwks: String,
}

impl DevKeys {
    /// The private key file name inside the directory.
    pub const KEY_FILE: &'static str = "signing-key.pem";
    /// The JWKS file name inside the directory.
    pub const JWKS_FILE: &'static str = "jwks.json";

    /// Loads the pair from `dir`, creating it the first time.
    pub fn load_or_generate(dir: &Path) -> Result<Self, AuthError> {
        let key_path = dir.join(Self::KEY_FILE);
        if !key_path.exists() {
            Self::generate(dir)?;
        }
        Self::load(dir)
    }

    fn generate(dir: &Path) -> Result<(), AuthError> {
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        std::fs::create_dir_all(dir)
            .map_err(|e| AuthError::Keys(format!("{}: {e}", dir.display())))?;
        let secret = p256::SecretKey::random(&mut rand_core::OsRng);
        let pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| AuthError::Keys(e.to_string()))?;
        let key_path = dir.join(Self::KEY_FILE);
        write_private(&key_path, pem.as_bytes())?;
        Ok(())
    }

    /// Loads an existing pair from `dir` (rewriting the JWKS from the private key).
    pub fn load(dir: &Path) -> Result<Self, AuthError> {
        use p256::pkcs8::DecodePrivateKey;
        let key_path = dir.join(Self::KEY_FILE);
        let pem = std::fs::read_to_string(&key_path)
            .map_err(|e| AuthError::Keys(format!("{}: {e}", key_path.display())))?;
        let secret =
            p256::SecretKey::from_pkcs8_pem(&pem).map_err(|e| AuthError::Keys(e.to_string()))?;
        let jwk: serde_json::Value = serde_json::from_str(&secret.public_key().to_jwk_string())
            .map_err(|e| AuthError::Keys(e.to_string()))?;
        // A stable key id derived from the public key, so restarts keep the same kid.
        let x = jwk.get("x").and_then(|v| v.as_str()).unwrap_or_default();
        let kid = format!("dev-{}", &x[..x.len().min(12)]);
        let jwks = serde_json::json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"],
            "kid": kid, "alg": "ES256", "use": "sig"
        }]})
        .to_string();
        let jwks_path = dir.join(Self::JWKS_FILE);
        std::fs::write(&jwks_path, &jwks)
            .map_err(|e| AuthError::Keys(format!("{}: {e}", jwks_path.display())))?;
        let encoding =
            EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| AuthError::Keys(e.to_string()))?;
        Ok(Self {
            encoding,
            kid,
            jwks_path,
            jwks,
        })
    }

    /// Where the JWKS was written.
    pub fn jwks_path(&self) -> &Path {
        &self.jwks_path
    }

    /// The JWKS document.
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }

    /// Signs a token for `subject` with `roles`, scoped to `unit`, valid for `ttl`.
    pub fn sign(&self, claims: &TokenRequest<'_>) -> Result<String, AuthError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let body = Claims {
            sub: claims.subject.to_owned(),
            roles: claims.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            unit: claims.unit.map(|u| u.to_string()),
            district: claims.district.map(str::to_owned),
            iss: claims.issuer.to_owned(),
            aud: claims.audience.to_owned(),
            exp: now + claims.ttl.as_secs(),
            iat: now,
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &body, &self.encoding)
            .map_err(|e| AuthError::Keys(e.to_string()))
    }
}

/// What to put in a development token.
pub struct TokenRequest<'a> {
    /// `sub`.
    pub subject: &'a str,
    /// `roles`.
    pub roles: &'a [Role],
    /// `unit`.
    pub unit: Option<Uuid>,
    /// `district`.
    pub district: Option<&'a str>,
    /// `iss`.
    pub issuer: &'a str,
    /// `aud`.
    pub audience: &'a str,
    /// Lifetime.
    pub ttl: std::time::Duration,
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| AuthError::Keys(format!("{}: {e}", path.display())))?;
    file.write_all(bytes)
        .map_err(|e| AuthError::Keys(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(roles: &'a [Role], unit: Option<Uuid>) -> TokenRequest<'a> {
        TokenRequest {
            subject: "u-1",
            roles,
            unit,
            district: Some("rc"),
            issuer: "tongxin",
            audience: "tongxin",
            ttl: std::time::Duration::from_secs(600),
        }
    }

    #[test]
    fn signed_token_verifies_into_principal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = DevKeys::load_or_generate(dir.path()).expect("keys");
        let unit = Uuid::now_v7();
        let token = keys
            .sign(&request(&[Role::Staff], Some(unit)))
            .expect("sign");
        let verifier =
            Verifier::from_jwks_file(keys.jwks_path(), "tongxin", "tongxin").expect("verifier");
        let principal = verifier.verify(&token).expect("valid");
        assert_eq!(principal.subject, "u-1");
        assert_eq!(principal.roles, vec![Role::Staff]);
        assert_eq!(principal.unit, Some(unit));
        assert_eq!(principal.district.as_deref(), Some("rc"));
    }

    #[test]
    fn keys_survive_reload_and_foreign_keys_fail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = DevKeys::load_or_generate(dir.path()).expect("keys");
        let again = DevKeys::load_or_generate(dir.path()).expect("reload");
        assert_eq!(keys.jwks_json(), again.jwks_json());

        let other = tempfile::tempdir().expect("tempdir");
        let foreign = DevKeys::load_or_generate(other.path()).expect("keys");
        let token = foreign.sign(&request(&[Role::Admin], None)).expect("sign");
        let verifier =
            Verifier::from_jwks_json(keys.jwks_json(), "tongxin", "tongxin").expect("verifier");
        assert!(
            verifier.verify(&token).is_err(),
            "a token from another key must fail"
        );
    }

    #[test]
    fn wrong_audience_and_garbage_fail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = DevKeys::load_or_generate(dir.path()).expect("keys");
        let mut req = request(&[Role::Citizen], None);
        req.audience = "someone-else";
        let token = keys.sign(&req).expect("sign");
        let verifier =
            Verifier::from_jwks_json(keys.jwks_json(), "tongxin", "tongxin").expect("verifier");
        assert!(verifier.verify(&token).is_err());
        assert!(verifier.verify("not.a.token").is_err());
    }

    #[test]
    fn a_remembered_token_still_fails_when_altered_or_expired() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = DevKeys::load_or_generate(dir.path()).expect("keys");
        let verifier =
            Verifier::from_jwks_json(keys.jwks_json(), "tongxin", "tongxin").expect("verifier");
        let token = keys.sign(&request(&[Role::Staff], None)).expect("sign");
        let first = verifier.verify(&token).expect("valid");
        let again = verifier.verify(&token).expect("valid from the cache");
        assert_eq!(first, again);

        // One changed signature byte: not the remembered token, so it is verified and fails.
        let mut altered = token.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).expect("ascii");
        assert!(verifier.verify(&altered).is_err());

        // A remembered entry past its expiry is not used: the token is checked afresh and
        // refused (expired well beyond the validation leeway).
        let principal = verifier.verify(&token).expect("valid");
        verifier.verified.put_until(
            "expired.remembered.token".to_owned(),
            principal,
            Instant::now(),
        );
        assert!(verifier.verify("expired.remembered.token").is_err());
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }
}
