-- The ledger keeps two indexes instead of three: every row is written into each of them as the
-- audience is frozen, a large part of the freeze's cost. The key, an edition's rows in
-- ledger order, is what sending reads by range. The unique (subscriber, edition) index serves every
-- read by subscriber (erasure, the subscriber's history, bounce reports) and the lookup of one copy,
-- and keeps a subscriber out of one edition's ledger twice, as the old key did. On a ledger already
-- holding five editions, a slice of 50,000 took 341 ms and wrote 19.6 MB of WAL with three indexes,
-- 299 ms and 15.6 MB with two (medians of seven, idle PostgreSQL 15).
DROP INDEX "deliveries_edition_seq_idx";--> statement-breakpoint
DROP INDEX "deliveries_subscriber_idx";--> statement-breakpoint
ALTER TABLE "deliveries" DROP CONSTRAINT "deliveries_edition_id_subscriber_id_pk";--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_edition_id_seq_pk" PRIMARY KEY("edition_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "deliveries_subscriber_edition_key" ON "deliveries" USING btree ("subscriber_id","edition_id");