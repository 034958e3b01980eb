#!/bin/sh
# Install the Debian packages the tests start for real: Dovecot (IMAP),
# PostgreSQL (several daemons sharing one database) and openssl (throwaway
# certificates). The packaged services must not run: the tests start their
# own instances on loopback ports.
set -eu

need=""
command -v dovecot >/dev/null 2>&1 || need="$need dovecot-imapd"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
# Debian puts initdb in /usr/lib/postgresql/VERSION/bin, off PATH.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need="$need postgresql"
fi

if [ -n "$need" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "Ejecute como root o instale:$need / Run as root or install:$need" >&2
        exit 1
    fi
    # Keep apt from starting the packaged service where it would.
    remove_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        remove_policy=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
    if [ "$remove_policy" = 1 ]; then
        rm -f /usr/sbin/policy-rc.d
    fi
fi

# Where a service manager did start the packaged Dovecot or PostgreSQL, stop it.
for service in dovecot postgresql; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
        systemctl disable --now "$service" >/dev/null 2>&1 || true
    fi
done
exit 0
