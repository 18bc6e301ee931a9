#!/usr/bin/env bash
# breach_fake.sh start DIR PASSWORD... | stop DIR
#   start: makes a throwaway CA and a certificate for 127.0.0.1 (openssl),
#          starts breach_fake.py in the background and waits until it
#          listens; DIR/ca.crt is the CA to trust, DIR/port its port.
#   stop:  stops the fake started in DIR.
# Called from pg_regress tests with \! so the fake lives for one test.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
action=$1
dir=$2
shift 2

case $action in
start)
	rm -rf "$dir"
	mkdir -p "$dir"
	cd "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=commitopt test CA" \
		-keyout ca.key -out ca.crt \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign \
		2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
		-keyout server.key -out server.csr 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
		-days 1 -extfile server.ext -out server.crt 2>/dev/null
	chmod 755 "$dir"
	chmod 644 ca.crt
	: >requests.log
	/usr/bin/python3 "$here/breach_fake.py" "$dir" "$@" >fake.out 2>&1 &
	echo $! >pid
	for _ in $(seq 100); do
		[[ -f port ]] && exit 0
		sleep 0.1
	done
	echo "breach fake did not start" >&2
	cat fake.out >&2
	exit 1
	;;
stop)
	if [[ -f $dir/pid ]]; then
		kill "$(cat "$dir/pid")" 2>/dev/null || true
		rm -f "$dir/pid"
	fi
	;;
*)
	echo "usage: breach_fake.sh start DIR PASSWORD... | stop DIR" >&2
	exit 2
	;;
esac
