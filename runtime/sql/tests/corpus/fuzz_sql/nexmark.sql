-- Nexmark's bid stream from datagen, and queries q0, q1, q2 in one statement set
CREATE TABLE bid (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel VARCHAR,
  url VARCHAR,
  seq BIGINT,
  dateTime AS TO_TIMESTAMP_LTZ(seq, 3),
  extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '100000',
  'rows-per-second' = '100000000',
  'fields.auction.min' = '1000', 'fields.auction.max' = '1999',
  'fields.bidder.min' = '1', 'fields.bidder.max' = '100000',
  'fields.price.min' = '1', 'fields.price.max' = '10000000',
  'fields.channel.length' = '8', 'fields.url.length' = '30', 'fields.extra.length' = '10',
  'fields.seq.kind' = 'sequence', 'fields.seq.start' = '0', 'fields.seq.end' = '99999'
);
CREATE TABLE q0_sink (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra VARCHAR)
  WITH ('connector' = 'blackhole');
CREATE TABLE q1_sink (auction BIGINT, bidder BIGINT, price DECIMAL(18, 3), dateTime TIMESTAMP(3), extra VARCHAR)
  WITH ('connector' = 'blackhole');
CREATE TABLE q2_sink (auction BIGINT, price BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'q2');
EXECUTE STATEMENT SET
BEGIN
  INSERT INTO q0_sink SELECT auction, bidder, price, dateTime, extra FROM bid;
  INSERT INTO q1_sink SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid;
  INSERT INTO q2_sink SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
END;
