#!/bin/bash
# 51-explain-table.sh - `pgkillguard explain` with no pid: a table whose
# descriptions are never cut (the old one cut them at 60 characters), wrapped
# to the terminal's width (TIOCGWINSZ, COLUMNS, --width), whole lines when
# piped; and `--json`: valid JSON, strings escaped, for every cluster process.
set -eu
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/guard.sh"

guard_test_begin
PGKG=$G_HELPER
command -v python3 >/dev/null || skip_all "python3 is needed to check the JSON"

PGKG_EXTRA_CONF="archive_mode = on
archive_command = '/bin/true'" new_running_cluster explaintab
# a role name that makes the description longer than the old 60-column cut
LONG=role_with_a_name_long_enough_to_be_cut_at_sixty_x
cluster_add_role "$D" "$LONG" >/dev/null
PGUSER=$LONG open_idle_session "$D" long
T=$(backend_pid "$D" long)
# a database whose name needs JSON escaping: quote, backslash, bidi override
WEIRD=$'we"ird\\db\u202ex'
cluster_psql "$D" "create database \"${WEIRD//\"/\"\"}\"" >/dev/null
_pgkg_user_cmd "PGHOST=$D/sock" "PGPORT=$(cat "$D/port")" "PGDATABASE=$WEIRD" \
	bash -c 'sleep 1000000 | exec "$0" -X -q' "$(pg_bindir)/psql"
