//! Identity: JWT claims → [`Principal`], the same type in every service.
//!
//! The router verifies tokens against a JWKS and forwards them; each subgraph verifies
//! again with the same JWKS ([`Verifier`]). For development, [`DevKeys`] creates an ES256
//! key pair in a directory, writes the JWKS the router and services read, and signs tokens
//! (`tongxin token`, `tongxin run`).
//!
//! Between services (gRPC), the receiver verifies a credential too: the end user's own
//! token, forwarded ([`Principal::credential`]), or, for work a service does on its own
//! behalf, a short-lived service token ([`ServiceTokens`]) with the audience
//! `<audience>-services` and the role `service`. [`Verifier::verify`] (the subgraphs, plain
//! HTTP routes) accepts only user tokens; [`Verifier::verify_caller`] (gRPC) accepts both,
//! and a service token grants a principal with no unit scope (docs/security.md).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ttl_cache::TtlCache;

/// What a principal may act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A resident who orders services and rates them.
    Citizen,
    /// A registered volunteer.
    Volunteer,
    /// Staff of the org unit in `unit` (and, through it, its subtree).
    Staff,
    /// District administrator.
    Admin,
    /// A lawyer, notary, mediator or legal-aid worker whose account the legal-aid service
    /// links to a provider record (they see their own schedule).
    LegalAidProvider,
    /// Another service acting on its own behalf; granted only by a service token, never by
    /// a user token, and it carries no unit scope.
    Service,
}

impl Role {
    /// Parses a role name; `None` for names this version does not know.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "citizen" => Some(Self::Citizen),
            "volunteer" => Some(Self::Volunteer),
            "staff" => Some(Self::Staff),
            "admin" => Some(Self::Admin),
            "legal_aid_provider" => Some(Self::LegalAidProvider),
            "service" => Some(Self::Service),
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
            Self::LegalAidProvider => "legal_aid_provider",
            Self::Service => "service",
        }
    }
}

/// A bearer token as it was presented: what a service forwards when it calls another on
/// behalf of the same caller. Its `Debug` hides the token (it must never reach a log).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(std::sync::Arc<str>);

impl Credential {
    /// Wraps a token.
    pub fn new(token: impl Into<std::sync::Arc<str>>) -> Self {
        Self(token.into())
    }

    /// The token, for an `authorization: Bearer …` header.
    pub fn token(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(..)")
    }
}

/// Who is calling: built from verified claims, in every service the same type.
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
    /// The token this principal was verified from, forwarded on gRPC calls made on its
    /// behalf; `None` for a principal made in code (demo data, tests), which another service
    /// will refuse.
    #[serde(skip)]
    pub credential: Option<Credential>,
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

    /// Another service acting on its own behalf (a verified service token).
    pub fn is_service(&self) -> bool {
        self.has_role(Role::Service)
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
    service_audience: String,
    verified: TtlCache<String, Verified>,
}

/// What verifying a token produced (cached by the whole token).
#[derive(Clone)]
struct Verified {
    principal: Principal,
    /// Whether it is a service token (the services audience).
    service: bool,
}

/// The audience of service tokens for a deployment whose user tokens carry `audience`: a
/// service token is no user token, at the router or a subgraph, and the other way round.
pub fn service_audience(audience: &str) -> String {
    format!("{audience}-services")
}

