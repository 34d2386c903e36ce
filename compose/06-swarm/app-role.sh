# Sourced by the Postgres image's entry point, once, when it initialises an empty data
# directory: the app's own role, as in steps 03-05, with its password from a Swarm secret.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set password="$(cat /run/secrets/app-db-password)" <<'SQL'
CREATE ROLE survey_app LOGIN PASSWORD :'password';
GRANT CREATE ON SCHEMA public TO survey_app;
SQL
