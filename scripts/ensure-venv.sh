#!/bin/sh
# Create the virtual environment; on Debian, python3 -m venv needs the
# python3-venv package, which is installed when it is missing and we are root.
set -eu
python="$1"
venv="$2"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "mailtriage necesita Python 3.11 o posterior / mailtriage needs Python 3.11 or later" >&2
    exit 1
fi

if ! "$python" -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        "$python" -m venv "$venv"
    else
        echo "Instale python3-venv (apt-get install python3-venv) / install python3-venv" >&2
        exit 1
    fi
fi
