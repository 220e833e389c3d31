ALTER TABLE "articles" ADD COLUMN "announced_at" timestamp (3) with time zone;--> statement-breakpoint
CREATE INDEX "articles_unannounced_idx" ON "articles" USING btree ("published_at") WHERE "articles"."status" = 'published' and "articles"."announced_at" is null;--> statement-breakpoint
-- Articles already published when this arrives are not news: no edition for them.
UPDATE "articles" SET "announced_at" = now() WHERE "status" = 'published';
