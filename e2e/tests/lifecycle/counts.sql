-- A keyed running count (changelog output to print): state continuity shows in the counts.
-- After a stateful restore a key's count continues (-U/+U); after an empty start it begins
-- again with +I. Used by test_lifecycle.sh.
CREATE TABLE events (
  k INT,
  v BIGINT
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '10',
  'fields.k.min' = '0',
  'fields.k.max' = '3'
);
CREATE TABLE counts (
  k INT,
  c BIGINT
) WITH ('connector' = 'print');
INSERT INTO counts SELECT k, COUNT(*) AS c FROM events GROUP BY k;
