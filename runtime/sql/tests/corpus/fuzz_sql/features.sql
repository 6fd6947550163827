/* Flink SQL forms the front end accepts: views, computed columns, SET, CASE, CAST, LIKE,
   string and time functions, HOP and CUMULATE windows, GROUP BY without windows, HAVING. */
SET 'pipeline.name' = 'features';
SET table.exec.source.idle-timeout = '5 s';
CREATE TEMPORARY TABLE IF NOT EXISTS `orders` (
  order_id STRING NOT NULL,
  customer STRING,
  amount DECIMAL(10, 2),
  qty INT,
  ts_ms BIGINT,
  ts AS TO_TIMESTAMP_LTZ(ts_ms, 3),
  `value` AS amount * qty,
  WATERMARK FOR ts AS ts,
  PRIMARY KEY (order_id) NOT ENFORCED
) COMMENT 'orders from datagen'
WITH ('connector' = 'datagen', 'number-of-rows' = '1000', 'fields.ts_ms.kind' = 'sequence',
      'fields.ts_ms.start' = '0', 'fields.ts_ms.end' = '999999', 'fields.qty.min' = '1',
      'fields.qty.max' = '5', 'fields.amount.min' = '1', 'fields.amount.max' = '100');
CREATE VIEW big_orders AS
  SELECT order_id, UPPER(customer) AS customer, `value`, ts FROM orders
  WHERE `value` > 10 AND customer LIKE 'a%' OR customer IS NULL;
CREATE TABLE out1 (customer STRING, n BIGINT, total DECIMAL(18, 2)) WITH ('connector' = 'blackhole');
CREATE TABLE out2 (window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT) WITH ('connector' = 'blackhole');
CREATE TABLE out3 (w TIMESTAMP(3), label STRING, q INT) WITH ('connector' = 'blackhole');
BEGIN STATEMENT SET;
INSERT INTO out1 SELECT customer, COUNT(*), SUM(`value`) FROM big_orders GROUP BY customer HAVING COUNT(*) > 1;
INSERT INTO out2 SELECT window_start, window_end, COUNT(order_id) FROM TABLE(
  HOP(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;
INSERT INTO out3 SELECT window_end, CASE WHEN MAX(qty) >= 4 THEN 'big' ELSE CONCAT('small-', CAST(MAX(qty) AS STRING)) END, CAST(SUM(qty) AS INT)
  FROM TABLE(CUMULATE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '1' HOUR))
  GROUP BY window_start, window_end;
END;
