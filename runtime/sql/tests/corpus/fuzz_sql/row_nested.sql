CREATE TABLE t (id BIGINT, p ROW<name STRING, addr ROW<city STRING, zip INT>, age INT>, v INT) WITH ('connector' = 'datagen', 'number-of-rows' = '2', 'fields.p.name.length' = '3', 'fields.p.addr.city.length' = '2', 'fields.p.addr.zip.min' = '10', 'fields.p.addr.zip.max' = '99', 'fields.v.min'='0', 'fields.v.max'='9');
CREATE TABLE o (id BIGINT, p ROW<name STRING, addr ROW<city STRING, zip INT>, age INT>, v INT) WITH ('connector' = 'print');
CREATE TABLE o2 (city STRING, zip INT, n STRING) WITH ('connector' = 'print');
CREATE TABLE o3 (zip INT, c BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'agg');
EXECUTE STATEMENT SET BEGIN
INSERT INTO o SELECT id, p, v FROM t;
INSERT INTO o2 SELECT p.addr.city, t.p.addr.zip, UPPER(p.name) FROM t WHERE p.addr.zip > 0;
INSERT INTO o3 SELECT p.addr.zip, COUNT(*) FROM t GROUP BY p.addr.zip;
END;
