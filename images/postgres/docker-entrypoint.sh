#!/usr/bin/env bash
# Entry point of the offline Postgres stand-in. Honours the official image's variables:
# POSTGRES_PASSWORD(_FILE), POSTGRES_USER(_FILE), POSTGRES_DB(_FILE), POSTGRES_INITDB_ARGS,
# POSTGRES_HOST_AUTH_METHOD, PGDATA, and runs /docker-entrypoint-initdb.d/*.sql|*.sql.gz|*.sh
# once, when the data directory is new. As the official one does, it exports the password it
# read from POSTGRES_PASSWORD_FILE on every start, and so the server runs with it in its
# environment unless something between the two drops it.
set -Eeuo pipefail

# VAR from $VAR or from the file named by $VAR_FILE (a Docker or Swarm secret).
file_env() {
  local var=$1 default=${2:-} file_var="${1}_FILE"
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    echo "error: both $var and $file_var are set; use one" >&2
    exit 1
  fi
  local value=$default
  if [ -n "${!var:-}" ]; then
    value=${!var}
  elif [ -n "${!file_var:-}" ]; then
    value=$(<"${!file_var}")
  fi
  export "$var"="$value"
  unset "$file_var"
}

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

# Read first, as root (a secret may be readable by root alone), and exported: the script run
# again as postgres, and the server, get them from the environment.
if [ "$1" = postgres ]; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
fi

# Started as root: own the data directory, then run this script again as postgres.
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
    echo "error: the database is uninitialized and no password is set:" >&2
    echo "  set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) for the superuser" >&2
    exit 1
  fi
  echo "initializing a new cluster in $PGDATA"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of flags
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-} >/dev/null
  printf "\nhost all all all %s\n" "$auth" >>"$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

  # A private server (socket only) for the set-up, so nobody connects half-way through.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  if [ "$POSTGRES_DB" != postgres ]; then
    "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >/dev/null
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "running $f"; . "$f" ;;
      *.sql) echo "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) echo "running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
      *) [ -e "$f" ] && echo "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "PostgreSQL init process complete; ready for start up."
elif [ "$1" = postgres ]; then
  # As the official image says it: the POSTGRES_* variables are not read again.
  echo "PostgreSQL Database directory appears to contain a database; Skipping initialization"
fi

exec "$@"
