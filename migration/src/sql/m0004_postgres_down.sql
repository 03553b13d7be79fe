DROP TABLE stripe_events;
DROP TABLE usage_counters;
DROP TABLE usage_events;
DROP INDEX uq_subscription_invoices_external;
ALTER TABLE billing_plans DROP COLUMN stripe_price_id;
DROP INDEX ix_tenant_subscriptions_processor_subscription;
DROP INDEX uq_tenant_subscriptions_live;
ALTER TABLE tenant_subscriptions ADD CONSTRAINT uq_tenant_subscriptions_active UNIQUE (tenant_id, status)
    DEFERRABLE INITIALLY IMMEDIATE;
