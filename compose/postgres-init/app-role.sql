-- Run once, by the Postgres image, when it initialises an empty data directory.
-- The app gets a role of its own: it can log in and create tables in this database (its
-- migrations make `cats`, which it then owns), and nothing more: it is no superuser, and
-- cannot make roles or databases or read other roles' tables. The superuser `survey` is kept
-- for people: psql, backups, restores.
CREATE ROLE survey_app LOGIN PASSWORD 'survey_app';
GRANT CREATE ON SCHEMA public TO survey_app;
