#!/bin/sh
# Turn the shipped policy file into the built-in default (a C string), so
# "no file" and "the shipped file" can never disagree.
set -eu
printf '/* generated from %s by policy/embed.sh: do not edit */\n' "$1"
printf 'extern const char pgkg_default_policy_text[];\n'
printf 'const char pgkg_default_policy_text[] =\n'
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' -e 's/^/"/' -e 's/$/\\n"/' "$1"
printf ';\n'