/// The `sub` prefix of service tokens: `service:orders`.
pub const SERVICE_SUBJECT_PREFIX: &str = "service:";

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
            service_audience: service_audience(audience),
            verified: TtlCache::new(REMEMBER_TOKENS_FOR, REMEMBERED_TOKENS),
        })
    }

    /// From a JWKS file.
    pub fn from_jwks_file(path: &Path, issuer: &str, audience: &str) -> Result<Self, AuthError> {
        let json = std::fs::read_to_string(path)
            .map_err(|e| AuthError::Keys(format!("{}: {e}", path.display())))?;
        Self::from_jwks_json(&json, issuer, audience)
    }

    /// The expected `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience of user tokens.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Checks a user token (signature, expiry, issuer, the user audience), then builds the
    /// principal, which carries the token as its credential. A service token is refused.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let verified = self.verified(token)?;
        if verified.service {
            return Err(AuthError::InvalidToken(
                "a service token is not a user token".to_owned(),
            ));
        }
        Ok(verified.principal)
    }

    /// Checks what a gRPC caller presents: a user token (as [`Self::verify`]) or a service
    /// token (the services audience, `sub` `service:<name>`, role `service`).
    pub fn verify_caller(&self, token: &str) -> Result<Principal, AuthError> {
        Ok(self.verified(token)?.principal)
    }

    fn verified(&self, token: &str) -> Result<Verified, AuthError> {
        if let Some(verified) = self.verified.get(token) {
            return Ok(verified);
        }
        let (claims, service) = self.verify_signature(token)?;
        let exp = claims.exp;
        let mut principal = if service {
            service_principal(claims)?
        } else {
            principal_from(claims)?
        };
        principal.credential = Some(Credential::new(token));
        let verified = Verified { principal, service };
        let left = exp.saturating_sub(jsonwebtoken::get_current_timestamp());
        self.verified.put_until(
            token.to_owned(),
            verified.clone(),
            Instant::now() + Duration::from_secs(left),
        );
        Ok(verified)
    }

    /// The claims and whether the token is a service token.
    fn verify_signature(&self, token: &str) -> Result<(Claims, bool), AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::InvalidToken(reason(&e)))?;
        let candidates = self.keys.iter().filter(|(kid, _, alg)| {
            *alg == header.alg && (header.kid.is_none() || kid.is_none() || *kid == header.kid)
        });
        let mut last = AuthError::InvalidToken(
            "not signed by a key of the JWKS (no key has its key id)".to_owned(),
        );
        for (_, key, alg) in candidates {
            let mut validation = Validation::new(*alg);
            validation.set_issuer(&[&self.issuer]);
            validation.set_audience(&[&self.audience, &self.service_audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    let service = data.claims.aud == self.service_audience;
                    return Ok((data.claims, service));
                }
                Err(e) => last = AuthError::InvalidToken(reason(&e)),
            }
        }
        Err(last)
    }
}

/// Why jsonwebtoken refused a token, in words a caller can act on.
fn reason(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
        ErrorKind::InvalidSignature => "bad signature: not signed by a key of the JWKS".to_owned(),
        ErrorKind::InvalidAudience => "wrong audience".to_owned(),
        ErrorKind::InvalidIssuer => "wrong issuer".to_owned(),
        ErrorKind::ImmatureSignature => "the token is not valid yet".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the `{claim}` claim is missing"),
        _ => format!("malformed token ({e})"),
    }
}

/// A service token's principal: its `sub` and the role `service`, nothing else. Whatever
/// else the token claims (units, districts, other roles) is ignored: a service acting on
/// its own behalf sees what any caller without a scope sees.
fn service_principal(claims: Claims) -> Result<Principal, AuthError> {
    let named = claims
        .sub
        .strip_prefix(SERVICE_SUBJECT_PREFIX)
        .is_some_and(|name| !name.is_empty());
    if !named || !claims.roles.iter().any(|r| r == Role::Service.as_str()) {
        return Err(AuthError::InvalidToken(format!(
            "a service token needs `sub` \"{SERVICE_SUBJECT_PREFIX}<name>\" and the role `service`"
        )));
    }
    Ok(Principal {
        subject: claims.sub,
        roles: vec![Role::Service],
        unit: None,
        district: None,
        credential: None,
    })
}

