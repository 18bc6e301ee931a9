#!/usr/bin/env bash
# make start: install what is missing, build, start the local cluster,
# load the sample data, run the main job and print the report.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
commitopt_mode main

bash "$COMMITOPT_SRC/scripts/install-deps.sh"
log_step "building the extension"
bash "$COMMITOPT_SRC/scripts/overlay.sh"
bash "$COMMITOPT_SRC/scripts/cluster.sh" main start
bash "$COMMITOPT_SRC/scripts/setup-db.sh" main
bash "$COMMITOPT_SRC/scripts/report.sh" main
log_step "starting the HTTPS gateway"
bash "$COMMITOPT_SRC/scripts/gateway.sh" main start
gateway_url=$(bash "$COMMITOPT_SRC/scripts/gateway.sh" main url)
gateway_ca=$COMMITOPT_RUN/gateway/ca.crt

cat <<TEXT

commitopt is running.
  database:  $PGBIN/psql -h $COMMITOPT_SOCKET -p $COMMITOPT_PORT -U postgres $COMMITOPT_DB
             (or over TCP, TLS 1.2+ only: host 127.0.0.1, port $COMMITOPT_PORT,
             sslmode=verify-full sslrootcert=$COMMITOPT_RUN/tls/server.crt)
  server log: $COMMITOPT_RUN/log/ (one file per day, kept 365 days;
              start-up messages in $COMMITOPT_LOG)
  gateway:    $gateway_url   (certificate authority: $gateway_ca)
  gateway log: $COMMITOPT_RUN/gateway/gateway.log
  stop with:  make stop

Console login: admin@demo.example with the password printed when the demo
tenant was created (first 'make start'; only a hash is kept; the README says how to reset it).  For example:
  curl --cacert $gateway_ca -H 'Content-Type: application/json' -d '{"email":"admin@demo.example","password":"<password>"}' $gateway_url/v1/login
  curl --cacert $gateway_ca -H 'Authorization: Bearer <token>' $gateway_url/v1/me
TEXT
