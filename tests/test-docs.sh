#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The documentation and the system integration files, as built (no root needed; test-package.sh checks
# the installed package): the man pages render without a warning; every key of conf.c's table is
# documented, in its section, in ali-linkd.conf(5) and in the shipped etc/ali-linkd.conf, and neither
# documents a key that does not exist; the same for binding.c's keys and the man page's
# [binding.IDENTIFIER] section; the unit rates 2.0 or lower in systemd-analyze security; udev
# accepts the rules; the installer wrapper parses.
. "$(dirname "$0")/lib.sh"

need man systemd-analyze udevadm
B=$top_builddir

for page in "$B/man/ali-linkd.8" "$B/man/ali-linkd.conf.5"; do
	[ -f "$page" ] || fail "${page#"$B"/} is not built"
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" >/dev/null 2>"$T/man.err" ||
		fail "man cannot render ${page##*/}: $(cat "$T/man.err")"
	[ ! -s "$T/man.err" ] || fail "man --warnings on ${page##*/}: $(cat "$T/man.err")"
done
pass "man pages render without warnings"

# "section key" pairs: the parser's table, the man page's sections, the shipped file's commented keys.
sed -nE 's/^[[:space:]]*\{ ?"([a-z_]+)", "([a-z_]+)", parse_.*/\1 \2/p' "$top_srcdir/src/daemon/conf.c" | sort >"$T/keys.conf.c"
awk '/^\.SH "\[[A-Z]+\] SECTION"/ { s = tolower(substr($2, 3, length($2) - 3)); next }
     /^\.SH/ { s = "" }
     s != "" && /^\.BI [a-z_]+= / { k = $2; sub(/=$/, "", k); print s, k }' \
	"$top_srcdir/man/ali-linkd.conf.5.in" | sort >"$T/keys.man"
awk '/^\[[a-z]+\]/ { s = substr($1, 2, length($1) - 2); next }
     /^#[a-z_]+ =/ { k = substr($1, 2); print s, k }' "$top_srcdir/etc/ali-linkd.conf" | sort >"$T/keys.etc"
[ "$(wc -l <"$T/keys.conf.c")" -ge 15 ] || fail "could not read the table of keys from conf.c"
diff -u "$T/keys.conf.c" "$T/keys.man" >"$T/diff" || fail "ali-linkd.conf(5) and conf.c disagree on the keys: $(cat "$T/diff")"
diff -u "$T/keys.conf.c" "$T/keys.etc" >"$T/diff" || fail "etc/ali-linkd.conf and conf.c disagree on the keys: $(cat "$T/diff")"
pass "all $(wc -l <"$T/keys.conf.c") keys documented in ali-linkd.conf(5) and etc/ali-linkd.conf"

# The [binding.IDENTIFIER] sections' keys: binding.c's table against the man page's section of them.
sed -nE 's/^[[:space:]]*\{"([a-z_]+)", [A-Z_ |]+, parse_.*/\1/p' "$top_srcdir/src/thing/binding.c" | sort >"$T/keys.binding.c"
awk '/^\.SH "\[BINDING\.IDENTIFIER\] SECTIONS"/ { s = 1; next }
     /^\.SH/ { s = 0 }
     s && /^\.BI [a-z_]+= / { k = $2; sub(/=$/, "", k); print k }' \
	"$top_srcdir/man/ali-linkd.conf.5.in" | sort >"$T/keys.binding.man"
[ "$(wc -l <"$T/keys.binding.c")" -ge 15 ] || fail "could not read the table of keys from binding.c"
diff -u "$T/keys.binding.c" "$T/keys.binding.man" >"$T/diff" ||
	fail "ali-linkd.conf(5) and binding.c disagree on the keys of [binding.IDENTIFIER]: $(cat "$T/diff")"
pass "all $(wc -l <"$T/keys.binding.c") keys of [binding.IDENTIFIER] documented in ali-linkd.conf(5)"

# The [subdevice.NAME] sections' keys: conf.c's table of them against the man page's section.
sed -nE 's/^[[:space:]]*\{ ?"subdevice\.NAME", "([a-z_]+)", parse_.*/\1/p' "$top_srcdir/src/daemon/conf.c" | sort >"$T/keys.sub.c"
awk '/^\.SH "\[SUBDEVICE\.NAME\] SECTIONS"/ { s = 1; next }
     /^\.SH/ { s = 0 }
     s && /^\.BI [a-z_]+= / { k = $2; sub(/=$/, "", k); print k }' \
	"$top_srcdir/man/ali-linkd.conf.5.in" | sort >"$T/keys.sub.man"
[ "$(wc -l <"$T/keys.sub.c")" -ge 4 ] || fail "could not read the [subdevice.NAME] keys from conf.c"
diff -u "$T/keys.sub.c" "$T/keys.sub.man" >"$T/diff" ||
	fail "ali-linkd.conf(5) and conf.c disagree on the keys of [subdevice.NAME]: $(cat "$T/diff")"
pass "all $(wc -l <"$T/keys.sub.c") keys of [subdevice.NAME] documented in ali-linkd.conf(5)"

systemd-analyze security --offline=true --threshold=20 "$B/systemd/ali-linkd.service" >"$T/security" 2>&1 ||
	fail "systemd-analyze security: $(tail -n 5 "$T/security")"
score=$(sed -nE 's/.*Overall exposure level for ali-linkd.service: ([0-9.]+).*/\1/p' "$T/security")
[ -n "$score" ] || fail "no exposure level in: $(tail -n 3 "$T/security")"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure level $score is above 2.0"
pass "systemd-analyze security --offline=true: $score"

udevadm verify --help >/dev/null 2>&1 || skip "udevadm has no verify (systemd 254 or later; bookworm-backports)"
udevadm verify --resolve-names=never "$top_srcdir/systemd/60-ali-linkd.rules" >"$T/udev" 2>&1 || fail "udevadm verify: $(cat "$T/udev")"
pass "udevadm verify 60-ali-linkd.rules (names unresolved: the group is made by the package)"

sh -n "$B/systemd/ali-linkd-install" || fail "the installer wrapper does not parse"
pass "ali-linkd-install parses"
