-- Accounts: users become people who log in; roles live in memberships.
ALTER TABLE users
    ADD COLUMN username varchar(50),
    ADD COLUMN email varchar(254),
    ADD COLUMN password_hash varchar(256),
    ADD COLUMN is_active boolean NOT NULL DEFAULT true,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT timezone('utc', now());
ALTER TABLE users ADD CONSTRAINT uq_users_username UNIQUE (username);
ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE (email);
ALTER TABLE users ALTER COLUMN tenant_id DROP NOT NULL;
ALTER TABLE users DROP CONSTRAINT fk_users_tenant_id_tenant_accounts;
ALTER TABLE users ADD CONSTRAINT fk_users_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
    REFERENCES tenant_accounts (id) ON DELETE SET NULL;

CREATE TABLE tenant_memberships (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role varchar(16) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_tenant_memberships PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT fk_tenant_memberships_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE,
    CONSTRAINT fk_tenant_memberships_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT ck_tenant_memberships_role CHECK (role IN ('owner', 'admin', 'viewer'))
);
CREATE INDEX ix_tenant_memberships_user_created ON tenant_memberships (user_id, created_at);

CREATE TABLE refresh_tokens (
    token_hash varchar(64) NOT NULL,
    family_id uuid NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT timezone('utc', now()),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT pk_refresh_tokens PRIMARY KEY (token_hash),
    CONSTRAINT fk_refresh_tokens_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_refresh_tokens_family ON refresh_tokens (family_id);
