DROP TABLE stripe_events;
DROP TABLE usage_counters;
DROP TABLE usage_events;
DROP INDEX uq_subscription_invoices_external;
ALTER TABLE billing_plans DROP COLUMN stripe_price_id;
DROP INDEX ix_tenant_subscriptions_processor_subscription;
DROP INDEX uq_tenant_subscriptions_live;
CREATE UNIQUE INDEX uq_tenant_subscriptions_active ON tenant_subscriptions (tenant_id, status);
