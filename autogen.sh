#!/bin/sh
# autogen.sh: generate ./configure from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf --force --install
# The TAP driver lets each test case count on its own in the summary.
for d in /usr/share/automake-*; do
	if [ -f "$d/tap-driver.sh" ]; then
		cp "$d/tap-driver.sh" build-aux/tap-driver.sh
		break
	fi
done
echo "now run ./configure"
