-- The statement set of the upstream operator's SQL-runner example
-- (examples/flink-sql-runner-example/sql-scripts/statement-set.sql), unchanged: two INSERTs of
-- VALUES rows into blackhole tables in one job.
CREATE TABLE blackhole_table (
  name STRING,
  age INT
) WITH (
  'connector' = 'blackhole'
);
CREATE TABLE blackhole_table2 (
  name STRING,
  age INT
) WITH (
  'connector' = 'blackhole'
);

EXECUTE STATEMENT SET
BEGIN
INSERT INTO blackhole_table
  VALUES ('fred flintstone', 35), ('barney rubble', 32);
INSERT INTO blackhole_table2
  VALUES ('fred flintstone', 35), ('barney rubble', 32);
END;
