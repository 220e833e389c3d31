CREATE TABLE "edition_links" (
	"edition_id" uuid NOT NULL,
	"link_id" text NOT NULL,
	"url" text NOT NULL,
	CONSTRAINT "edition_links_edition_id_link_id_pk" PRIMARY KEY("edition_id","link_id")
);
--> statement-breakpoint
CREATE TABLE "link_clicks" (
	"edition_id" uuid NOT NULL,
	"link_id" text NOT NULL,
	"subscriber_id" uuid NOT NULL,
	"clicks" integer DEFAULT 0 NOT NULL,
	"scanner_clicks" integer DEFAULT 0 NOT NULL,
	"first_at" timestamp (3) with time zone NOT NULL,
	"last_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "link_clicks_edition_id_link_id_subscriber_id_pk" PRIMARY KEY("edition_id","link_id","subscriber_id")
);
--> statement-breakpoint
ALTER TABLE "edition_links" ADD CONSTRAINT "edition_links_edition_id_editions_id_fk" FOREIGN KEY ("edition_id") REFERENCES "public"."editions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "link_clicks" ADD CONSTRAINT "link_clicks_edition_id_editions_id_fk" FOREIGN KEY ("edition_id") REFERENCES "public"."editions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "link_clicks" ADD CONSTRAINT "link_clicks_subscriber_id_subscribers_id_fk" FOREIGN KEY ("subscriber_id") REFERENCES "public"."subscribers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "link_clicks_subscriber_idx" ON "link_clicks" USING btree ("subscriber_id");