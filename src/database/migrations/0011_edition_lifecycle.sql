CREATE TABLE "delivery_leases" (
	"id" uuid PRIMARY KEY NOT NULL,
	"edition_id" uuid NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "lease_id" uuid;--> statement-breakpoint
ALTER TABLE "editions" ADD COLUMN "prepare_cursor" uuid;--> statement-breakpoint
ALTER TABLE "editions" ADD COLUMN "audience_size" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "delivery_leases" ADD CONSTRAINT "delivery_leases_edition_id_editions_id_fk" FOREIGN KEY ("edition_id") REFERENCES "public"."editions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "delivery_leases_expires_idx" ON "delivery_leases" USING btree ("expires_at");--> statement-breakpoint
-- Editions finished before preparation was recorded: their ledger is all there is to go by.
UPDATE "editions" SET "prepared_at" = coalesce("prepared_at", "started_at", "finished_at", "updated_at"), "audience_size" = "total" WHERE "status" IN ('sent', 'failed');--> statement-breakpoint
ALTER TABLE "editions" ADD CONSTRAINT "editions_sent_is_prepared" CHECK ("editions"."status" <> 'sent' or "editions"."prepared_at" is not null);