#!/usr/bin/env bash
# The README's two commands on a fresh clone of this checkout's HEAD, in a temporary folder, as a
# newcomer runs them: `npm install && npm start` must print the banner with its boot time and
# answer /health; then `npm test` must pass. Prints the boot time and what the run found.
#
# Usage: scripts/try-fresh-clone.sh [--no-test]
#   --no-test   stop after the start (the test suite takes a quarter of an hour)
#   MAX_BOOT_SECONDS (default 10): a slower boot, as the banner says it, fails the check.
set -u

run_tests=1
[ "${1:-}" = "--no-test" ] && run_tests=0
max_boot=${MAX_BOOT_SECONDS:-10}
source_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/depeche-clone-XXXXXX")
service_pid=""

say() { printf '\n== %s\n' "$*"; }
cleanup() {
  # npm start runs the service in a child: end the whole process group.
  [ -n "$service_pid" ] && kill -TERM -- "-$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

say "cloning $(git -C "$source_dir" rev-parse --short HEAD) into $work"
git clone -q "$source_dir" "$work/depeche" || exit 1
cd "$work/depeche" || exit 1

say "npm install"
npm install --no-audit --no-fund || exit 1

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
say "npm start (PORT=$port)"
setsid env PORT="$port" npm start >start.log 2>&1 &
service_pid=$!
healthy=0
for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then healthy=1; break; fi
  if ! kill -0 "$service_pid" 2>/dev/null; then break; fi
  sleep 0.5
done
cat start.log
if [ "$healthy" != 1 ]; then
  echo "FAIL: /health never answered"
  exit 1
fi
banner=$(grep -m1 -o 'Dépêche is serving .*, ready in [0-9.]* s' start.log)
boot=$(printf '%s' "$banner" | sed -E 's/.*ready in ([0-9.]+) s.*/\1/')
for line in 'Desk ' 'Database ' 'Mail ' 'Redis '; do
  grep -q "  $line" start.log || { echo "FAIL: the banner has no \"$line\" line"; exit 1; }
done
if [ -z "$boot" ]; then
  echo "FAIL: the banner gives no boot time"
  exit 1
fi
if ! node -e "process.exit(Number(process.argv[1]) <= Number(process.argv[2]) ? 0 : 1)" "$boot" "$max_boot"; then
  echo "FAIL: ready in $boot s, more than $max_boot s"
  exit 1
fi
kill -TERM -- "-$service_pid" 2>/dev/null
wait "$service_pid" 2>/dev/null
service_pid=""
say "started: ready in $boot s (the banner's figure), /health answered"

if [ "$run_tests" = 1 ]; then
  say "npm test"
  npm test || { echo "FAIL: npm test"; exit 1; }
fi
say "fresh clone: all good"
