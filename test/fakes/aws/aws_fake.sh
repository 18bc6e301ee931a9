#!/usr/bin/env bash
# aws_fake.sh ACTION DIR [ARGS]: the fake AWS for tests (aws_fake.py).
#   start DIR      makes a throwaway CA, a certificate for 127.0.0.1 and one
#                  for the wrong name (DIR/wrong.*), writes the platform's
#                  test credentials (DIR/platform.credentials, mode 0600,
#                  owned by postgres), starts the fake and waits for DIR/port
#   config DIR JSON  merges JSON (an object) into DIR/config.json
#   role DIR ARN EXTERNAL_ID   the fake's IAM role ARN trusts EXTERNAL_ID
#   stop DIR       stops it
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
action=$1
dir=$2
shift 2

case $action in
start)
	fixtures=$1
	rm -rf "$dir"
	mkdir -p "$dir"
	cd "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=commitopt test CA" \
		-keyout ca.key -out ca.crt \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign 2>/dev/null
	for name in server wrong; do
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" \
			-keyout $name.key -out $name.csr 2>/dev/null
		if [[ $name == server ]]; then
			printf 'subjectAltName=IP:127.0.0.1\n' >$name.ext
		else
			printf 'subjectAltName=DNS:wrong.example\n' >$name.ext
		fi
		openssl x509 -req -in $name.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-days 1 -extfile $name.ext -out $name.crt 2>/dev/null
	done
	secret=$(openssl rand -base64 30)
	printf '[default]\naws_access_key_id = AKIDPLATFORMFAKE\naws_secret_access_key = %s\n' \
		"$secret" >platform.credentials
	chmod 600 platform.credentials
	chown postgres platform.credentials 2>/dev/null || true
	printf '{"platform": {"access_key_id": "AKIDPLATFORMFAKE", "secret_access_key": "%s"}, "roles": {}}\n' \
		"$secret" >config.json
	chmod 755 "$dir"
	chmod 644 ca.crt
	: >calls.log
	/usr/bin/python3 "$here/aws_fake.py" "$dir" "$fixtures" >fake.out 2>&1 &
	echo $! >pid
	# the same fake behind a certificate for another name
	mkdir -p wrong
	cp wrong.crt wrong/server.crt
	cp wrong.key wrong/server.key
	ln -sf ../config.json wrong/config.json
	/usr/bin/python3 "$here/aws_fake.py" "$dir/wrong" "$fixtures" >wrong/fake.out 2>&1 &
	echo $! >wrong/pid
	for _ in $(seq 100); do
		[[ -f port && -f wrong/port ]] && exit 0
		sleep 0.1
	done
	echo "AWS fake did not start" >&2
	cat fake.out >&2
	exit 1
	;;
config)
	python3 - "$dir/config.json" "$1" <<'PY'
import json, sys
path, change = sys.argv[1], json.loads(sys.argv[2])
with open(path) as f:
    config = json.load(f)
config.update(change)
with open(path + ".tmp", "w") as f:
    json.dump(config, f)
import os
os.rename(path + ".tmp", path)
PY
	;;
role)
	python3 - "$dir/config.json" "$1" "$2" <<'PY'
import json, sys, os
path, arn, ext = sys.argv[1:4]
with open(path) as f:
    config = json.load(f)
config.setdefault("roles", {})[arn] = ext
with open(path + ".tmp", "w") as f:
    json.dump(config, f)
os.rename(path + ".tmp", path)
PY
	;;
stop)
	for p in "$dir/pid" "$dir/wrong/pid"; do
		if [[ -f $p ]]; then
			kill "$(cat "$p")" 2>/dev/null || true
			rm -f "$p"
		fi
	done
	;;
*)
	echo "usage: aws_fake.sh start|config|role|stop DIR ..." >&2
	exit 2
	;;
esac