fn principal_from(claims: Claims) -> Result<Principal, AuthError> {
    // A person's token never speaks in a service's name (audit trails, account links).
    if claims.sub.starts_with(SERVICE_SUBJECT_PREFIX) {
        return Err(AuthError::InvalidToken(format!(
            "`sub` \"{SERVICE_SUBJECT_PREFIX}…\" is for service tokens"
        )));
    }
    let unit = match claims.unit.as_deref() {
        None | Some("") => None,
        Some(u) => Some(
            Uuid::parse_str(u)
                .map_err(|_| AuthError::InvalidToken("`unit` is not a UUID".to_owned()))?,
        ),
    };
    Ok(Principal {
        subject: claims.sub,
        // The role `service` comes only with a service token (its own audience).
        roles: claims
            .roles
            .iter()
            .filter_map(|r| Role::parse(r))
            .filter(|r| *r != Role::Service)
            .collect(),
        unit,
        district: claims.district,
        credential: None,
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

/// An ES256 private key that signs tokens, with the key id of its JWKS entry: the dev key
/// pair's, or a service's own key (`auth.service_key_path`).
pub struct SigningKey {
    encoding: EncodingKey,
    kid: String,
    jwks: String,
}

impl SigningKey {
    /// From a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, P-256).
    pub fn from_pem(pem: &str) -> Result<Self, AuthError> {
        use p256::pkcs8::DecodePrivateKey;
        let secret =
            p256::SecretKey::from_pkcs8_pem(pem).map_err(|e| AuthError::Keys(e.to_string()))?;
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
        let encoding =
            EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| AuthError::Keys(e.to_string()))?;
        Ok(Self {
            encoding,
            kid,
            jwks,
        })
    }

    /// From a PEM file.
    pub fn from_pem_file(path: &Path) -> Result<Self, AuthError> {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| AuthError::Keys(format!("{}: {e}", path.display())))?;
        Self::from_pem(&pem)
    }

    /// A JWKS holding the public half (what the district adds to its JWKS).
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }

    /// A token for what `principal` claims (demo data, tests), as a verifier expecting
    /// `issuer` and `audience` accepts it; `principal` then carries it as its credential.
    pub fn sign_principal(
        &self,
        principal: &mut Principal,
        issuer: &str,
        audience: &str,
        ttl: Duration,
    ) -> Result<Credential, AuthError> {
        let token = self.sign(&TokenRequest {
            subject: &principal.subject,
            roles: &principal.roles,
            unit: principal.unit,
            district: principal.district.as_deref(),
            issuer,
            audience,
            ttl,
        })?;
        let credential = Credential::new(token);
        principal.credential = Some(credential.clone());
        Ok(credential)
    }

    /// Signs a token as `claims` says.
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
        self.sign_claims(&body)
    }

    /// Signs `claims` as they are (tests make expired or odd tokens with it).
    pub fn sign_claims(&self, claims: &Claims) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| AuthError::Keys(e.to_string()))
    }
}

/// How long a service token lives; it is renewed at half its life, so a token in flight
/// always has minutes left and a stolen one is worth little.
pub const SERVICE_TOKEN_TTL: Duration = Duration::from_secs(300);

/// The service credential of one service: a short-lived token (`sub` `service:<name>`, role
/// `service`, the services audience) signed with the service's key, made on first use and
/// renewed at half-life. Cheap to clone.
#[derive(Clone)]
pub struct ServiceTokens(std::sync::Arc<ServiceTokensInner>);

struct ServiceTokensInner {
    key: std::sync::Arc<SigningKey>,
    subject: String,
    issuer: String,
    audience: String,
    current: std::sync::Mutex<Option<(Credential, Instant)>>,
}

impl ServiceTokens {
    /// Tokens for `service`, for a deployment whose user tokens carry `issuer` and
    /// `user_audience` (service tokens carry [`service_audience`] of it).
    pub fn new(
        key: std::sync::Arc<SigningKey>,
        service: &str,
        issuer: &str,
        user_audience: &str,
    ) -> Self {
        Self(std::sync::Arc::new(ServiceTokensInner {
            key,
            subject: format!("{SERVICE_SUBJECT_PREFIX}{service}"),
            issuer: issuer.to_owned(),
            audience: service_audience(user_audience),
            current: std::sync::Mutex::new(None),
        }))
    }

    /// A token with at least half its life left.
    pub fn credential(&self) -> Result<Credential, AuthError> {
        let inner = &self.0;
        let mut current = inner
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((credential, renew_at)) = current.as_ref()
            && Instant::now() < *renew_at
        {
            return Ok(credential.clone());
        }
        let token = inner.key.sign(&TokenRequest {
            subject: &inner.subject,
            roles: &[Role::Service],
            unit: None,
            district: None,
            issuer: &inner.issuer,
            audience: &inner.audience,
            ttl: SERVICE_TOKEN_TTL,
        })?;
        let credential = Credential::new(token);
        *current = Some((credential.clone(), Instant::now() + SERVICE_TOKEN_TTL / 2));
        Ok(credential)
    }
}

