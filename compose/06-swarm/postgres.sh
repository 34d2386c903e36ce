#!/bin/sh
# Mounted as /usr/local/bin/postgres, ahead of the real server on the image's PATH. The
# Postgres image's entry point reads the superuser's password from its secret file into
# POSTGRES_PASSWORD, exports it, and ends with `exec postgres`: without this, the server would
# run with the password in its environment (/proc/1/environ) for as long as it runs. The
# cluster has the password by then; the server needs none of these.
unset POSTGRES_PASSWORD POSTGRES_PASSWORD_FILE PGPASSWORD
exec /usr/lib/postgresql/15/bin/postgres "$@"
