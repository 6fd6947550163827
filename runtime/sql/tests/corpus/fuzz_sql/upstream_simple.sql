-- The upstream operator's SQL-runner example
-- (examples/flink-sql-runner-example/sql-scripts/simple.sql), unchanged: an unbounded datagen
-- table with a ROW column copied into a print table with CREATE TABLE ... LIKE.

CREATE TABLE orders (
  order_number BIGINT,
  price        DECIMAL(32,2),
  buyer        ROW<first_name STRING, last_name STRING>,
  order_time   TIMESTAMP(3)
) WITH (
  'connector' = 'datagen'
);

CREATE TABLE print_table WITH ('connector' = 'print')
  LIKE orders;

INSERT INTO print_table SELECT * FROM orders;
