DROP TABLE refresh_tokens;
DROP TABLE tenant_memberships;
-- Users without a home tenant cannot exist in the older schema.
DELETE FROM users WHERE tenant_id IS NULL;
ALTER TABLE users DROP CONSTRAINT fk_users_tenant_id_tenant_accounts;
ALTER TABLE users ADD CONSTRAINT fk_users_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
    REFERENCES tenant_accounts (id) ON DELETE CASCADE;
ALTER TABLE users ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE users DROP CONSTRAINT uq_users_email;
ALTER TABLE users DROP CONSTRAINT uq_users_username;
ALTER TABLE users
    DROP COLUMN updated_at,
    DROP COLUMN is_active,
    DROP COLUMN password_hash,
    DROP COLUMN email,
    DROP COLUMN username;
