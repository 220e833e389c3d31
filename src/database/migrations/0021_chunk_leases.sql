-- A claim leases a span of the ledger instead of marking each row 'sending'. Rows held under the
-- old claims go back to pending: sent again with the same Message-ID, as after a worker's crash.
DELETE FROM "delivery_leases";--> statement-breakpoint
UPDATE "deliveries" SET "status" = 'pending' WHERE "status" = 'sending';--> statement-breakpoint
ALTER TABLE "deliveries" DROP CONSTRAINT "deliveries_status_check";--> statement-breakpoint
ALTER TABLE "delivery_leases" ADD COLUMN "from_seq" bigint NOT NULL;--> statement-breakpoint
ALTER TABLE "delivery_leases" ADD COLUMN "to_seq" bigint NOT NULL;--> statement-breakpoint
ALTER TABLE "deliveries" DROP COLUMN "lease_id";--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_status_check" CHECK ("deliveries"."status" in ('pending', 'sent', 'failed', 'skipped'));--> statement-breakpoint
-- Ledger positions are unique across editions: spans that never overlap mean no recipient is held twice.
ALTER TABLE "delivery_leases" ADD CONSTRAINT "delivery_leases_span_excl" EXCLUDE USING gist (int8range("from_seq", "to_seq", '[]') WITH &&);
