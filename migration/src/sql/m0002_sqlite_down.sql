PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP TABLE refresh_tokens;
DROP TABLE tenant_memberships;
CREATE TABLE users_old (
    id uuid_text NOT NULL,
    tenant_id uuid_text NOT NULL,
    external_id varchar(128) NOT NULL,
    display_name varchar(128),
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT fk_users_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);
-- Users without a home tenant cannot exist in the older schema.
INSERT INTO users_old (id, tenant_id, external_id, display_name, created_at)
    SELECT id, tenant_id, external_id, display_name, created_at FROM users WHERE tenant_id IS NOT NULL;
UPDATE agent_conversations SET user_id = NULL
    WHERE user_id IS NOT NULL AND user_id NOT IN (SELECT id FROM users_old);
DROP TABLE users;
ALTER TABLE users_old RENAME TO users;
CREATE UNIQUE INDEX uq_users_tenant_external ON users (tenant_id, external_id);
COMMIT;
PRAGMA foreign_keys = ON;
