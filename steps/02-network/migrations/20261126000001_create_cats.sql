-- The original tutorial's table, created once by a migration instead of by a request handler.
-- The checks repeat the app's own limits: the database refuses what the app should never send.
CREATE TABLE cats (
    name  text NOT NULL CHECK (char_length(name)  BETWEEN 1 AND 64),
    coat  text NOT NULL CHECK (char_length(coat)  BETWEEN 1 AND 32),
    donut text NOT NULL CHECK (char_length(donut) BETWEEN 1 AND 32)
);
