CREATE TABLE a (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id * 100, 3), WATERMARK FOR ts AS ts)
  WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '99');
CREATE TABLE b (n INT, ts AS TO_TIMESTAMP_LTZ(CAST(n AS BIGINT) * 250, 3), WATERMARK FOR ts AS ts)
  WITH ('connector' = 'datagen', 'number-of-rows' = '10');
CREATE TABLE o (k BIGINT, c BIGINT) WITH ('connector' = 'blackhole');
CREATE VIEW v AS SELECT id % 5 AS k, ts FROM a UNION ALL SELECT n % 3, ts FROM b;
EXECUTE STATEMENT SET BEGIN
INSERT INTO o SELECT k, COUNT(*) FROM (SELECT id AS k FROM a UNION ALL SELECT n FROM b UNION SELECT n + 1 FROM b) GROUP BY k;
INSERT INTO o WITH w AS (SELECT * FROM v) SELECT k, COUNT(*) FROM TABLE(TUMBLE(TABLE w, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY window_start, window_end, k;
END;
