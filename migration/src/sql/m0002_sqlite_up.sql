-- SQLite cannot relax NOT NULL or change a foreign key in place: rebuild
-- `users` (SQLite's documented 12-step procedure), foreign keys off so the
-- drop does not cascade into conversations.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE users_new (
    id uuid_text NOT NULL,
    tenant_id uuid_text,
    external_id varchar(128) NOT NULL,
    display_name varchar(128),
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    username varchar(50),
    email varchar(254),
    password_hash varchar(256),
    is_active boolean NOT NULL DEFAULT true,
    updated_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT fk_users_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE SET NULL
);
INSERT INTO users_new (id, tenant_id, external_id, display_name, created_at, updated_at)
    SELECT id, tenant_id, external_id, display_name, created_at, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE UNIQUE INDEX uq_users_tenant_external ON users (tenant_id, external_id);
CREATE UNIQUE INDEX uq_users_username ON users (username);
CREATE UNIQUE INDEX uq_users_email ON users (email);

CREATE TABLE tenant_memberships (
    tenant_id uuid_text NOT NULL,
    user_id uuid_text NOT NULL,
    role varchar(16) NOT NULL,
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
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
    family_id uuid_text NOT NULL,
    user_id uuid_text NOT NULL,
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at timestamp_with_timezone_text NOT NULL,
    used_at timestamp_with_timezone_text,
    revoked_at timestamp_with_timezone_text,
    CONSTRAINT pk_refresh_tokens PRIMARY KEY (token_hash),
    CONSTRAINT fk_refresh_tokens_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_refresh_tokens_family ON refresh_tokens (family_id);
COMMIT;
PRAGMA foreign_keys = ON;
