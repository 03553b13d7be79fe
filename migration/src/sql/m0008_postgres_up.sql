-- API keys of tenants: the secret's SHA-256 only, found by a unique
-- prefix; monthly counters per key; conversations a key started.
CREATE TABLE api_keys (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    name varchar(100) NOT NULL,
    prefix varchar(16) NOT NULL,
    key_hash varchar(64) NOT NULL,
    scopes varchar(128) NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT timezone('utc', now()),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz,
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
    api_key_id uuid NOT NULL,
    period_start timestamptz NOT NULL,
    messages bigint NOT NULL DEFAULT 0,
    tokens bigint NOT NULL DEFAULT 0,
    CONSTRAINT pk_api_key_usage PRIMARY KEY (api_key_id, period_start),
    CONSTRAINT fk_api_key_usage_api_key_id_api_keys FOREIGN KEY (api_key_id)
        REFERENCES api_keys (id) ON DELETE CASCADE
);

ALTER TABLE agent_conversations ADD COLUMN api_key_id uuid;
ALTER TABLE agent_conversations ADD CONSTRAINT fk_agent_conversations_api_key_id_api_keys
    FOREIGN KEY (api_key_id) REFERENCES api_keys (id) ON DELETE SET NULL;
CREATE INDEX ix_agent_conversations_tenant_key_updated
    ON agent_conversations (tenant_id, api_key_id, updated_at);
