#!/bin/sh
# Run the whole suite. pytest exits 5 when it collected no test: that is a
# failure here, never a pass.
set -u
python="$1"
shift
"$python" -m pytest -q "$@"
status=$?
if [ "$status" = 5 ]; then
    echo "no tests were collected" >&2
    exit 1
fi
exit "$status"
