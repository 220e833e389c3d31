CREATE TABLE "message_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "message_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"kind" text NOT NULL,
	"source" text NOT NULL,
	"subscriber_id" uuid NOT NULL,
	"edition_id" uuid,
	"detail" text DEFAULT '' NOT NULL,
	"dedupe_key" text NOT NULL,
	"occurred_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "message_events_dedupe_key_unique" UNIQUE("dedupe_key"),
	CONSTRAINT "message_events_kind_check" CHECK ("message_events"."kind" in ('hard-bounce', 'soft-bounce', 'complaint', 'unsubscribe')),
	CONSTRAINT "message_events_source_check" CHECK ("message_events"."source" in ('smtp', 'mailto', 'ses', 'postmark', 'mailgun', 'sendgrid'))
);
--> statement-breakpoint
ALTER TABLE "suppressions" DROP CONSTRAINT "suppressions_reason_check";--> statement-breakpoint
ALTER TABLE "message_events" ADD CONSTRAINT "message_events_subscriber_id_subscribers_id_fk" FOREIGN KEY ("subscriber_id") REFERENCES "public"."subscribers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message_events" ADD CONSTRAINT "message_events_edition_id_editions_id_fk" FOREIGN KEY ("edition_id") REFERENCES "public"."editions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "message_events_edition_idx" ON "message_events" USING btree ("edition_id","kind");--> statement-breakpoint
CREATE INDEX "message_events_subscriber_idx" ON "message_events" USING btree ("subscriber_id","occurred_at");--> statement-breakpoint
ALTER TABLE "suppressions" ADD CONSTRAINT "suppressions_reason_check" CHECK ("suppressions"."reason" in ('hard-bounce', 'soft-bounce', 'complaint', 'erasure', 'editor'));