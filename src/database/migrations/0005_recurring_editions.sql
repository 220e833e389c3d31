CREATE TABLE "edition_schedules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"cron" text NOT NULL,
	"time_zone" text NOT NULL,
	"subject" text NOT NULL,
	"preheader" text DEFAULT '' NOT NULL,
	"audience" text DEFAULT 'all' NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"next_run_at" timestamp (3) with time zone NOT NULL,
	"covered_until" timestamp (3) with time zone NOT NULL,
	"last_run_at" timestamp (3) with time zone,
	"last_outcome" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "edition_schedules_audience_check" CHECK ("edition_schedules"."audience" in ('all', 'free', 'premium')),
	CONSTRAINT "edition_schedules_outcome_check" CHECK ("edition_schedules"."last_outcome" in ('created', 'skipped'))
);
--> statement-breakpoint
ALTER TABLE "editions" ADD COLUMN "schedule_id" uuid;--> statement-breakpoint
CREATE INDEX "edition_schedules_due_idx" ON "edition_schedules" USING btree ("next_run_at") WHERE "edition_schedules"."active";--> statement-breakpoint
ALTER TABLE "editions" ADD CONSTRAINT "editions_schedule_id_edition_schedules_id_fk" FOREIGN KEY ("schedule_id") REFERENCES "public"."edition_schedules"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "editions_schedule_idx" ON "editions" USING btree ("schedule_id");