/// A local ES256 key pair for development: `signing-key.pem` (private, mode 0600) and
/// `jwks.json` (public) in one directory.
pub struct DevKeys {
    key: std::sync::Arc<SigningKey>,
    key_path: PathBuf,
    jwks_path: PathBuf,
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
        let key_path = dir.join(Self::KEY_FILE);
        let key = SigningKey::from_pem_file(&key_path)?;
        let jwks_path = dir.join(Self::JWKS_FILE);
        std::fs::write(&jwks_path, key.jwks_json())
            .map_err(|e| AuthError::Keys(format!("{}: {e}", jwks_path.display())))?;
        Ok(Self {
            key: std::sync::Arc::new(key),
            key_path,
            jwks_path,
        })
    }

    /// Where the JWKS was written.
    pub fn jwks_path(&self) -> &Path {
        &self.jwks_path
    }

    /// Where the private key is (what `auth.service_key_path` names in `tongxin run` and
    /// the tests: the services sign their service tokens with the dev key).
    pub fn key_path(&self) -> &Path {
        &self.key_path
    }

    /// The JWKS document.
    pub fn jwks_json(&self) -> &str {
        self.key.jwks_json()
    }

    /// The private key.
    pub fn signing_key(&self) -> std::sync::Arc<SigningKey> {
        self.key.clone()
    }

    /// Signs a token for `subject` with `roles`, scoped to `unit`, valid for `ttl`.
    pub fn sign(&self, claims: &TokenRequest<'_>) -> Result<String, AuthError> {
        self.key.sign(claims)
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
            Verified {
                principal,
                service: false,
            },
            Instant::now(),
        );
        assert!(verifier.verify("expired.remembered.token").is_err());
    }

    #[test]
    fn service_tokens_are_services_without_scope_and_never_users() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = DevKeys::load_or_generate(dir.path()).expect("keys");
        let verifier =
            Verifier::from_jwks_json(keys.jwks_json(), "tongxin", "tongxin").expect("verifier");
        let tokens = ServiceTokens::new(keys.signing_key(), "orders", "tongxin", "tongxin");
        let credential = tokens.credential().expect("sign");
        assert_eq!(
            tokens.credential().expect("again"),
            credential,
            "reused until half its life is gone"
        );

        let service = verifier
            .verify_caller(credential.token())
            .expect("a gRPC caller");
        assert_eq!(service.subject, "service:orders");
        assert_eq!(service.roles, vec![Role::Service]);
        assert_eq!((service.unit, service.district.as_deref()), (None, None));
        assert!(service.is_service() && !service.is_staff());
        assert_eq!(service.credential.as_ref(), Some(&credential));
        // Verified once for gRPC (and remembered), still no user token for a subgraph.
        let err = verifier.verify(credential.token()).expect_err("no user");
        assert!(err.to_string().contains("service token"), "{err}");

        // Claims a service token adds are ignored; one without the role or name is refused.
        let claims = |sub: &str, roles: &[&str]| {
            keys.signing_key()
                .sign_claims(&Claims {
                    sub: sub.to_owned(),
                    roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                    unit: Some(Uuid::now_v7().to_string()),
                    district: Some("rc".to_owned()),
                    iss: "tongxin".to_owned(),
                    aud: service_audience("tongxin"),
                    exp: jsonwebtoken::get_current_timestamp() + 60,
                    iat: jsonwebtoken::get_current_timestamp(),
                })
                .expect("sign")
        };
        let claiming = verifier
            .verify_caller(&claims("service:x", &["service", "admin"]))
            .expect("valid");
        assert_eq!(claiming.roles, vec![Role::Service]);
        assert_eq!(claiming.unit, None);
        assert!(
            verifier
                .verify_caller(&claims("alice", &["service"]))
                .is_err()
        );
        assert!(
            verifier
                .verify_caller(&claims("service:x", &["admin"]))
                .is_err()
        );
    }

    #[test]
    fn a_user_token_claiming_the_service_role_is_no_service() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = DevKeys::load_or_generate(dir.path()).expect("keys");
        let verifier =
            Verifier::from_jwks_json(keys.jwks_json(), "tongxin", "tongxin").expect("verifier");
        let token = keys
            .sign(&request(&[Role::Service, Role::Citizen], None))
            .expect("sign");
        let principal = verifier.verify_caller(&token).expect("a user token");
        assert_eq!(principal.roles, vec![Role::Citizen]);
        assert!(!principal.is_service());
        let shown = format!("{:?}", principal.credential);
        assert!(
            !shown.contains(&token[..20]),
            "the token never prints: {shown}"
        );
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }
}