( cd / && exec setsid "${_PGKG_CMD[@]}" </dev/null >"$D/sessions/weird.log" 2>&1 ) &
echo "$!" >"$D/sessions/weird.pid"
disown $!
W=""
for _ in $(seq 100); do
	W=$(cluster_psql "$D" "select pid from pg_stat_activity where datname <> 'postgres'
		and backend_type = 'client backend'") && [ -n "$W" ] && break
	sleep 0.05
done
# the archiver's title gets "last was 0000000100000000000000NN" after a switch
cluster_psql "$D" "create table t as select 1 as a; select pg_switch_wal()" >/dev/null
ARCH=$(aux_pid "$D" archiver)
for _ in $(seq 100); do
	grep -q 'last was' "/proc/$ARCH/cmdline" 2>/dev/null && break
	sleep 0.05
done
ARCH_TITLE=$(tr '\0' ' ' <"/proc/$ARCH/cmdline" | sed 's/^postgres: //; s/ *$//')
t_like "$ARCH_TITLE" "^archiver last was [0-9A-F]{24}" "the archiver's title names the last WAL file"

# rows_of TEXT PID : the description of PID's row without its decisions,
#   continuation lines (indented past the PID column) joined, blanks removed
#   (a wrap may break at a blank).
rows_of() {
	awk -v pid="$2" '
		/^    [0-9]/ { inrow = 0 }
		/^    [0-9]/ && $1 == pid {
			inrow = 1; sub(/^ +[0-9]+  +/, "")
			sub(/( +(allow|block|terminate|cancel))+ *$/, ""); print; next }
		inrow && /^         *[^ ]/ { print; next }
		{ inrow = 0 }' <<<"$1" | tr -d ' \n'
}
nospace() { tr -d ' \n' <<<"$1"; }

# piped: whole lines, whatever COLUMNS says
OUT=$(COLUMNS=40 "$PGKG" explain)
t_like "$OUT" "cluster $D/data: postmaster $PM, port [0-9]+, socket $D/sock" "piped: the cluster heading, whole"
t_like "$OUT" $'\n'"    $ARCH +archiver last was [0-9A-F]{24} +block" "piped: the archiver's description, whole (not cut at 60 columns)"
t_like "$OUT" $'\n'"    $T +client backend $LONG@postgres, idle +terminate +terminate +allow" \
	"piped: the long description whole, then the decisions"
t_like "$OUT" "    PID +PROCESS +KILL +QUIT +TERM +INT +HUP +STOP" "piped: a header row names the columns"

# --width: wrapped, nothing lost
OUT=$("$PGKG" explain -s KILL --width 50)
t_is "$(awk 'length($0) > 50' <<<"$OUT" | grep -v '^policy: \|^caller: ' || true)" "" "--width 50: no line is wider than 50"
t_is "$(rows_of "$OUT" "$T")" "$(nospace "client backend $LONG@postgres, idle")" \
	"--width 50: the long description is wrapped, not cut"
t_is "$(rows_of "$OUT" "$ARCH")" "$(nospace "$ARCH_TITLE")" "--width 50: the archiver's description is whole"
t_like "$(nospace "$OUT")" "$(nospace "cluster $D/data: postmaster $PM, port")" "--width 50: the heading wraps too, whole"
# too narrow for six signal columns: each row's decisions go under it
OUT=$("$PGKG" explain --width 60)
t_is "$(awk 'length($0) > 60' <<<"$OUT" | grep -v '^policy: \|^caller: ' || true)" "" "--width 60 (stacked): no line is wider than 60"
t_like "$(rows_of "$OUT" "$T")" "^$(nospace "client backend $LONG@postgres, idle")KILL:terminateQUIT:terminateTERM:allowINT:allowHUP:allowSTOP:block\$" \
	"--width 60 (stacked): the description whole, then SIGNAL:ACTION for every signal"
t_like "$("$PGKG" explain --width 0)" "$T +client backend $LONG@postgres, idle +terminate" "--width 0: no limit"
run_capture "$PGKG" explain --width abc
t_is "$RC" 2 "--width abc: a usage error"

# a terminal: its width (TIOCGWINSZ) wins over COLUMNS
if command -v script >/dev/null; then
	OUT=$(COLUMNS=200 script -qec "stty cols 56; $PGKG explain -s KILL" /dev/null | tr -d '\r')
	t_is "$(awk 'length($0) > 56' <<<"$OUT" | grep -v '^policy: \|^caller: ' || true)" "" "on a 56-column terminal: no line is wider"
	t_is "$(rows_of "$OUT" "$T")" "$(nospace "client backend $LONG@postgres, idle")" \
		"on a 56-column terminal: the description is wrapped, whole"
else
	t_skip "on a 56-column terminal: no line is wider" "no script(1) (bsdutils) to make a terminal"
	t_skip "on a 56-column terminal: the description is wrapped, whole" "no script(1)"
fi

# --json
JSON=$_PGKG_TMP/explain.json
"$PGKG" explain --json >"$JSON"
t_ok "--json: python3 -m json.tool accepts it" python3 -m json.tool "$JSON"
CHECK=$(python3 - "$JSON" "$D/data" "$PM" "$T" "$LONG" "$ARCH" "$ARCH_TITLE" "$W" "$WEIRD" <<-'PY'
	import json, sys
	f, datadir, pm, t, role, arch, arch_title, w, weird = sys.argv[1:]
	raw = open(f, "rb").read()
	doc = json.loads(raw)
	out = []
	out.append("ascii-escapes-bidi" if "\u202e".encode() not in raw else "raw-bidi")
	c = [c for c in doc["clusters"] if c["datadir"] == datadir]
	out.append("clusters=%d" % len(c))
	c = c[0]
	out.append("postmaster=%s" % (c["postmaster"] == int(pm)))
	procs = {p["pid"]: p for p in c["processes"]}
	p = procs[int(t)]
	out.append("user=%s" % (p["user"] == role))
	out.append("kill=%s" % p["decisions"]["KILL"]["action"])
	out.append("timeout=%s" % ("timeout_ms" in p["decisions"]["KILL"]))
	out.append("stop=%s" % p["decisions"]["STOP"]["action"])
	out.append("arch=%s" % procs[int(arch)]["description"].startswith(arch_title))
	out.append("weird=%s" % (procs[int(w)]["database"] == weird))
	out.append("policy=%s" % doc["policy"]["mode"])
	print(" ".join(out))
	PY
) || CHECK="python3 failed"
t_like "$CHECK" "ascii-escapes-bidi" "--json: the bidi override is escaped (\\u202e), not raw"
t_like "$CHECK" "clusters=1 postmaster=True" "--json: the cluster, its datadir and postmaster"
t_like "$CHECK" "user=True kill=terminate timeout=True stop=block" "--json: the long-named backend and its decisions"
t_like "$CHECK" "arch=True" "--json: the archiver's description, whole"
t_like "$CHECK" "weird=True" "--json: a database name with \" and \\ round-trips"
t_like "$CHECK" "policy=enforce" "--json: the policy's mode"
OUT=$("$PGKG" explain --json -s QUIT "$T" 99999999 || true)
CHECK=$(python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
p = d["processes"]
print(len(p), p[0]["cluster"]["datadir"], list(p[0]["decisions"]), p[1]["error"])' <<<"$OUT") || CHECK="python3 failed"
t_is "$CHECK" "2 $D/data ['QUIT'] no such process" "--json PID...: each process, its cluster, the one signal asked for"
rc=0
OUT=$("$PGKG" explain --json abc "$T" 0x1 "$PM" 2>"$_PGKG_TMP/err") || rc=$?
t_is "$(python3 -c 'import json, sys; print([p["pid"] for p in json.loads(sys.stdin.read())["processes"]])' <<<"$OUT" 2>&1)" \
	"[$T, $PM]" "--json with arguments that are not pids: still valid JSON, the pids in it"
t_is "$rc:$(grep -c 'not a process id' "$_PGKG_TMP/err")" "1:2" "--json: a bad argument is said on stderr, exit 1"
t_ok "explain sent nothing: backend alive" alive "$T"
t_done
