#!/usr/bin/env bash
# Installs the pinned real telemetry clients that suites/realtools runs
# (Turborepo, Next.js, Astro, Storybook) with npm into a cache folder outside the
# repository, one folder per tool:
#
#   <cache>/turbo/node_modules/.bin/turbo
#   <cache>/next/node_modules/.bin/next   (with react and react-dom)
#   <cache>/astro/node_modules/.bin/astro
#   <cache>/storybook/node_modules/.bin/storybook (with its Vite builder)
#
# Usage: scripts/install-npm-targets.sh [CACHE]
#   CACHE defaults to $TELEMETRY_HARNESS_NPM_CACHE, else
#   /var/cache/telemetry-harness/npm when writable, else
#   ${XDG_CACHE_HOME:-$HOME/.cache}/telemetry-harness/npm.
#
# Idempotent: a tool whose folder already holds the pinned versions (its
# .pinned stamp) is not installed again. The last line printed is the cache
# folder, for `TELEMETRY_HARNESS_NPM_CACHE=$(scripts/install-npm-targets.sh | tail -n1)`.
# Needs node >= 18.20 and npm; Astro 5 needs node 18.20.8, 20.3+ or 22+
# (Astro 6 and later need 22.12+, hence the pin on 5).
set -euo pipefail

# The pins: change them here and in docs/real-tools.md together.
declare -A pins=(
	[turbo]="turbo@2.11.11"
	[next]="next@16.4.6 react@19.3.1 react-dom@19.3.1"
	[astro]="astro@5.18.2"
	# 10.6.0: the newest release whose framework package the registry here
	# serves (storybook itself has 10.6.9, @storybook/html-vite 10.6.0).
	[storybook]="storybook@10.6.0 @storybook/html-vite@10.6.0 vite@7.3.8"
)
order=(turbo astro storybook next)

cache="${1:-${TELEMETRY_HARNESS_NPM_CACHE:-}}"
if [[ -z "$cache" ]]; then
	cache=/var/cache/telemetry-harness/npm
	if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w "$cache" ]]; then
		cache="${XDG_CACHE_HOME:-$HOME/.cache}/telemetry-harness/npm"
	fi
fi
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"

for cmd in node npm; do
	if ! command -v "$cmd" >/dev/null; then
		echo "install-npm-targets: $cmd not found; install Node.js 20 (e.g. apt-get install nodejs npm) and run again" >&2
		exit 1
	fi
done
echo "install-npm-targets: node $(node --version), npm $(npm --version), cache $cache" >&2

for tool in "${order[@]}"; do
	dir="$cache/$tool"
	want="${pins[$tool]}"
	if [[ -f "$dir/.pinned" && "$(cat "$dir/.pinned")" == "$want" && -x "$dir/node_modules/.bin/$tool" ]]; then
		echo "install-npm-targets: $tool: $want already installed in $dir" >&2
		continue
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	# A private package.json so npm installs here and nowhere above.
	printf '{"name": "telemetry-harness-%s", "private": true}\n' "$tool" >"$dir/package.json"
	start=$SECONDS
	# shellcheck disable=SC2086 # the pins are several words on purpose
	npm install --prefix "$dir" --no-audit --no-fund --no-update-notifier \
		--save-exact --loglevel=error $want >&2
	echo "$want" >"$dir/.pinned"
	echo "install-npm-targets: $tool: installed $want in $dir ($((SECONDS - start)) s)" >&2
done

echo "$cache"
