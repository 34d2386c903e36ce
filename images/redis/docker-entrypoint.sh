#!/bin/sh
# Entry point of the offline Redis stand-in; it behaves as the official image's does:
# - run with options only (`--appendonly yes`) or a config file, it runs redis-server with them;
# - protected mode is off unless asked for: the official image builds Redis that way, because
#   in a container the port is reachable only on the container's networks and where Docker
#   publishes it. (Debian's redis-server, run plainly, would refuse every other container.)
set -e
case "$1" in
  -* | *.conf) set -- redis-server "$@" ;;
esac
if [ "$1" = redis-server ]; then
  case " $* " in
    *" --protected-mode "*) ;;
    *) set -- "$@" --protected-mode no ;;
  esac
  umask 0077
fi
exec "$@"
