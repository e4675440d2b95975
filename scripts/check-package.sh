#!/usr/bin/env bash
# Packs pareco the way `npm publish` would, checks what goes into the tarball, installs it into a
# throw-away global prefix and uses the installed binaries for real: --help, --version, and an
# upload then a download through an installed pareco-server on loopback, compared with diff -r.
#
# Usage: scripts/check-package.sh      (from anywhere; needs `npm ci` done and the npm registry,
#                                       or the npm cache, for the package's dependencies)
# Nothing outside a temporary directory is touched; it is removed at the end (kept with KEEP_TMP=1).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

fail() { echo "check-package: FAIL: $*" >&2; exit 1; }
step() { echo "check-package: $*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pareco-package.XXXXXX")
server_pid=''
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "${KEEP_TMP:-}" = 1 ]; then echo "check-package: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

version=$(node -p "require('./package.json').version")

# --- the tarball ------------------------------------------------------------------------------
# prepare (= build) is what npm pack/publish run first; run it here, then pack without scripts so
# the JSON on stdout is not mixed with the build's output.
step "building and packing pareco $version"
npm run --silent build
npm pack --ignore-scripts --json --pack-destination "$tmp" > "$tmp/pack.json"
tarball="$tmp/pareco-$version.tgz"
[ -f "$tarball" ] || fail "npm pack did not produce $tarball"

