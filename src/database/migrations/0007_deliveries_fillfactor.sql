-- Each ledger row is updated twice per send (claimed, then recorded). Free space in every page
-- lets PostgreSQL make those heap-only updates, which skip rewriting the three indexes.
ALTER TABLE "deliveries" SET (fillfactor = 70);
