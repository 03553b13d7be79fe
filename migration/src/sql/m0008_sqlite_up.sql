-- API keys of tenants (see the Postgres script). The conversation column
-- has no foreign key here: SQLite cannot drop a column that has one.
CREATE TABLE api_keys (
    id uuid_text NOT NULL,
    tenant_id uuid_text NOT NULL,
    name varchar(100) NOT NULL,
    prefix varchar(16) NOT NULL,
    key_hash varchar(64) NOT NULL,
    scopes varchar(128) NOT NULL,
    created_by uuid_text,
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at timestamp_with_timezone_text,
    revoked_at timestamp_with_timezone_text,
    last_used_at timestamp_with_timezone_text,
    rate_limit_per_minute integer,
    monthly_message_limit bigint,
    monthly_token_limit bigint,
    CONSTRAINT pk_api_keys PRIMARY KEY (id),
    CONSTRAINT uq_api_keys_prefix UNIQUE (prefix),
    CONSTRAINT fk_api_keys_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE,
    CONSTRAINT fk_api_keys_created_by_users FOREIGN KEY (created_by)
        REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX ix_api_keys_tenant_created ON api_keys (tenant_id, created_at);

CREATE TABLE api_key_usage (
    api_key_id uuid_text NOT NULL,
    period_start timestamp_with_timezone_text NOT NULL,
    messages bigint NOT NULL DEFAULT 0,
    tokens bigint NOT NULL DEFAULT 0,
    CONSTRAINT pk_api_key_usage PRIMARY KEY (api_key_id, period_start),
    CONSTRAINT fk_api_key_usage_api_key_id_api_keys FOREIGN KEY (api_key_id)
        REFERENCES api_keys (id) ON DELETE CASCADE
);

ALTER TABLE agent_conversations ADD COLUMN api_key_id uuid_text;
CREATE INDEX ix_agent_conversations_tenant_key_updated
    ON agent_conversations (tenant_id, api_key_id, updated_at);
