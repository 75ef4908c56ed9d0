#!/usr/bin/env bash
# Split mode, top to bottom: each service its own process on PostgreSQL and NATS, the
# router in front, the demo data loaded, one query and one order through the gateway.
# The same steps as README.md's "Running services separately"; CI runs this script.
#
#   scripts/split-mode.sh            # start everything, check it, leave it running (ctrl-c stops)
#   scripts/split-mode.sh --check    # start everything, check it, stop, exit 0 or 1
#
# Needs: PostgreSQL (createdb/psql reach it as user postgres), NATS with JetStream, node for
# nothing (the supergraph is committed), the router (scripts/install-router.sh builds it).
# Every setting below can be overridden from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
[ "${1:-}" = "--check" ] && check=true

tongxin=${TONGXIN_BIN:-}
if [ -z "$tongxin" ]; then
  cargo build -q -p tongxin
  tongxin="${CARGO_TARGET_DIR:-target}/debug/tongxin"
fi
router=${TONGXIN_ROUTER_BIN:-$(scripts/install-router.sh)}
state=${TONGXIN_SPLIT_DIR:-$PWD/data/split}
db_prefix=${TONGXIN_SPLIT_DB_PREFIX:-tongxin}
pg=${TONGXIN_SPLIT_PG:-postgres://postgres@127.0.0.1:5432}
mkdir -p "$state/logs"
chmod 700 "$state"

# 1. One database per service.
for s in venues volunteers orders legal_aid; do
  psql "$pg/postgres" -qtAc "SELECT 1 FROM pg_database WHERE datname = '${db_prefix}_$s'" | grep -q 1 \
    || psql "$pg/postgres" -qc "CREATE DATABASE ${db_prefix}_$s"
done
export TONGXIN_VENUES__DATABASE__URL=${TONGXIN_VENUES__DATABASE__URL:-$pg/${db_prefix}_venues}
export TONGXIN_VOLUNTEERS__DATABASE__URL=${TONGXIN_VOLUNTEERS__DATABASE__URL:-$pg/${db_prefix}_volunteers}
export TONGXIN_ORDERS__DATABASE__URL=${TONGXIN_ORDERS__DATABASE__URL:-$pg/${db_prefix}_orders}
export TONGXIN_LEGAL_AID__DATABASE__URL=${TONGXIN_LEGAL_AID__DATABASE__URL:-$pg/${db_prefix}_legal_aid}
export TONGXIN_EVENTS__NATS_URL=${TONGXIN_EVENTS__NATS_URL:-nats://127.0.0.1:4222}

# 2. The signing key and the JWKS every service and the router verify tokens with; the
#    personal-data keys (32 random bytes each, base64), made once and kept private.
"$tongxin" keys --dir "$state/keys" >/dev/null
export TONGXIN_AUTH__JWKS_PATH="$state/keys/jwks.json"
export TONGXIN_AUTH__SERVICE_KEY_PATH="$state/keys/signing-key.pem"   # signs service tokens
secret() { # name -> a key file made once
  [ -s "$state/keys/$1" ] || (umask 077; head -c 32 /dev/urandom | base64 > "$state/keys/$1")
  cat "$state/keys/$1"
}
export TONGXIN_VOLUNTEERS__PII__ENCRYPTION_KEY=${TONGXIN_VOLUNTEERS__PII__ENCRYPTION_KEY:-$(secret volunteers-pii.key)}
export TONGXIN_VOLUNTEERS__PII__HASH_KEY=${TONGXIN_VOLUNTEERS__PII__HASH_KEY:-$(secret volunteers-hash.key)}
export TONGXIN_ORDERS__PII_KEY=${TONGXIN_ORDERS__PII_KEY:-$(secret orders-pii.key)}
export TONGXIN_VENUES__PII_KEY=${TONGXIN_VENUES__PII_KEY:-$(secret venues-pii.key)}
export TONGXIN_LEGAL_AID__PII_KEY=${TONGXIN_LEGAL_AID__PII_KEY:-$(secret legal-aid-pii.key)}

# 3. Schemas, then the demo data (the same as `tongxin run` shows).
"$tongxin" migrate
"$tongxin" seed

# 4. The services, each its own process (HTTP 8081–8084, gRPC 9081–9084 by default).
pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
for s in venues volunteers orders legal-aid; do
  "$tongxin" serve "$s" >"$state/logs/$s.log" 2>&1 &
  pids+=($!)
done

# 5. The router in front, pointed at the services (the supergraph's URLs are the defaults).
port=${TONGXIN_GATEWAY_PORT:-8080}
ROUTER_CONFIG_FILE_PATH=$PWD/services/gateway/router.config.yaml \
SUPERGRAPH_FILE_PATH=$PWD/schema/supergraph.graphql \
TONGXIN_GATEWAY_JWKS_FILE=$TONGXIN_AUTH__JWKS_PATH \
TONGXIN_GATEWAY_PORT=$port \
  env -u HOST -u PORT "$router" >"$state/logs/router.log" 2>&1 &
pids+=($!)

ready() { curl -fsS -o /dev/null "$1"; }
wait_for() { # url, what
  for _ in $(seq 1 120); do ready "$1" && return 0; sleep 0.5; done
  echo "split-mode: $2 did not become ready ($1); logs in $state/logs" >&2
  exit 1
}
wait_for "http://${TONGXIN_VENUES__HTTP_ADDR:-127.0.0.1:8081}/readyz" venues
wait_for "http://${TONGXIN_VOLUNTEERS__HTTP_ADDR:-127.0.0.1:8082}/readyz" volunteers
wait_for "http://${TONGXIN_ORDERS__HTTP_ADDR:-127.0.0.1:8083}/readyz" orders
wait_for "http://${TONGXIN_LEGAL_AID__HTTP_ADDR:-127.0.0.1:8084}/readyz" legal-aid
wait_for "http://127.0.0.1:$port/readiness" router
gateway="http://127.0.0.1:$port/graphql"

# 6. Check it as a user would: staff of a demo station reads its courtyards; a citizen
#    places an order at a point 蔡家坝小院 covers and it lands there.
staff=$("$tongxin" token --keys "$state/keys" --role staff --unit /rc/changyuan/hongqiao --sub split-staff)
citizen=$("$tongxin" token --keys "$state/keys" --role citizen --sub split-citizen)
gql() { # token, JSON body
  curl -fsS "$gateway" -H 'content-type: application/json' -H "authorization: Bearer $1" -d "$2"
}
near=$(gql "$staff" '{"query":"{ coveringCourtyard(lat: 29.3868, lon: 105.5701) { name orgUnit { path parent { path } } } }"}')
echo "$near" | grep -q '"path":"/rc/changyuan/hongqiao/caijiaba"' \
  || { echo "split-mode: the demo tree is not served: $near" >&2; exit 1; }
placed=$(gql "$citizen" "{\"query\":\"mutation(\$i: PlaceOrderInput!) { placeOrder(input: \$i) { state holdingUnitPath } }\",\"variables\":{\"i\":{\"category\":\"elder_visit\",\"description\":\"split mode check\",\"form\":[{\"key\":\"people\",\"value\":\"1\"}],\"location\":{\"lat\":29.3872,\"lon\":105.5706},\"contactPhone\":\"13800000000\",\"photos\":[],\"idempotencyKey\":\"split-$(date +%s%N)\"}}}")
echo "$placed" | grep -q '"holdingUnitPath":"/rc/changyuan/hongqiao/caijiaba"' \
  || { echo "split-mode: the order did not land at 蔡家坝小院: $placed" >&2; exit 1; }

echo "split-mode: ready at $gateway (services' logs in $state/logs)"
if $check; then
  exit 0
fi
echo "tokens: $("$tongxin" token --keys "$state/keys" --role staff --unit /rc --sub center-staff)"
echo "ctrl-c stops everything"
wait
