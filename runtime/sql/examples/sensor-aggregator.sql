-- seed 004's job with the Kafka tables replaced by datagen and print
CREATE TABLE sensor_readings (
  sensor_id STRING,
  temperature DOUBLE,
  humidity DOUBLE,
  seq BIGINT,
  event_time AS TO_TIMESTAMP_LTZ(seq * 1000, 3),
  WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND
) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '3600',
  'rows-per-second' = '1000000',
  'seed' = '4',
  'fields.sensor_id.length' = '1',
  'fields.temperature.min' = '10',
  'fields.temperature.max' = '30',
  'fields.humidity.min' = '20',
  'fields.humidity.max' = '80',
  'fields.seq.kind' = 'sequence',
  'fields.seq.start' = '0',
  'fields.seq.end' = '3599'
);
CREATE TABLE sensor_aggregates (
  sensor_id STRING,
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  avg_temperature DOUBLE,
  max_temperature DOUBLE,
  min_temperature DOUBLE,
  avg_humidity DOUBLE,
  reading_count BIGINT
) WITH ('connector' = 'print');
SET 'parallelism.default' = '3';
SET 'pipeline.name' = 'sensor-aggregator';
INSERT INTO sensor_aggregates
SELECT
  sensor_id,
  window_start,
  window_end,
  AVG(temperature) AS avg_temperature,
  MAX(temperature) AS max_temperature,
  MIN(temperature) AS min_temperature,
  AVG(humidity) AS avg_humidity,
  COUNT(*) AS reading_count
FROM TABLE(
  TUMBLE(TABLE sensor_readings, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)
)
GROUP BY
  sensor_id, window_start, window_end;
