-- Membership by IdP group: every account whose synced groups
-- (account_groups, replaced at each SSO sign-in) include group_name falls
-- under the policy, unless it is an explicit member of a policy.
CREATE TABLE policy_groups (
    org_id     TEXT NOT NULL,
    policy_id  TEXT NOT NULL,
    group_name TEXT NOT NULL,
    PRIMARY KEY (org_id, policy_id, group_name),
    FOREIGN KEY (org_id, policy_id) REFERENCES policies (org_id, id) ON DELETE CASCADE
);
CREATE INDEX policy_groups_name ON policy_groups (org_id, group_name);
