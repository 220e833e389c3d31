CREATE TABLE "deliveries" (
	"edition_id" uuid NOT NULL,
	"subscriber_id" uuid NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "deliveries_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tier" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"message_id" text,
	"smtp_response" text,
	"sent_at" timestamp (3) with time zone,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deliveries_edition_id_subscriber_id_pk" PRIMARY KEY("edition_id","subscriber_id"),
	CONSTRAINT "deliveries_status_check" CHECK ("deliveries"."status" in ('pending', 'sending', 'sent', 'failed', 'skipped')),
	CONSTRAINT "deliveries_tier_check" CHECK ("deliveries"."tier" in ('free', 'premium'))
);
--> statement-breakpoint
CREATE TABLE "editions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"subject" text NOT NULL,
	"preheader" text DEFAULT '' NOT NULL,
	"audience" text DEFAULT 'all' NOT NULL,
	"article_ids" uuid[] NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"scheduled_at" timestamp (3) with time zone,
	"started_at" timestamp (3) with time zone,
	"finished_at" timestamp (3) with time zone,
	"total" integer DEFAULT 0 NOT NULL,
	"sent" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"skipped" integer DEFAULT 0 NOT NULL,
	"failure_reason" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "editions_audience_check" CHECK ("editions"."audience" in ('all', 'free', 'premium')),
	CONSTRAINT "editions_status_check" CHECK ("editions"."status" in ('draft', 'scheduled', 'sending', 'sent', 'failed', 'cancelled')),
	CONSTRAINT "editions_scheduled_has_time" CHECK ("editions"."status" <> 'scheduled' or "editions"."scheduled_at" is not null)
);
--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_edition_id_editions_id_fk" FOREIGN KEY ("edition_id") REFERENCES "public"."editions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_subscriber_id_subscribers_id_fk" FOREIGN KEY ("subscriber_id") REFERENCES "public"."subscribers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deliveries_edition_seq_idx" ON "deliveries" USING btree ("edition_id","seq");--> statement-breakpoint
CREATE INDEX "deliveries_subscriber_idx" ON "deliveries" USING btree ("subscriber_id");--> statement-breakpoint
CREATE INDEX "editions_due_idx" ON "editions" USING btree ("scheduled_at") WHERE "editions"."status" = 'scheduled';--> statement-breakpoint
CREATE INDEX "editions_sending_idx" ON "editions" USING btree ("status") WHERE "editions"."status" = 'sending';