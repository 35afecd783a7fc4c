#!/usr/bin/env bash
# `npm run check:image`: the container image's steps (Dockerfile), run on a machine without a
# container engine, then the result started as an unprivileged user and probed like the image.
# Each numbered step matches the Dockerfile's step of the same number: change both together.
#
# Slow (a clean install and a build: a few minutes), so CI does not run it; the deploy workflow
# builds the real image. KEEP=1 keeps the temporary directory for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
run_as=${IMAGE_STEPS_USER:-nobody}
run_group=$(id -gn "$run_as")

work=$(mktemp -d -t credible-image-XXXXXX)
chmod 755 "$work"
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill "$server_pid" || true; fi
	if [ "${KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
step() { printf '\n=== %s ===\n' "$*"; }
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

step "1. sources, without what .dockerignore lists"
# Docker anchors a pattern at the context's root unless it starts with **/; rsync needs a leading /.
sed -e '/^#/d' -e '/^$/d' -e '/^\*\*\//!s|^|/|' .dockerignore >"$work/excludes"
rsync -a --exclude-from="$work/excludes" "$repo/" "$work/build/"
cd "$work/build"

step "2. every dependency, as locked"
npm ci --no-audit --no-fund || npm install --no-audit --no-fund

step "3. the SvelteKit build, the worker and CLI bundles"
npm run build

step "4. production dependencies only"
npm prune --omit=dev --no-audit --no-fund
# The postgres.js patch (patches/) must be in the production tree: without it a database restart
# ends the server.
grep -q 'The socket closed while a write waited' node_modules/postgres/src/connection.js

step "5. the runtime tree: owned by root, only the data directory writable by $run_as"
# The image installs Debian's postgresql-client for `backup` and `restore`; here, the machine's.
command -v pg_dump >/dev/null && command -v pg_restore >/dev/null ||
	{ echo "✗ pg_dump and pg_restore are missing (Debian package postgresql-client)" >&2; exit 1; }
mkdir "$work/app"
for entry in package.json node_modules build dist server.js server-drain.js otel drizzle models; do
	cp -a "$work/build/$entry" "$work/app/"
done
chown -R root:root "$work/app"
chmod -R go-w "$work/app"
mkdir "$work/data"
chown "$run_as:$run_group" "$work/data"
rm -rf "$work/build"
cd "$work/app"
if setpriv --reuid="$run_as" --regid="$run_group" --clear-groups test -w "$work/app/build"; then
	echo "✗ $run_as can write the application's files" >&2
	exit 1
fi

step "6. node server.js as $run_as, with the image's environment, on the embedded database"
port=$(free_port)
metrics_port=$(free_port)
# env -i: only what the image's ENV sets (plus PATH and a HOME for the user), none of this shell's.
setpriv --reuid="$run_as" --regid="$run_group" --clear-groups \
	env -i PATH="$PATH" HOME="$work/data" NODE_ENV=production HOST=127.0.0.1 PORT="$port" \
	METRICS_PORT="$metrics_port" PGLITE_DIR="$work/data/pglite" \
	node server.js >"$work/server.log" 2>&1 &
server_pid=$!

step "7. the image's HEALTHCHECK, then readiness"
ready=
for _ in $(seq 1 120); do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		cat "$work/server.log" >&2
		echo "✗ the server exited before it was ready" >&2
		exit 1
	fi
	# The Dockerfile's HEALTHCHECK command, verbatim.
	if PORT=$port node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
		body=$(curl -s -w '\n%{http_code}' "http://127.0.0.1:$port/readyz" || true)
		if [ "$(tail -n1 <<<"$body")" = 200 ] && grep -q '"status":"ready"' <<<"$body"; then
			ready=1
			break
		fi
	fi
	sleep 1
done
if [ -z "$ready" ]; then
	cat "$work/server.log" >&2
	echo "✗ /readyz did not answer 200 ready within 120 s" >&2
	exit 1
fi
echo "/readyz: $(head -n1 <<<"$body")"
owner=$(ps -o user= -p "$server_pid" | tr -d ' ')
[ "$owner" = "$run_as" ] || { echo "✗ the server runs as $owner, not $run_as" >&2; exit 1; }
curl -sf "http://127.0.0.1:$metrics_port/metrics" | grep -q '^credible_' ||
	{ echo "✗ no credible_ metrics on METRICS_PORT" >&2; exit 1; }
echo "runs as $owner; /metrics answers on METRICS_PORT"

step "SIGTERM: the server drains and exits 0"
kill -TERM "$server_pid"
started=$SECONDS
code=0
wait "$server_pid" || code=$?
server_pid=
echo "exited $code after $((SECONDS - started)) s"
[ "$code" = 0 ] || { tail -n 20 "$work/server.log" >&2; exit 1; }
echo "✓ the image's steps build a tree that starts as $run_as and answers /readyz 200 ready"
