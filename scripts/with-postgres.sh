#!/bin/sh
# with-postgres.sh COMMAND [ARG...]: runs COMMAND with a throwaway PostgreSQL
# server (Debian's postgresql package: initdb + pg_ctl in a temporary
# directory, on a free loopback port, password login), pointed at by
# GROUPSYNC_TEST_POSTGRES. GROUPSYNC_TEST_POSTGRES_REQUIRED=1 makes the
# PostgreSQL tests fail rather than skip if anything is amiss. The server is
# stopped and its directory removed at the end, whatever COMMAND's outcome.
set -eu

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "with-postgres.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2
	exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/groupsync-pg.XXXXXX")
chmod 755 "$dir"
# initdb refuses to run as root: run the server as the package's user.
run=""
if [ "$(id -u)" = 0 ]; then
	user=postgres
	id "$user" >/dev/null 2>&1 || user=nobody
	chown "$user" "$dir"
	run="runuser -u $user --"
fi

stop() {
	$run "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

password="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$password" >"$dir/pwfile"
[ -n "$run" ] && chown "$user" "$dir/pwfile"
$run "$bindir/initdb" -D "$dir/data" -U groupsync --auth=scram-sha-256 --pwfile="$dir/pwfile" \
	-E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
rm -f "$dir/pwfile"

# A free port: try a few from a random start; pg_ctl fails on a taken one.
started=""
for i in 1 2 3 4 5 6 7 8; do
	port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 ))
	if $run "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null 2>&1; then
		started=1
		break
	fi
done
if [ -z "$started" ]; then
	echo "with-postgres.sh: the PostgreSQL server did not start:" >&2
	cat "$dir/server.log" >&2 || true
	exit 1
fi

export GROUPSYNC_TEST_POSTGRES="postgres://groupsync:$password@127.0.0.1:$port/postgres?sslmode=disable"
export GROUPSYNC_TEST_POSTGRES_REQUIRED=1
echo "with-postgres.sh: PostgreSQL $("$bindir/postgres" -V | awk '{print $3}') on 127.0.0.1:$port" >&2
set +e
"$@"
rc=$?
set -e
exit $rc
