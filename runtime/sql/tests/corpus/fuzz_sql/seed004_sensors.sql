CREATE TABLE sensor_readings (
sensor_id STRING,
temperature DOUBLE,
humidity DOUBLE,
event_time TIMESTAMP(3),
WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND
) WITH (
'connector' = 'kafka',
'topic' = 'sensor-readings',
'properties.bootstrap.servers' = 'flink-lab-kafka-bootstrap.kafka.svc.cluster.local:9092',
'properties.group.id' = 'flink-sensor-aggregator',
'scan.startup.mode' = 'earliest-offset',
'format' = 'json',
'json.timestamp-format.standard' = 'ISO-8601'
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
) WITH (
'connector' = 'kafka',
'topic' = 'sensor-aggregates',
'properties.bootstrap.servers' = 'flink-lab-kafka-bootstrap.kafka.svc.cluster.local:9092',
'format' = 'json',
'json.timestamp-format.standard' = 'ISO-8601'
);
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
