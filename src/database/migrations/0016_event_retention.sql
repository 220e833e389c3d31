CREATE TABLE "edition_totals" (
	"edition_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "edition_totals_edition_id_kind_pk" PRIMARY KEY("edition_id","kind")
);
--> statement-breakpoint
CREATE TABLE "link_totals" (
	"edition_id" uuid NOT NULL,
	"link_id" text NOT NULL,
	"readers" integer DEFAULT 0 NOT NULL,
	"clicks" integer DEFAULT 0 NOT NULL,
	"scanner_clicks" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "link_totals_edition_id_link_id_pk" PRIMARY KEY("edition_id","link_id")
);
--> statement-breakpoint
ALTER TABLE "edition_totals" ADD CONSTRAINT "edition_totals_edition_id_editions_id_fk" FOREIGN KEY ("edition_id") REFERENCES "public"."editions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "link_totals" ADD CONSTRAINT "link_totals_edition_id_editions_id_fk" FOREIGN KEY ("edition_id") REFERENCES "public"."editions"("id") ON DELETE cascade ON UPDATE no action;