#!/bin/sh
# tests/lint.sh: house rules a compiler does not check (STYLE.md): no banned
# functions, no // comments in C, every C file opens with a comment saying
# what it is for.  Prints TAP.
top=${PWL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1
files=$(find include lib pam_pwless pwlessd pwless tests -name '*.[ch]' |
    sort)
n=0
check() {
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		echo "$2" | sed 's/^/# /'
	fi
}
echo "1..3"
banned=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|strncpy|system|popen)[[:space:]]*\(' $files |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*)')
check "no banned function (strcpy strcat sprintf vsprintf gets strtok atoi strncpy system popen)" "$banned"
slashes=$(grep -nE '(^|[;{}()])[[:space:]]*//' $files | grep -v 'http')
check "no // comments in C" "$slashes"
nohead=$(for f in $files; do
	head -1 "$f" | grep -q '^/\*' || echo "$f"
done)
check "every C file opens with a comment on what it is for" "$nohead"
