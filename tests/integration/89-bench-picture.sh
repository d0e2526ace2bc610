#!/bin/bash
# 89-bench-picture.sh - BENCHMARKS.md shows the kill -9 timeline picture,
# which is committed and a PNG; bench/timeline.gp draws one from data shaped
# like bench/timeline.sh's (without running the benchmark); `make bench`
# includes the timeline figure.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"

plan_none
setup_traps
TOP=$(cd "$(dirname "$0")/../.." && pwd)
_pgkg_tmp

ref=$(grep -oE '!\[[^]]*\]\([^)]+\.(png|svg)\)' "$TOP/BENCHMARKS.md" | head -1 | sed 's/.*(\(.*\))/\1/')
t_is "$ref" "docs/kill9-timeline.png" "BENCHMARKS.md shows docs/kill9-timeline.png"
t_is "$(head -c 8 "$TOP/docs/kill9-timeline.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" \
	"89504e470d0a1a0a" "docs/kill9-timeline.png is a PNG"
t_like "$(sed -n 's/^FIGURES=\${\*:-\(.*\)}$/\1/p' "$TOP/bench/run.sh")" "(^| )timeline( |$)" \
	"make bench (bench/run.sh) draws the timeline by default"

if command -v gnuplot >/dev/null; then
	W=$_PGKG_TMP
	for arm in guarded unguarded; do
		awk -v a=$arm 'BEGIN { for (t = -6; t < 10; t += 0.1) printf "%.1f %d\n", t, (a == "unguarded" && t > 0) ? 8 : 28 }' >"$W/$arm.sessions"
		awk -v a=$arm 'BEGIN { for (t = -6; t < 10; t += 0.25) printf "%.3f %d\n", t, (a == "unguarded" && t > 0 && t < 0.5) ? 0 : 300 }' >"$W/$arm.tps"
	done
	out=$(cd "$TOP" && gnuplot -e "dir='$W'; out='$W/t.png'; idle=20; clients=8; rate=300" \
		-e "refused=300; lost=20; glost=1; grefused=0" bench/timeline.gp 2>&1) || true
	t_is "$out" "" "bench/timeline.gp runs without a message"
	t_is "$(head -c 8 "$W/t.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" "89504e470d0a1a0a" \
		"bench/timeline.gp draws a PNG"
else
	t_skip "bench/timeline.gp runs without a message" "gnuplot is not installed (make bench installs gnuplot-nox)"
	t_skip "bench/timeline.gp draws a PNG" "gnuplot is not installed"
fi
t_done
