-- Whether an emergency's sessions end when it ends, whichever way it ends
-- (by hand, or when its time runs out): chosen at the start, changeable
-- while it runs. 0 leaves them to run to their own expiry, as before.
ALTER TABLE emergencies ADD COLUMN sign_out_at_end INTEGER NOT NULL DEFAULT 0;
