CREATE TABLE "paid_subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"subscriber_id" uuid NOT NULL,
	"customer_id" text NOT NULL,
	"status" text NOT NULL,
	"price_id" text,
	"interval" text,
	"amount" integer DEFAULT 0 NOT NULL,
	"currency" text NOT NULL,
	"current_period_end" timestamp (3) with time zone,
	"cancel_at_period_end" boolean DEFAULT false NOT NULL,
	"past_due_since" timestamp (3) with time zone,
	"grants_premium" boolean DEFAULT false NOT NULL,
	"premium_until" timestamp (3) with time zone,
	"started_at" timestamp (3) with time zone NOT NULL,
	"ended_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "paid_subscriptions_interval_check" CHECK ("paid_subscriptions"."interval" in ('month', 'year'))
);
--> statement-breakpoint
CREATE TABLE "payment_events" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"received_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "subscribers" DROP CONSTRAINT "subscribers_consent_source_check";--> statement-breakpoint
ALTER TABLE "subscribers" ADD COLUMN "comped" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "subscribers" ADD COLUMN "comp_until" timestamp (3) with time zone;--> statement-breakpoint
-- Premium set by an editor before payments existed is an editor's grant without an end.
UPDATE "subscribers" SET "comped" = true, "tier_source" = 'editor' WHERE "tier" = 'premium';--> statement-breakpoint
UPDATE "subscribers" SET "tier_source" = 'editor' WHERE "tier_source" <> 'editor';--> statement-breakpoint
ALTER TABLE "paid_subscriptions" ADD CONSTRAINT "paid_subscriptions_subscriber_id_subscribers_id_fk" FOREIGN KEY ("subscriber_id") REFERENCES "public"."subscribers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "paid_subscriptions_subscriber_idx" ON "paid_subscriptions" USING btree ("subscriber_id");--> statement-breakpoint
CREATE INDEX "paid_subscriptions_lapse_idx" ON "paid_subscriptions" USING btree ("premium_until") WHERE "paid_subscriptions"."grants_premium" and "paid_subscriptions"."premium_until" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "subscribers_external_ref_key" ON "subscribers" USING btree ("external_ref") WHERE "subscribers"."external_ref" is not null;--> statement-breakpoint
CREATE INDEX "subscribers_comp_until_idx" ON "subscribers" USING btree ("comp_until") WHERE "subscribers"."comped" and "subscribers"."comp_until" is not null;--> statement-breakpoint
ALTER TABLE "subscribers" ADD CONSTRAINT "subscribers_tier_source_check" CHECK ("subscribers"."tier_source" in ('editor', 'payment'));--> statement-breakpoint
ALTER TABLE "subscribers" ADD CONSTRAINT "subscribers_consent_source_check" CHECK ("subscribers"."consent_source" in ('form', 'import', 'api', 'payment'));