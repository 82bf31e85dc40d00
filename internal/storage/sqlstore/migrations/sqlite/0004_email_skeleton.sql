-- The confusable skeleton of each account's email (emailaddr.Skeleton), so
-- a new address that looks like an existing one in the organization is
-- found by index. The store writes it with every create and update; rows
-- from before this migration are filled in by the Go step that runs in the
-- same transaction (see sqlstore/backfill.go).
ALTER TABLE accounts ADD COLUMN email_skeleton TEXT NOT NULL DEFAULT '';
CREATE INDEX accounts_org_email_skeleton ON accounts (org_id, email_skeleton);
