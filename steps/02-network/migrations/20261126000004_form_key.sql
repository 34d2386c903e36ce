-- Every answer carries the key of the form it was sent with, made when the form was rendered.
-- The unique index makes a second send of the same form (a double click, a resend after an
-- error) store nothing new. Rows from before keep NULL, and NULLs never clash.
-- Step 05's queue columns add the same column earlier; then this changes nothing.
ALTER TABLE cats ADD COLUMN IF NOT EXISTS id uuid;
CREATE UNIQUE INDEX IF NOT EXISTS cats_id_key ON cats (id);
