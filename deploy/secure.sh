#!/usr/bin/env bash
# npm run deploy:secrets [-- OUT [AGENTS]]: everything the compose deployment needs to run secure,
# written to OUT (default deploy/secrets, which git ignores), mode 0600 for every secret:
#   tls/ca.pem, tls/server.pem, tls/server-key.pem  the CA to trust and the NATS nodes' certificate
#                                                    (nats-1..3, localhost, 127.0.0.1)
#   ca/ca-key.pem                                    the private CA's key: keep it off the hosts
#   security/creds/<name>.json                       master-1..3, agent-1..N (each bound to its
#                                                    agent id), admin (operator, superuser)
#   security/principals.json                         who is who, for the masters' authorization
#   nats/nats.conf, nats/auth.conf                   the nodes' TLS and users with their subject
#                                                    permissions (`mezzo creds nats-config`)
# Run it again to add agents; existing credentials and certificates are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-deploy/secrets}
agents=${2:-3}
say() { echo "mezzo secrets: $*" >&2; }

command -v openssl >/dev/null || { say "openssl is needed (Debian: apt-get install -y openssl)"; exit 1; }
[ -f dist/cli/main.js ] || npm run --silent build
mezzo() { node dist/cli/main.js "$@" --data "$out"; }
umask 077
mkdir -p "$out/tls" "$out/nats" "$out/ca"

tls="$out/tls"
ca="$out/ca"
if [ ! -f "$tls/ca.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Mezzo cluster CA" \
    -keyout "$ca/ca-key.pem" -out "$tls/ca.pem" 2>/dev/null
  say "made a private CA ($tls/ca.pem)"
fi
if [ ! -f "$tls/server.pem" ]; then
  openssl req -newkey rsa:2048 -nodes -subj "/CN=nats" -keyout "$tls/server-key.pem" -out "$tls/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:nats-1,DNS:nats-2,DNS:nats-3,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
    >"$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$ca/ca-key.pem" -CAserial "$ca/ca.srl" -CAcreateserial \
    -days 825 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
  rm -f "$tls/server.csr" "$tls/server.ext"
  say "made the NATS nodes' certificate ($tls/server.pem)"
fi

creds="$out/security/creds"
issue() { # issue NAME KIND [FLAGS...]: once per name
  local name=$1 kind=$2
  shift 2
  [ -f "$creds/$name.json" ] || mezzo creds add "$kind" "$name" "$@" >/dev/null 2>&1 ||
    { say "could not issue $kind $name"; exit 1; }
}
for i in 1 2 3; do issue "master-$i" master; done
for i in $(seq 1 "$agents"); do issue "agent-$i" agent --agent-id "agent-$i"; done
issue admin operator --superuser

mezzo creds nats-config >"$out/nats/auth.conf"
cat >"$out/nats/nats.conf" <<'CONF'
# Written by deploy/secure.sh. Clients need a user of auth.conf and must trust tls/ca.pem.
port: 4222
jetstream { store_dir: "/data" }
tls {
  cert_file: "/secrets/tls/server.pem"
  key_file: "/secrets/tls/server-key.pem"
  timeout: 5
}
include ./auth.conf
CONF
# The images run nats-server and mezzo as root, so 0600 files stay readable in the containers.
chmod -R go-rwx "$out"
say "wrote $out: $(ls "$creds" | wc -l) credentials, TLS, and the NATS configuration"
