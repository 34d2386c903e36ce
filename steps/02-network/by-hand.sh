#!/bin/sh
# Rendered by `cargo xtask codegen` from the runner's own commands: do not edit, but for
# the exercises of chapter 02. What `cargo xtask step 2 up` runs, to read, to type, or to
# run yourself once `cargo xtask step 2 build` has made the app's image:
#   sh steps/02-network/by-hand.sh        (then open http://127.0.0.1:2154)
# PROJECT and PORT name the copy and its port (survey-02 and 2154 unless set). What it
# makes carries the step's label: `cargo xtask step 2 ps`, `psql` and `down` work on it.
set -eu
PROJECT="${PROJECT:-survey-02}"
PORT="${PORT:-2154}"
docker network create --label survey.project=${PROJECT} ${PROJECT}
docker run --detach --name ${PROJECT}-app --label survey.project=${PROJECT} --network ${PROJECT} --env DATABASE_URL=postgres://survey:survey@db:5432/survey --publish 127.0.0.1:${PORT}:5000 --health-start-interval 100ms survey/step-02-network
docker run --detach --name ${PROJECT}-db --label survey.project=${PROJECT} --network ${PROJECT} --network-alias db --env POSTGRES_USER=survey --env POSTGRES_PASSWORD=survey --env POSTGRES_DB=survey --health-cmd "pg_isready -h 127.0.0.1 -U survey -d survey" --health-interval 2s postgres:15
