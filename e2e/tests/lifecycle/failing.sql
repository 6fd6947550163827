-- A job that fails at run time: 10 / k divides by zero on the first row with k = 0 (within a
-- second at 5 rows/s). Used by test_recovery.sh for job.restart.failed and the cluster health
-- check.
CREATE TABLE events (
  k INT
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '5',
  'fields.k.min' = '0',
  'fields.k.max' = '3'
);
CREATE TABLE out_t (
  k INT,
  x INT
) WITH ('connector' = 'print');
INSERT INTO out_t SELECT k, 10 / k FROM events;
