-- Membership by email domain: every account whose email is at domain
-- falls under the policy, unless it is an explicit member of a policy or
-- one of its IdP groups is named by one. A domain is named by at most one
-- policy of its organization (the primary key), and only while the
-- organization has it (the foreign key to domains removes the row with
-- the organization's claim). Keep in step with the other dialect.
CREATE TABLE policy_domains (
    org_id    TEXT NOT NULL,
    domain    TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    PRIMARY KEY (org_id, domain),
    FOREIGN KEY (org_id, policy_id) REFERENCES policies (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, domain) REFERENCES domains (org_id, name) ON DELETE CASCADE
);
CREATE INDEX policy_domains_policy ON policy_domains (org_id, policy_id, domain);

-- The domain of an account's email, by the same expression the store's
-- queries use (sqlstore emailDomain), so counting and listing the accounts
-- of a domain reads an index rather than every account.
CREATE INDEX accounts_org_email_domain ON accounts (org_id, substr(email, instr(email, '@') + 1), email);

-- Listing a policy's accounts by IdP group starts from the group.
CREATE INDEX account_groups_name ON account_groups (name, account_id);