# What is inside: the runtime only. No tests, no TypeScript sources, no source maps, nothing big.
node - "$tmp/pack.json" <<'EOF'
const fs = require('node:fs');
const [info] = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const pkg = require('./package.json');
const paths = info.files.map((f) => f.path);
const problems = [];
const forbidden = [
  [/^dist\/test\//, 'compiled tests'],
  [/^(test|src|bench|scripts|\.ci)\//, 'repository-only files'],
  [/\.ts$/, 'TypeScript sources'],
  [/\.map$/, 'source maps (they point at src/*.ts, which is not shipped)'],
  [/(^|\/)(node_modules|\.git)\//, 'vendored or VCS files'],
  [/\.tgz$/, 'an older tarball'],
];
for (const p of paths) {
  if (p.endsWith('.d.ts')) continue; // declarations are wanted
  for (const [re, what] of forbidden) if (re.test(p)) problems.push(`${p}: ${what}`);
}
const required = ['package.json', 'README.md', 'protocol/PROTOCOL.md', pkg.main, pkg.types, ...Object.values(pkg.bin), 'dist/bundle/pareco.cjs', 'dist/bundle/pareco-server.cjs']
  .map((p) => p.replace(/^\.\//, ''));
for (const p of required) if (!paths.includes(p)) problems.push(`${p}: missing`);
for (const bin of Object.values(pkg.bin)) {
  const entry = info.files.find((f) => f.path === bin.replace(/^\.\//, ''));
  if (entry && (entry.mode & 0o111) === 0) problems.push(`${bin}: not executable in the tarball (mode ${entry.mode.toString(8)})`);
}
const LIMIT = 2 * 1024 * 1024; // unpacked; about 1.5 MB today: the compiled modules (the library API) and a bundle per program
if (info.unpackedSize > LIMIT) problems.push(`unpacked size ${info.unpackedSize} bytes is over ${LIMIT}`);
console.log(`check-package: tarball ${info.filename}: ${info.entryCount} files, ${info.size} bytes packed, ${info.unpackedSize} unpacked`);
if (problems.length > 0) {
  console.error('check-package: FAIL: the tarball is wrong:\n  ' + problems.join('\n  '));
  process.exit(1);
}
EOF

# --- install into a throw-away global prefix ----------------------------------------------------
prefix="$tmp/prefix"
step "npm install -g --prefix $prefix"
# --prefer-offline: npm ci has just put the dependencies in the cache.
npm install -g --prefix "$prefix" --prefer-offline --no-audit --no-fund --loglevel=error "$tarball" > "$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log" >&2; fail "npm install -g of the tarball failed"; }
installed="$prefix/lib/node_modules/pareco"
[ -d "$installed" ] || fail "nothing installed at $installed"
[ ! -e "$installed/dist/test" ] || fail "dist/test was installed"

export PATH="$prefix/bin:$PATH"
cd / # nothing of the repository is reachable from here
protocol=$(node --input-type=module -e "console.log((await import('$installed/dist/protocol/version.js')).PROTOCOL_VERSION)") \
  || fail "cannot read the protocol version of the installed package"
for bin in pareco pareco-server; do
  where=$(command -v "$bin") || fail "$bin is not on PATH after install"
  [ "$where" = "$prefix/bin/$bin" ] || fail "$bin resolves to $where, not the installed one"
  target=$(readlink -f "$where")
  case "$target" in "$installed"/bin/*) ;; *) fail "$bin links to $target, outside the installed package" ;; esac
  [ -x "$target" ] || fail "$target is not executable"
  [ "$(head -n 1 "$target")" = '#!/usr/bin/env node' ] || fail "$target has no '#!/usr/bin/env node' shebang"
  out=$("$bin" --help) || fail "$bin --help exited $?"
  grep -q "^Usage: $bin " <<< "$out" || fail "$bin --help does not start with its usage: $out"
  got=$("$bin" --version) || fail "$bin --version exited $?"
  [ "$got" = "$bin $version (protocol $protocol, node $(node --version))" ] || fail "$bin --version printed '$got', expected '$bin $version (protocol $protocol, node …)'"
done
step "pareco and pareco-server: --help, --version, shebang and mode are right"

# The library entry point (package.json "exports") resolves from a consumer's node_modules.
mkdir -p "$tmp/consumer"
ln -s "$prefix/lib/node_modules" "$tmp/consumer/node_modules"
(cd "$tmp/consumer" && node --input-type=module -e "
  const m = await import('pareco');
  for (const name of ['sync', 'startServer', 'VERSION', 'ParecoError'])
    if (!(name in m)) throw new Error('pareco does not export ' + name);
  if (m.VERSION !== '$version') throw new Error('VERSION is ' + m.VERSION);
") || fail "import('pareco') from a consumer failed"
[ -f "$installed/$(node -p "require('$installed/package.json').types")" ] || fail "the types file is missing"
step "import('pareco') works and the types are there"

# --- a real sync with the installed binaries ----------------------------------------------------
src="$tmp/src"; dst="$tmp/dst"; back="$tmp/back"
mkdir -p "$src/nested/deeper" "$src/empty-dir"
printf 'hello\n' > "$src/hello.txt"
: > "$src/empty-file"
printf 'spaces and ünïcödé\n' > "$src/nested/name with spaces é.txt"
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom > "$src/nested/deeper/random.bin" # several 1M chunks and a tail
seq 1 20000 > "$src/nested/numbers.txt"

pareco-server -p 0 --host 127.0.0.1 > "$tmp/server.log" 2>&1 &
server_pid=$!
port=''
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*port: \([0-9][0-9]*\).*/\1/p' "$tmp/server.log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; fail "pareco-server exited before listening"; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/server.log" >&2; fail "pareco-server printed no 'port: N' within 10 s"; }
step "installed pareco-server listening on 127.0.0.1:$port"

timeout 120 pareco -m upload -l "$src" -r "$dst" -s "ws://127.0.0.1:$port" --log-level stats \
  || fail "pareco upload exited $?"
diff -r "$src" "$dst" || fail "the uploaded tree differs from the source"
timeout 120 pareco -m download -l "$back" -r "$dst" -s "ws://127.0.0.1:$port" --log-level stats \
  || fail "pareco download exited $?"
diff -r "$src" "$back" || fail "the downloaded tree differs from the source"

kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=''
step "upload and download with the installed binaries: trees identical"
echo "check-package: OK"
