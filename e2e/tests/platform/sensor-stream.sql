-- seed 004's sensor aggregation as a stream: datagen (20 rows/s per subtask) -> 1-minute TUMBLE
-- windows of event time (one second per row) -> print. Used by test_helm_runtime.sh.
CREATE TABLE sensor_readings (
  sensor_id STRING,
  temperature DOUBLE,
  humidity DOUBLE,
  seq BIGINT,
  event_time AS TO_TIMESTAMP_LTZ(seq * 1000, 3),
  WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '20',
  'fields.sensor_id.length' = '1',
  'fields.temperature.min' = '10',
  'fields.temperature.max' = '30',
  'fields.humidity.min' = '20',
  'fields.humidity.max' = '80',
  'fields.seq.kind' = 'sequence',
  'fields.seq.start' = '0',
  'fields.seq.end' = '9000000000000'
);
CREATE TABLE sensor_aggregates (
  sensor_id STRING,
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  avg_temperature DOUBLE,
  reading_count BIGINT
) WITH ('connector' = 'print');
INSERT INTO sensor_aggregates
SELECT sensor_id, window_start, window_end, AVG(temperature), COUNT(*)
FROM TABLE(TUMBLE(TABLE sensor_readings, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY sensor_id, window_start, window_end;
