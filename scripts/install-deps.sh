#!/usr/bin/env bash
# Installs the Debian packages commitopt needs, only those that are missing,
# so that a second run costs a dpkg query and nothing else.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

packages=(
	make gcc
	postgresql-15 postgresql-client-15 postgresql-server-dev-15
	postgresql-15-cron postgresql-15-pgaudit
	libcsv-dev
	libargon2-dev libcurl4-openssl-dev openssl python3
	libssl-dev libxml2-dev python3-botocore
	# the HTTPS gateway, its tests, fuzzing and benchmark
	libevent-dev libhttp-parser-dev libpq-dev curl wrk clang
	valgrind
)

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
	log_step "installing ${missing[*]}"
	if [[ $(id -u) -ne 0 ]]; then
		echo "missing packages (${missing[*]}); run as root to install them" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Debian's postgresql-common creates and starts a 'main' cluster on
	# install; we run our own, so keep it from being created.
	mkdir -p /etc/postgresql-common/createcluster.d
	echo 'create_main_cluster = false' \
		> /etc/postgresql-common/createcluster.d/commitopt.conf
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
