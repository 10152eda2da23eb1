-- The table v1 starts with (before any teal migration).
CREATE TABLE items (id serial PRIMARY KEY, title text NOT NULL);
INSERT INTO items (title) SELECT 'item ' || i FROM generate_series(1, 1000) i;
