-- Sign-in counters are reserved before a password is checked: blocked_until
-- (microseconds; 0 = not blocked) is when the key next admits an attempt,
-- and blocked_until - last_failure is the current delay, which the next
-- admitted attempt doubles. Existing rows start unblocked.
ALTER TABLE throttles ADD COLUMN blocked_until BIGINT NOT NULL DEFAULT 0;
