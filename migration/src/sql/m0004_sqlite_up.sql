DROP INDEX uq_tenant_subscriptions_active;
CREATE UNIQUE INDEX uq_tenant_subscriptions_live ON tenant_subscriptions (tenant_id)
    WHERE status IN ('trialing', 'active', 'past_due', 'incomplete', 'unpaid');
CREATE INDEX ix_tenant_subscriptions_processor_subscription ON tenant_subscriptions (processor_subscription_id);
ALTER TABLE billing_plans ADD COLUMN stripe_price_id varchar(128);
CREATE UNIQUE INDEX uq_subscription_invoices_external ON subscription_invoices (external_invoice_id);

CREATE TABLE usage_events (
    id integer NOT NULL,
    tenant_id uuid_text NOT NULL,
    feature_key varchar(64) NOT NULL,
    quantity bigint NOT NULL,
    idempotency_key varchar(128),
    period_start timestamp_with_timezone_text NOT NULL,
    period_end timestamp_with_timezone_text NOT NULL,
    reported_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_usage_events PRIMARY KEY (id),
    CONSTRAINT fk_usage_events_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX uq_usage_events_tenant_idempotency ON usage_events (tenant_id, idempotency_key);
CREATE INDEX ix_usage_events_tenant_period ON usage_events (tenant_id, period_start);

CREATE TABLE usage_counters (
    tenant_id uuid_text NOT NULL,
    feature_key varchar(64) NOT NULL,
    period_start timestamp_with_timezone_text NOT NULL,
    period_end timestamp_with_timezone_text NOT NULL,
    used bigint NOT NULL DEFAULT 0,
    CONSTRAINT pk_usage_counters PRIMARY KEY (tenant_id, feature_key, period_start),
    CONSTRAINT fk_usage_counters_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);

CREATE TABLE stripe_events (
    event_id varchar(255) NOT NULL,
    processed_at timestamp_with_timezone_text NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT pk_stripe_events PRIMARY KEY (event_id)
);
