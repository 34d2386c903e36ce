-- Step 05: answers arrive through a queue, so each one carries the id made when the app
-- accepted it (a redelivered entry must not make a second row), when it was received, and
-- which worker stored it. Rows from before the queue keep NULLs.
ALTER TABLE cats
    ADD COLUMN id uuid,
    ADD COLUMN received_at timestamptz,
    ADD COLUMN stored_by text;
CREATE UNIQUE INDEX cats_id_key ON cats (id);
CREATE INDEX cats_received_at ON cats (received_at);
