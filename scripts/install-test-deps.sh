#!/bin/sh
# Install the Debian packages the tests start for real: Dovecot (IMAP) and
# openssl (throwaway certificates). The packaged Dovecot service must not
# run: the tests start their own instances on loopback ports.
set -eu

need=""
command -v dovecot >/dev/null 2>&1 || need="$need dovecot-imapd"
command -v openssl >/dev/null 2>&1 || need="$need openssl"

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

# Where a service manager did start the packaged Dovecot, stop it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet dovecot 2>/dev/null; then
    systemctl disable --now dovecot >/dev/null 2>&1 || true
fi
exit 0
