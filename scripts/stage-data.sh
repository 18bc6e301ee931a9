#!/usr/bin/env bash
# stage-data.sh MODE: copies the shipped sample data and the test fixtures
# to where the server (running as 'postgres') can read them.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
commitopt_mode "$1"

rm -rf "$COMMITOPT_DATA"
mkdir -p "$COMMITOPT_DATA"
cp -R "$COMMITOPT_SRC/data/." "$COMMITOPT_DATA/"
cp -R "$COMMITOPT_SRC/test/fixtures" "$COMMITOPT_DATA/fixtures"
chown -R postgres:postgres "$COMMITOPT_DATA" 2>/dev/null || true
chmod -R a+rX "$COMMITOPT_DATA"
