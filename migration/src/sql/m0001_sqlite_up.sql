-- The SQLite equivalent of the Python service's schema: sea-orm's type names;
-- unique constraints become named unique indexes so later migrations can drop them.
CREATE TABLE tenant_accounts (
    id uuid_text NOT NULL,
    slug varchar(64) NOT NULL,
    name varchar(128) NOT NULL,
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_tenant_accounts PRIMARY KEY (id)
);
CREATE UNIQUE INDEX uq_tenant_accounts_slug ON tenant_accounts (slug);

CREATE TABLE billing_plans (
    id uuid_text NOT NULL,
    code varchar(64) NOT NULL,
    name varchar(128) NOT NULL,
    "interval" varchar(16) NOT NULL DEFAULT 'monthly',
    interval_count integer NOT NULL DEFAULT 1,
    price_cents integer NOT NULL,
    currency varchar(3) NOT NULL DEFAULT 'USD',
    trial_days integer,
    seat_included integer,
    feature_toggles jsonb_text,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_billing_plans PRIMARY KEY (id)
);
CREATE UNIQUE INDEX uq_billing_plans_code ON billing_plans (code);

CREATE TABLE users (
    id uuid_text NOT NULL,
    tenant_id uuid_text NOT NULL,
    external_id varchar(128) NOT NULL,
    display_name varchar(128),
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT fk_users_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_users_tenant_external ON users (tenant_id, external_id);

CREATE TABLE plan_features (
    id integer NOT NULL,
    plan_id uuid_text NOT NULL,
    feature_key varchar(64) NOT NULL,
    display_name varchar(128),
    description text,
    hard_limit integer,
    soft_limit integer,
    is_metered boolean NOT NULL DEFAULT false,
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_plan_features PRIMARY KEY (id),
    CONSTRAINT fk_plan_features_plan_id_billing_plans FOREIGN KEY (plan_id)
        REFERENCES billing_plans (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_plan_features_plan_feature ON plan_features (plan_id, feature_key);

CREATE TABLE tenant_subscriptions (
    id uuid_text NOT NULL,
    tenant_id uuid_text NOT NULL,
    plan_id uuid_text NOT NULL,
    status varchar(24) NOT NULL DEFAULT 'active',
    auto_renew boolean NOT NULL DEFAULT true,
    billing_email varchar(256),
    processor varchar(32),
    processor_customer_id varchar(128),
    processor_subscription_id varchar(128),
    starts_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    current_period_start timestamp_with_timezone_text,
    current_period_end timestamp_with_timezone_text,
    trial_ends_at timestamp_with_timezone_text,
    cancel_at timestamp_with_timezone_text,
    seat_count integer,
    metadata_json jsonb_text,
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_tenant_subscriptions PRIMARY KEY (id),
    CONSTRAINT fk_tenant_subscriptions_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE,
    CONSTRAINT fk_tenant_subscriptions_plan_id_billing_plans FOREIGN KEY (plan_id)
        REFERENCES billing_plans (id) ON DELETE RESTRICT
);
CREATE UNIQUE INDEX uq_tenant_subscriptions_active ON tenant_subscriptions (tenant_id, status);
CREATE INDEX ix_tenant_subscriptions_tenant_status ON tenant_subscriptions (tenant_id, status);

CREATE TABLE subscription_invoices (
    id uuid_text NOT NULL,
    subscription_id uuid_text NOT NULL,
    period_start timestamp_with_timezone_text NOT NULL,
    period_end timestamp_with_timezone_text NOT NULL,
    amount_cents integer NOT NULL,
    currency varchar(3) NOT NULL DEFAULT 'USD',
    status varchar(16) NOT NULL DEFAULT 'draft',
    external_invoice_id varchar(128),
    hosted_invoice_url varchar(256),
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_subscription_invoices PRIMARY KEY (id),
    CONSTRAINT fk_subscription_invoices_subscription_id_tenant_subscriptions FOREIGN KEY (subscription_id)
        REFERENCES tenant_subscriptions (id) ON DELETE CASCADE
);
CREATE INDEX ix_subscription_invoices_subscription_period ON subscription_invoices (subscription_id, period_start);

CREATE TABLE subscription_usage (
    id uuid_text NOT NULL,
    subscription_id uuid_text NOT NULL,
    feature_key varchar(64) NOT NULL,
    unit varchar(32) NOT NULL,
    period_start timestamp_with_timezone_text NOT NULL,
    period_end timestamp_with_timezone_text NOT NULL,
    quantity integer NOT NULL,
    reported_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    external_event_id varchar(128),
    CONSTRAINT pk_subscription_usage PRIMARY KEY (id),
    CONSTRAINT fk_subscription_usage_subscription_id_tenant_subscriptions FOREIGN KEY (subscription_id)
        REFERENCES tenant_subscriptions (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_subscription_usage_feature_period ON subscription_usage (subscription_id, feature_key, period_start);

CREATE TABLE agent_conversations (
    id uuid_text NOT NULL,
    conversation_key varchar(255) NOT NULL,
    tenant_id uuid_text NOT NULL,
    user_id uuid_text,
    agent_entrypoint varchar(64) NOT NULL,
    active_agent varchar(64),
    status varchar(16) NOT NULL DEFAULT 'active',
    message_count integer NOT NULL DEFAULT 0,
    total_tokens_prompt integer NOT NULL DEFAULT 0,
    total_tokens_completion integer NOT NULL DEFAULT 0,
    reasoning_tokens integer NOT NULL DEFAULT 0,
    handoff_count integer NOT NULL DEFAULT 0,
    source_channel varchar(32),
    topic_hint varchar(256),
    last_message_at timestamp_with_timezone_text,
    last_run_id varchar(64),
    client_version varchar(32),
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_agent_conversations PRIMARY KEY (id),
    CONSTRAINT fk_agent_conversations_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE,
    CONSTRAINT fk_agent_conversations_user_id_users FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX uq_agent_conversations_key ON agent_conversations (conversation_key);
CREATE INDEX ix_agent_conversations_tenant_updated ON agent_conversations (tenant_id, updated_at);
CREATE INDEX ix_agent_conversations_tenant_status ON agent_conversations (tenant_id, status);

CREATE TABLE agent_messages (
    id integer NOT NULL,
    conversation_id uuid_text NOT NULL,
    position integer NOT NULL,
    role varchar(16) NOT NULL,
    agent_type varchar(64),
    content jsonb_text NOT NULL,
    tool_name varchar(128),
    tool_call_id varchar(64),
    token_count_prompt integer,
    token_count_completion integer,
    reasoning_tokens integer,
    latency_ms integer,
    content_checksum varchar(32),
    run_id varchar(64),
    created_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_agent_messages PRIMARY KEY (id),
    CONSTRAINT fk_agent_messages_conversation_id_agent_conversations FOREIGN KEY (conversation_id)
        REFERENCES agent_conversations (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_agent_messages_conversation_position ON agent_messages (conversation_id, position);
CREATE INDEX ix_agent_messages_conversation_created ON agent_messages (conversation_id, created_at);
