CREATE TABLE s (k INT, v BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '1000', 'fields.k.min'='0', 'fields.k.max'='2', 'fields.v.min'='0', 'fields.v.max'='9');
CREATE TABLE o (k INT, a BIGINT, b BIGINT, c BIGINT, d BIGINT, e BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT k, COUNT(*), COUNT(*) FILTER (WHERE v > 4), SUM(v) FILTER (WHERE v > 4), COUNT(DISTINCT v) FILTER (WHERE v < 3), SUM(v) FROM s GROUP BY k;
