-- The answers page lists the newest first, 20 at a time. This index serves exactly that
-- order, so a page costs a walk down the index instead of a sort of the whole table.
CREATE INDEX cats_newest_first ON cats (received_at DESC NULLS LAST, id DESC NULLS LAST);
DROP INDEX cats_received_at;
