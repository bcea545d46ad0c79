#!/bin/sh
# Makes the test certificates again: ca.pem (a test CA, whose key is thrown away) and
# server.pem (certificate and key for 127.0.0.1, localhost and collector.test, signed by it).
# Valid from 2020 to 2120, so that neither a clock that is behind nor the years break the tests.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
touch "$work/index.txt"
echo 01 > "$work/serial"
cat > "$work/ca.conf" <<CONF
[ca]
default_ca = test
[test]
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
default_md = sha256
policy = any_name
unique_subject = no
[any_name]
commonName = supplied
CONF
dates="-startdate 20200101000000Z -enddate 21200101000000Z"
openssl req -new -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.csr" \
    -config ca.cnf -subj "/CN=vwo-push test CA" 2>/dev/null
# shellcheck disable=SC2086
openssl ca -batch -notext -selfsign -config "$work/ca.conf" -keyfile "$work/ca.key" -in "$work/ca.csr" \
    -extfile ca.cnf -extensions v3_ca $dates -out ca.pem 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout "$work/server.key" -out "$work/server.csr" \
    -config ca.cnf -subj "/CN=127.0.0.1" 2>/dev/null
# shellcheck disable=SC2086
openssl ca -batch -notext -config "$work/ca.conf" -cert ca.pem -keyfile "$work/ca.key" -in "$work/server.csr" \
    -extfile ca.cnf -extensions v3_server $dates -out "$work/server.crt" 2>/dev/null
cat "$work/server.crt" "$work/server.key" > server.pem
openssl verify -CAfile ca.pem "$work/server.crt"
