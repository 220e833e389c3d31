-- A ledger row is written once after it is frozen: its outcome, which makes it about twice as
-- long (Message-ID, the server's reply, the time). A chunk's outcomes are recorded in one
-- statement, so a page's rows can only be updated in place (heap-only, without new entries in the
-- three indexes) if the page kept room for all of them: about 30 % full after the freeze. At 70 %,
-- seven updates in ten went to other pages and each added three index entries.
ALTER TABLE "deliveries" SET (fillfactor = 30);
