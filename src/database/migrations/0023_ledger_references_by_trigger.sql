-- The ledger's references to its edition and its subscriber are kept by triggers, not foreign
-- keys. A foreign key is checked row by row on insert, and the subscriber's check locks every
-- subscriber it reads: about a third of freezing an audience. Ledger rows are written by the freeze
-- alone, which reads the edition and the subscribers in the statement that inserts them, so the
-- checks proved nothing the freeze does not already know. What the keys did on delete stays.
ALTER TABLE "deliveries" DROP CONSTRAINT "deliveries_edition_id_editions_id_fk";
--> statement-breakpoint
ALTER TABLE "deliveries" DROP CONSTRAINT "deliveries_subscriber_id_subscribers_id_fk";
--> statement-breakpoint
-- The ledger's advisory lock: each slice of a freeze holds it shared until it commits, an erasure
-- takes it alone before it deletes the erased subscribers' ledger rows. Without it, a freeze that
-- read a subscriber just before the erasure committed would leave that subscriber a ledger row.
CREATE FUNCTION "ledger_lock_key"() RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT 4242015000000023::bigint $$;
--> statement-breakpoint
CREATE FUNCTION "deliveries_follow_erased_subscribers"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "erased") THEN
    RETURN NULL;
  END IF;
  -- Waits for a freeze in progress to commit; the DELETE below then sees the rows it wrote.
  PERFORM pg_advisory_xact_lock("ledger_lock_key"());
  DELETE FROM "deliveries" d USING "erased" e WHERE d."subscriber_id" = e."id";
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "subscribers_delete_ledger_rows" AFTER DELETE ON "subscribers"
  REFERENCING OLD TABLE AS "erased" FOR EACH STATEMENT EXECUTE FUNCTION "deliveries_follow_erased_subscribers"();
--> statement-breakpoint
-- No lock needed here: a freeze holds its edition's row, which a DELETE waits for.
CREATE FUNCTION "deliveries_follow_deleted_editions"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "deliveries" d USING "deleted" e WHERE d."edition_id" = e."id";
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "editions_delete_ledger_rows" AFTER DELETE ON "editions"
  REFERENCING OLD TABLE AS "deleted" FOR EACH STATEMENT EXECUTE FUNCTION "deliveries_follow_deleted_editions"();
