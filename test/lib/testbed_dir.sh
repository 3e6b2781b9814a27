# shellcheck shell=bash
# testbed_dir.sh: sourced by the test bed scripts; sets REPO and TESTBED.
#
# TESTBED is the folder holding the test servers' data, logs, sockets and
# binaries:
#   - $APE_TESTBED if set;
#   - else <repo>/.testbed when the postgres and mysql OS users can reach
#     the repo;
#   - else /var/tmp/ape_resume-testbed-<sha1(repo path), 8 chars>, with
#     <repo>/.testbed as a symlink to it (for repos under e.g. /root).

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)

if [ -n "${APE_TESTBED:-}" ]; then
    TESTBED=$APE_TESTBED
elif runuser -u postgres -- test -x "$REPO" && runuser -u mysql -- test -x "$REPO"; then
    TESTBED=$REPO/.testbed
else
    TESTBED=/var/tmp/ape_resume-testbed-$(printf %s "$REPO" | sha1sum | cut -c1-8)
    [ "$(readlink "$REPO/.testbed" 2>/dev/null)" = "$TESTBED" ] || ln -sfnT "$TESTBED" "$REPO/.testbed"
fi
install -d -m 0755 "$TESTBED"
TESTBED=$(cd "$TESTBED" && pwd -P)
