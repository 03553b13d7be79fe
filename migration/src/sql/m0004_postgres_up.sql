-- Billing: one live subscription per tenant, usage keyed by tenant,
-- processed webhook events, processor price ids.
ALTER TABLE tenant_subscriptions DROP CONSTRAINT uq_tenant_subscriptions_active;
CREATE UNIQUE INDEX uq_tenant_subscriptions_live ON tenant_subscriptions (tenant_id)
    WHERE status IN ('trialing', 'active', 'past_due', 'incomplete', 'unpaid');
CREATE INDEX ix_tenant_subscriptions_processor_subscription ON tenant_subscriptions (processor_subscription_id);
ALTER TABLE billing_plans ADD COLUMN stripe_price_id varchar(128);
CREATE UNIQUE INDEX uq_subscription_invoices_external ON subscription_invoices (external_invoice_id);

CREATE TABLE usage_events (
    id bigserial NOT NULL,
    tenant_id uuid NOT NULL,
    feature_key varchar(64) NOT NULL,
    quantity bigint NOT NULL,
    idempotency_key varchar(128),
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    reported_at timestamptz NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_usage_events PRIMARY KEY (id),
    CONSTRAINT fk_usage_events_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE,
    CONSTRAINT uq_usage_events_tenant_idempotency UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX ix_usage_events_tenant_period ON usage_events (tenant_id, period_start);

CREATE TABLE usage_counters (
    tenant_id uuid NOT NULL,
    feature_key varchar(64) NOT NULL,
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    used bigint NOT NULL DEFAULT 0,
    CONSTRAINT pk_usage_counters PRIMARY KEY (tenant_id, feature_key, period_start),
    CONSTRAINT fk_usage_counters_tenant_id_tenant_accounts FOREIGN KEY (tenant_id)
        REFERENCES tenant_accounts (id) ON DELETE CASCADE
);

CREATE TABLE stripe_events (
    event_id varchar(255) NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT timezone('utc', now()),
    CONSTRAINT pk_stripe_events PRIMARY KEY (event_id)
);
