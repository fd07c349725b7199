#!/bin/sh
# A federation's CA and the certificates it hands out, made with the openssl command line only
# (no Kvitto code), for the tests of `kvitto init`'s real-certificate mode:
#   ca.crt                  the federation CA (its key stays in ca-private/, never given to a node)
#   password                the password of the PKCS#12 files (first line)
#   as4.p12, tls.p12        our access point's AS4 (CN=ap-real-test) and TLS (localhost, 127.0.0.1) identities
#   o2o.p12                 our organisation's O2O identity (CN=0203:k.example.se)
#   foreign-o2o.p12         another organisation's O2O identity (CN=0203:other.example.se)
#   o2o-m.p12, o2o-m-renewed.p12  an organisation onboarded later (CN=0203:m.example.se), and its next certificate
#   rogue-m.p12             a self-signed identity claiming that organisation (no federation CA behind it)
#   peer-as4.{key,crt}      the remote access point (CN=AP-PYTHON)
#   peer-o2o.{key,crt}      the remote organisation (CN=0203:sender.example.se)
# Usage: make-ca.sh DIR
set -eu
dir=$1
mkdir -p "$dir/ca-private"
cd "$dir"
cat > ext.cnf <<'CNF'
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment, dataEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[tls]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-private/ca.key -out ca.crt -days 400 \
    -subj '/CN=Test Federation CA/O=Test Federation' -addext 'basicConstraints=critical,CA:TRUE' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
issue() { # name subject extension
    openssl req -newkey rsa:2048 -nodes -keyout "ca-private/$1.key" -out "ca-private/$1.csr" -subj "$2" 2>/dev/null
    openssl x509 -req -in "ca-private/$1.csr" -CA ca.crt -CAkey ca-private/ca.key -CAcreateserial -out "$1.crt" -days 365 \
        -extfile ext.cnf -extensions "$3" 2>/dev/null
}
issue as4 '/CN=ap-real-test/O=Myndighet K' leaf
issue tls '/CN=localhost/O=Myndighet K' tls
issue o2o '/CN=0203:k.example.se/O=Myndighet K' leaf
issue foreign-o2o '/CN=0203:other.example.se/O=Annan myndighet' leaf
issue o2o-m '/CN=0203:m.example.se/O=Myndighet M' leaf
issue o2o-m-renewed '/CN=0203:m.example.se/O=Myndighet M' leaf
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-private/rogue-m.key -out rogue-m.crt -days 30 \
    -subj '/CN=0203:m.example.se/O=Myndighet M' 2>/dev/null
issue peer-as4 '/CN=AP-PYTHON/O=Myndighet S' leaf
issue peer-o2o '/CN=0203:sender.example.se/O=Myndighet S' leaf
cp ca-private/peer-as4.key ca-private/peer-o2o.key .
printf 'ett lösenord från CA:n\n' > password
for n in as4 tls o2o foreign-o2o o2o-m o2o-m-renewed; do
    openssl pkcs12 -export -inkey "ca-private/$n.key" -in "$n.crt" -certfile ca.crt -passout file:password -out "$n.p12"
done
openssl pkcs12 -export -inkey ca-private/rogue-m.key -in rogue-m.crt -passout file:password -out rogue-m.p12
