#!/bin/bash
# 85-kill-storm.sh - the short kill storm: 8 writers with synchronous commit,
# 20 s of KILL/QUIT/ABRT/SEGV/BUS to their backends through the preloaded
# shell and through `pgkillguard exec` (tests/stress/storm.sh says what
# passes; `make stress` runs it for longer).
STORM_SECONDS=20 STORM_WRITERS=8 STORM_MIN_KILLS=100 \
	exec bash "$(dirname "$0")/../stress/storm.sh"
