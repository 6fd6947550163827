-- A job whose savepoints take long, as in production with a slow sink: a keyed count fed
-- faster than its sink (100 rows/s) takes rows, so the channels fill (backpressure) and a
-- savepoint's barrier waits behind the queued rows for tens of seconds. Used by
-- test_nonblocking.sh.
CREATE TABLE events (
  k INT,
  v BIGINT
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '2000',
  'fields.k.min' = '0',
  'fields.k.max' = '99'
);
CREATE TABLE slow (
  k INT,
  c BIGINT
) WITH ('connector' = 'blackhole', 'weir.throttle.rows-per-second' = '100');
INSERT INTO slow SELECT k, COUNT(*) AS c FROM events GROUP BY k;
